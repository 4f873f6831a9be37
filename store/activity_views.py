"""Reads for the monthly activity series and the portal's site summary (no writes).

A month is a window [start, end) handed in by the caller (billing.months: the site's own
calendar); a session counts in the month it stopped, as billing counts it. Amounts are the
invoices of that period (any state but draft), in minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.billing_schema import invoices
from store.schema import chargers, sessions, tokens

Window = tuple[str, datetime, datetime]  # (period, start, end)
OPEN_STATES = ("issued", "overdue")


def _owned_by(subscriber_id: int) -> Any:
    """The subscriber's sessions: snapshotted at start, else by the token it owns now."""
    tags = select(tokens.c.id_tag).where(tokens.c.subscriber_id == subscriber_id)
    return or_(
        sessions.c.subscriber_id == subscriber_id,
        and_(sessions.c.subscriber_id.is_(None), sessions.c.id_tag.in_(tags)),
    )


async def energy_by_month(
    conn: AsyncConnection,
    windows: Sequence[Window],
    *,
    site_id: str | None = None,
    subscriber_id: int | None = None,
) -> dict[str, int]:
    """Wh of the sessions stopped in each window, by period."""
    out: dict[str, int] = {}
    for period, start, end in windows:
        query = select(func.coalesce(func.sum(sessions.c.energy_wh), 0)).where(
            sessions.c.stopped_at >= start, sessions.c.stopped_at < end
        )
        if site_id is not None:
            query = query.where(
                sessions.c.charger_id.in_(
                    select(chargers.c.id).where(chargers.c.site_id == site_id)
                )
            )
        if subscriber_id is not None:
            query = query.where(_owned_by(subscriber_id))
        out[period] = int((await conn.execute(query)).scalar_one())
    return out


async def invoiced_by_period(
    conn: AsyncConnection,
    periods: Sequence[str],
    *,
    site_id: str | None = None,
    subscriber_id: int | None = None,
) -> dict[str, int]:
    """Invoice totals (minor units, drafts left out) by period."""
    query = (
        select(invoices.c.period, func.coalesce(func.sum(invoices.c.total), 0))
        .where(invoices.c.period.in_(list(periods)), invoices.c.state != "draft")
        .group_by(invoices.c.period)
    )
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    if subscriber_id is not None:
        query = query.where(invoices.c.subscriber_id == subscriber_id)
    found = {str(p): int(t) for p, t in (await conn.execute(query)).all()}
    return {p: found.get(p, 0) for p in periods}


async def site_summary(conn: AsyncConnection, site_id: str, now: datetime) -> dict[str, int]:
    """Chargers, running sessions, and what is owed (open and overdue) on a site's invoices."""
    charger_count = (
        await conn.execute(
            select(func.count()).where(
                chargers.c.site_id == site_id, chargers.c.state == "approved"
            )
        )
    ).scalar_one()
    running = (
        await conn.execute(
            select(func.count())
            .select_from(sessions.join(chargers, chargers.c.id == sessions.c.charger_id))
            .where(chargers.c.site_id == site_id, sessions.c.stopped_at.is_(None))
        )
    ).scalar_one()
    owed = invoices.c.total - invoices.c.paid_amount - invoices.c.credited_amount
    overdue = or_(
        invoices.c.state == "overdue", and_(invoices.c.state == "issued", invoices.c.due_at < now)
    )
    row = (
        await conn.execute(
            select(
                func.coalesce(func.sum(owed), 0),
                func.coalesce(func.sum(case((overdue, owed), else_=0)), 0),
            ).where(invoices.c.site_id == site_id, invoices.c.state.in_(OPEN_STATES))
        )
    ).one()
    return {
        "chargers": int(charger_count),
        "running_sessions": int(running),
        "outstanding": int(row[0]),
        "overdue": int(row[1]),
    }
