"""Chargers: register one or a CSV's worth, approve, password, tariff, monthly-payment mode.

Each use case checks the actor may change the charger's site, writes through store/, and
audits in the caller's transaction; switching monthly payment also leaves an outbox event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth import check_password, hash_password
from services.context import Actor
from store import admin, audit, charger_admin, local_lists, outbox_store


def check(charger_id: str, password: str | None) -> None:
    """Validate a charger id and (if any) its password, before anything is hashed or stored."""
    admin.check_identifier(charger_id, "charger id")
    if password:
        check_password(password)


async def register(
    conn: AsyncConnection, actor: Actor, site_id: str, charger_id: str, password: str | None
) -> dict[str, Any]:
    """Register one approved charger on a site; returns the stored row (no hash in the audit)."""
    actor.check_write(site_id)
    check(charger_id, password)
    row = admin.charger_row(charger_id, site_id, hash_password(password) if password else None)
    await admin.get_site(conn, site_id)
    await admin.add_chargers(conn, [row])
    await audit.record(
        conn, actor.label, "charger.create", "charger", charger_id, site_id=site_id, after=row
    )
    return row


async def import_chargers(
    conn: AsyncConnection,
    actor: Actor,
    site_id: str,
    chargers: Sequence[tuple[str, str | None]],
) -> int:
    """Register (id, password hash) pairs on a site all or nothing; one audit entry for all.

    The caller validates and hashes (on every core) before the transaction opens.
    """
    actor.check_write(site_id)
    rows = [admin.charger_row(cid, site_id, password_hash) for cid, password_hash in chargers]
    await admin.get_site(conn, site_id)
    count = await admin.add_chargers(conn, rows)
    await audit.record(
        conn,
        actor.label,
        "charger.import",
        "site",
        site_id,
        site_id=site_id,
        after={"count": count, "charger_ids": [r["id"] for r in rows]},
    )
    return count


async def _writable(conn: AsyncConnection, actor: Actor, charger_id: str) -> dict[str, Any]:
    charger = await admin.get_charger(conn, charger_id)
    actor.check_read(charger["site_id"])
    actor.check_write(charger["site_id"])
    return charger


async def approve(
    conn: AsyncConnection, actor: Actor, charger_id: str, site_id: str
) -> dict[str, Any]:
    """A pending charger (registered when it first connected) joins a site (super-admin)."""
    actor.check_super()
    before, after = await charger_admin.approve(conn, charger_id, site_id)
    await local_lists.mark_charger(conn, charger_id)  # its local list is due
    await audit.record(
        conn,
        actor.label,
        "charger.approve",
        "charger",
        charger_id,
        site_id=site_id,
        before=before,
        after=after,
    )
    return after


async def set_password(
    conn: AsyncConnection, actor: Actor, charger_id: str, password: str | None
) -> bool:
    """Set a charger's password, or remove it (None); returns whether it has one now."""
    charger = await _writable(conn, actor, charger_id)
    password_hash = hash_password(password) if password else None
    before, after = await charger_admin.set_password_hash(conn, charger_id, password_hash)
    await audit.record(
        conn,
        actor.label,
        "charger.password",
        "charger",
        charger_id,
        site_id=charger["site_id"],
        before={"has_password": before["password_hash"] is not None},
        after={"has_password": after["password_hash"] is not None},
    )
    return password_hash is not None


async def assign_tariff(
    conn: AsyncConnection, actor: Actor, charger_id: str, tariff_id: int | None
) -> None:
    """Point a charger at a tariff (or none): sessions starting from now on use it."""
    charger = await _writable(conn, actor, charger_id)
    before, after = await charger_admin.assign_tariff(conn, charger_id, tariff_id)
    await audit.record(
        conn,
        actor.label,
        "charger.tariff",
        "charger",
        charger_id,
        site_id=charger["site_id"],
        before={"tariff_id": before["tariff_id"]},
        after={"tariff_id": after["tariff_id"]},
    )


@dataclass(frozen=True)
class MonthlyPaymentChange:
    """What switching monthly payment did, and what it means for who may charge."""

    before: dict[str, Any]
    after: dict[str, Any]
    running_sessions: list[dict[str, Any]]
    active_subscribers: int
    usable_tokens: int

    @property
    def changed(self) -> bool:
        return bool(self.before["monthly_payment"]) != bool(self.after["monthly_payment"])


async def set_monthly_payment(
    conn: AsyncConnection, actor: Actor, charger_id: str, enabled: bool
) -> MonthlyPaymentChange:
    """Switch monthly payment (super-admin; on only for a business site's approved charger).

    A real change is audited and published (outbox event ``charger_monthly_payment``);
    sessions already running keep the mode they started with.
    """
    actor.check_super()
    before, after = await charger_admin.set_monthly_payment(conn, charger_id, enabled)
    await local_lists.mark_charger(conn, charger_id)  # its local list is due
    await audit.record(
        conn,
        actor.label,
        "charger.monthly_payment",
        "charger",
        charger_id,
        site_id=after["site_id"],
        before={"monthly_payment": before["monthly_payment"]},
        after={"monthly_payment": after["monthly_payment"]},
    )
    if bool(before["monthly_payment"]) != bool(after["monthly_payment"]):
        await outbox_store.record_event(
            conn,
            "charger_monthly_payment",
            after["site_id"],
            charger_id,
            {"enabled": bool(after["monthly_payment"]), "by": actor.label},
            datetime.now(UTC),
        )
    running = await charger_admin.running_sessions(conn, charger_id)
    counts = (
        await charger_admin.subscriber_counts(conn, after["site_id"])
        if after["site_id"] is not None
        else {"active_subscribers": 0, "usable_tokens": 0}
    )
    return MonthlyPaymentChange(
        before, after, running, counts["active_subscribers"], counts["usable_tokens"]
    )
