"""What the config API changes on a charger: approval, password, tariff, monthly payment.

Each function returns the charger before and after, for the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import Conflict, NotFound, get_charger, get_site
from store.schema import chargers, sessions, subscribers, tariffs, tokens

Change = tuple[dict[str, Any], dict[str, Any]]


async def _change(conn: AsyncConnection, charger_id: str, **values: Any) -> Change:
    before = await get_charger(conn, charger_id)
    await conn.execute(update(chargers).where(chargers.c.id == charger_id).values(**values))
    return before, await get_charger(conn, charger_id)


async def approve(conn: AsyncConnection, charger_id: str, site_id: str) -> Change:
    """A pending charger (registered when it first connected) joins a site."""
    charger = await get_charger(conn, charger_id)
    await get_site(conn, site_id)
    if charger["state"] != "pending":
        raise Conflict(f"charger {charger_id!r} is approved already")
    return await _change(conn, charger_id, state="approved", site_id=site_id)


async def set_password_hash(
    conn: AsyncConnection, charger_id: str, password_hash: str | None
) -> Change:
    """Set a charger's password hash; None removes it (the charger may connect without one
    only where its site allows that)."""
    return await _change(conn, charger_id, password_hash=password_hash)


async def assign_tariff(conn: AsyncConnection, charger_id: str, tariff_id: int | None) -> Change:
    """Point a charger at a tariff (its current version is snapshotted at each start)."""
    charger = await get_charger(conn, charger_id)
    if tariff_id is not None:
        row = (
            (await conn.execute(select(tariffs).where(tariffs.c.id == tariff_id)))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no tariff {tariff_id}")
        if row["site_id"] is not None and row["site_id"] != charger["site_id"]:
            raise Conflict(
                f"tariff {tariff_id} belongs to site {row['site_id']!r}, "
                f"charger {charger_id!r} to {charger['site_id']!r}"
            )
        if charger["site_id"] is not None:
            site = await get_site(conn, charger["site_id"])
            if site["currency"] != row["currency"]:
                raise Conflict(
                    f"tariff {tariff_id} is in {row['currency']}, "
                    f"site {site['id']!r} bills in {site['currency']}"
                )
    return await _change(conn, charger_id, tariff_id=tariff_id)


async def set_monthly_payment(conn: AsyncConnection, charger_id: str, enabled: bool) -> Change:
    """Switch monthly payment; only a charger of a business site may switch it on."""
    charger = await get_charger(conn, charger_id)
    if enabled:
        if charger["site_id"] is None or charger["state"] != "approved":
            raise Conflict(f"charger {charger_id!r} is pending: approve it into a site first")
        site = await get_site(conn, charger["site_id"])
        if site["plan"] != "business":
            raise Conflict(
                f"site {site['id']!r} is on the {site['plan']} plan: "
                "only a business site can use monthly payment"
            )
    return await _change(conn, charger_id, monthly_payment=enabled)


async def running_sessions(conn: AsyncConnection, charger_id: str) -> list[dict[str, Any]]:
    query = (
        select(sessions.c.id, sessions.c.connector_id, sessions.c.monthly_payment)
        .where(sessions.c.charger_id == charger_id, sessions.c.stopped_at.is_(None))
        .order_by(sessions.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def subscriber_counts(conn: AsyncConnection, site_id: str) -> dict[str, int]:
    """Active subscribers of a site and their usable (active) tokens."""
    active = (
        await conn.execute(
            select(func.count()).where(
                subscribers.c.site_id == site_id, subscribers.c.state == "active"
            )
        )
    ).scalar_one()
    usable = (
        await conn.execute(
            select(func.count())
            .select_from(tokens.join(subscribers, subscribers.c.id == tokens.c.subscriber_id))
            .where(
                tokens.c.site_id == site_id,
                tokens.c.state == "active",
                subscribers.c.state == "active",
            )
        )
    ).scalar_one()
    return {"active_subscribers": int(active), "usable_tokens": int(usable)}
