"""Charging profiles sent to chargers, and a site's power limit: the SQL of smart charging.

A row is one profile as it was sent (SetChargingProfile's csChargingProfiles, or a
RemoteStartTransaction's chargingProfile) with the charger's answer. An Accepted row is in
force until ``cleared_at``: a ClearChargingProfile that matches it, or a later profile that
replaces it on the charger (OCPP 1.6 3.13.2: the same chargingProfileId, or the same
connector, purpose and stack level). A TxProfile is in force only while its transaction
runs; one sent with a remote start belongs to the first session started on its connector
after it was sent (see REMOTE_START_SLACK).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.errors import NotFound
from store.schema import chargers, charging_profiles, sessions, sites

# A remote start's StartTransaction may be stored before its answer is (the charger starts
# as soon as it has answered): its session is the first on the connector received from this
# long before the profile was recorded.
REMOTE_START_SLACK = timedelta(seconds=30)


async def record(conn: AsyncConnection, row: dict[str, Any]) -> int:
    """Store one profile and the charger's answer; an Accepted one ends those it replaces."""
    if row["status"] == "Accepted":
        await conn.execute(
            update(charging_profiles)
            .where(
                charging_profiles.c.charger_id == row["charger_id"],
                charging_profiles.c.status == "Accepted",
                charging_profiles.c.cleared_at.is_(None),
                or_(
                    charging_profiles.c.profile_id == row["profile_id"],
                    and_(
                        charging_profiles.c.connector_id == row["connector_id"],
                        charging_profiles.c.purpose == row["purpose"],
                        charging_profiles.c.stack_level == row["stack_level"],
                    ),
                ),
            )
            .values(cleared_at=row["set_at"])
        )
    result = await conn.execute(insert(charging_profiles).values(row))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def clear(
    conn: AsyncConnection,
    charger_id: str,
    at: datetime,
    profile_id: int | None = None,
    connector_id: int | None = None,
    purpose: str | None = None,
    stack_level: int | None = None,
) -> int:
    """Mark the in-force rows a ClearChargingProfile matched cleared; how many.

    With an id only that profile matches (as a charger reads it); otherwise every given
    criterion must hold, and none given matches every profile of the charger.
    """
    where = [
        charging_profiles.c.charger_id == charger_id,
        charging_profiles.c.status == "Accepted",
        charging_profiles.c.cleared_at.is_(None),
    ]
    if profile_id is not None:
        where.append(charging_profiles.c.profile_id == profile_id)
    else:
        if connector_id is not None:
            where.append(charging_profiles.c.connector_id == connector_id)
        if purpose is not None:
            where.append(charging_profiles.c.purpose == purpose)
        if stack_level is not None:
            where.append(charging_profiles.c.stack_level == stack_level)
    result = await conn.execute(update(charging_profiles).where(*where).values(cleared_at=at))
    return int(result.rowcount)


async def listed(
    conn: AsyncConnection, charger_id: str, in_force_only: bool = True
) -> list[dict[str, Any]]:
    """The charger's profiles, oldest first: those in force, or every one sent.

    Each row says ``in_force``; a TxProfile's ``transaction_id`` is its session's (for a
    remote start's profile: the session it started, once there is one).
    """
    rows = [
        dict(r)
        for r in (
            await conn.execute(
                select(charging_profiles)
                .where(charging_profiles.c.charger_id == charger_id)
                .order_by(charging_profiles.c.id)
            )
        ).mappings()
    ]
    tx_rows = [r for r in rows if r["purpose"] == "TxProfile"]
    runs: list[dict[str, Any]] = []
    if tx_rows:
        runs = [
            dict(r)
            for r in (
                await conn.execute(
                    select(
                        sessions.c.id,
                        sessions.c.connector_id,
                        sessions.c.received_at,
                        sessions.c.stopped_at,
                    )
                    .where(sessions.c.charger_id == charger_id)
                    .order_by(sessions.c.id)
                )
            ).mappings()
        ]
    by_id = {s["id"]: s for s in runs}
    out = []
    for row in rows:
        live = row["status"] == "Accepted" and row["cleared_at"] is None
        if live and row["purpose"] == "TxProfile":
            session = by_id.get(row["transaction_id"])
            if row["transaction_id"] is None:  # a remote start's: the session it started
                session = next(
                    (
                        s
                        for s in runs
                        if s["received_at"] >= row["set_at"] - REMOTE_START_SLACK
                        and row["connector_id"] in (0, s["connector_id"])
                    ),
                    None,
                )
                if session is not None:
                    row["transaction_id"] = session["id"]
                live = session is None or session["stopped_at"] is None
            else:
                live = session is not None and session["stopped_at"] is None
        row["in_force"] = live
        if live or not in_force_only:
            out.append(row)
    return out


async def running_session(
    conn: AsyncConnection, charger_id: str, transaction_id: int
) -> dict[str, Any] | None:
    """The session ``transaction_id`` when it runs on ``charger_id``, else None."""
    row = (
        (
            await conn.execute(
                select(sessions.c.id, sessions.c.connector_id).where(
                    sessions.c.id == transaction_id,
                    sessions.c.charger_id == charger_id,
                    sessions.c.stopped_at.is_(None),
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def site_running_sessions(conn: AsyncConnection, site_id: str) -> list[dict[str, Any]]:
    """Every running session on the site's chargers (id, charger_id, connector_id), by id."""
    query = (
        select(sessions.c.id, sessions.c.charger_id, sessions.c.connector_id)
        .select_from(sessions.join(chargers, chargers.c.id == sessions.c.charger_id))
        .where(chargers.c.site_id == site_id, sessions.c.stopped_at.is_(None))
        .where(sessions.c.connector_id > 0)
        .order_by(sessions.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def shares_in_force(
    conn: AsyncConnection, site_id: str, min_profile_id: int
) -> list[dict[str, Any]]:
    """The site's TxProfiles of ids from ``min_profile_id`` (its power shares) in force: on
    a running session of theirs, Accepted, not cleared. One query, however big the site."""
    query = (
        select(charging_profiles)
        .select_from(
            charging_profiles.join(chargers, chargers.c.id == charging_profiles.c.charger_id).join(
                sessions, sessions.c.id == charging_profiles.c.transaction_id
            )
        )
        .where(
            chargers.c.site_id == site_id,
            charging_profiles.c.purpose == "TxProfile",
            charging_profiles.c.profile_id >= min_profile_id,
            charging_profiles.c.status == "Accepted",
            charging_profiles.c.cleared_at.is_(None),
            sessions.c.stopped_at.is_(None),
        )
        .order_by(charging_profiles.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def power_limit_w(conn: AsyncConnection, site_id: str) -> int | None:
    row = (await conn.execute(select(sites.c.power_limit_w).where(sites.c.id == site_id))).first()
    if row is None:
        raise NotFound(f"no site {site_id!r}: create it first with `evgate sites add`")
    return None if row[0] is None else int(row[0])


async def set_power_limit_w(conn: AsyncConnection, site_id: str, watts: int | None) -> None:
    result = await conn.execute(
        update(sites).where(sites.c.id == site_id).values(power_limit_w=watts)
    )
    if result.rowcount != 1:
        raise NotFound(f"no site {site_id!r}: create it first with `evgate sites add`")
