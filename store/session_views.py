"""Sessions as the config API lists and shows them (reads only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import NotFound
from store.schema import chargers, meter_samples, sessions, sites, status_events, tokens


async def list_sessions(
    conn: AsyncConnection,
    *,
    site_id: str | None = None,
    charger_id: str | None = None,
    subscriber_id: int | None = None,
    started_from: datetime | None = None,
    started_before: datetime | None = None,
    flagged: bool | None = None,
    limit: int | None = 100,
    offset: int = 0,
    newest_first: bool = True,
) -> list[dict[str, Any]]:
    """Sessions with the charger's site (the API pages newest first; the CLI lists them all,
    oldest first); a subscriber's are those billing would put on their invoices."""
    query = select(sessions, chargers.c.site_id).select_from(
        sessions.join(chargers, chargers.c.id == sessions.c.charger_id)
    )
    if site_id is not None:
        query = query.where(chargers.c.site_id == site_id)
    if charger_id is not None:
        query = query.where(sessions.c.charger_id == charger_id)
    if subscriber_id is not None:  # the rule billing uses: the snapshot, else the token's owner
        query = query.where(
            or_(
                sessions.c.subscriber_id == subscriber_id,
                and_(
                    sessions.c.subscriber_id.is_(None),
                    select(tokens.c.id)
                    .where(
                        tokens.c.subscriber_id == subscriber_id,
                        tokens.c.site_id == chargers.c.site_id,
                        tokens.c.id_tag == sessions.c.id_tag,
                    )
                    .exists(),
                ),
            )
        )
    if started_from is not None:
        query = query.where(sessions.c.started_at >= started_from)
    if started_before is not None:
        query = query.where(sessions.c.started_at < started_before)
    if flagged is not None:
        flags = type_coerce(sessions.c.flags, Text)  # compare the stored JSON text itself
        query = query.where(flags != "[]" if flagged else flags == "[]")
    query = query.order_by(sessions.c.id.desc() if newest_first else sessions.c.id)
    query = query.limit(limit).offset(offset)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def session_with_site(conn: AsyncConnection, session_id: int) -> dict[str, Any]:
    """The session, its charger's site id and time zone."""
    query = (
        select(sessions, chargers.c.site_id, sites.c.tz)
        .select_from(
            sessions.join(chargers, chargers.c.id == sessions.c.charger_id).outerjoin(
                sites, sites.c.id == chargers.c.site_id
            )
        )
        .where(sessions.c.id == session_id)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"no session {session_id}")
    return dict(row)


async def session_samples(conn: AsyncConnection, session_id: int) -> list[dict[str, Any]]:
    query = (
        select(
            meter_samples.c.ts,
            meter_samples.c.energy_mwh,
            meter_samples.c.power_w,
            meter_samples.c.context,
        )
        .where(meter_samples.c.session_id == session_id)
        .order_by(meter_samples.c.ts, meter_samples.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def session_statuses(
    conn: AsyncConnection, session: dict[str, Any], until: datetime
) -> list[tuple[datetime, str]]:
    """The connector's status in force at the session's start and every change until ``until``."""
    start = session["started_at"]
    base = select(status_events.c.ts, status_events.c.status).where(
        status_events.c.charger_id == session["charger_id"],
        status_events.c.connector_id == session["connector_id"],
    )
    before = await conn.execute(
        base.where(status_events.c.ts <= start)
        .order_by(status_events.c.ts.desc(), status_events.c.id.desc())
        .limit(1)
    )
    during = await conn.execute(
        base.where(and_(status_events.c.ts > start, status_events.c.ts <= until)).order_by(
            status_events.c.ts, status_events.c.id
        )
    )
    return [(r[0], r[1]) for r in (*before.all(), *during.all())]


async def open_session_count(conn: AsyncConnection) -> int:
    query = select(func.count()).where(sessions.c.stopped_at.is_(None))
    return int((await conn.execute(query)).scalar_one())
