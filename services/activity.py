"""The monthly activity series: energy and amount per month, last 12 months (a use case).

A month is the site's own calendar month (billing.months); energy is the Wh of sessions
stopped in it, the amount what its invoices total (drafts left out). The month in progress
has no invoice yet: its amount is the estimate (billing.run.estimate, the next-invoice use
case) for a subscriber, and every subscriber's estimate together for a site, marked
``estimated``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from billing import run as billing_run
from billing.months import month_bounds, period_of, shift
from services.context import Actor
from store import activity_views, admin
from store import billing_store as bs
from store.errors import NotFound

MONTHS = 12


def windows(now: datetime, tz: str, months: int = MONTHS) -> list[activity_views.Window]:
    """The last ``months`` periods of the site's calendar, oldest first, ending with now's."""
    current = period_of(now, tz)
    periods = [shift(current, -i) for i in range(months - 1, -1, -1)]
    return [(p, *month_bounds(p, tz)) for p in periods]


def _series(
    wins: list[activity_views.Window],
    energy: dict[str, int],
    amounts: dict[str, int],
    currency: str,
    current_estimate: int | None,
) -> list[dict[str, Any]]:
    out = []
    for i, (period, _start, _end) in enumerate(wins):
        last = i == len(wins) - 1
        estimated = last and current_estimate is not None and amounts[period] == 0
        out.append(
            {
                "period": period,
                "energy_wh": energy[period],
                "amount": current_estimate if estimated else amounts[period],
                "currency": currency,
                "estimated": bool(estimated),
            }
        )
    return out


async def subscriber_activity(
    engine: AsyncEngine, actor: Actor | None, subscriber_id: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """A subscriber's last 12 months. ``actor`` None: the subscriber itself (the portal)."""
    now = now or datetime.now(UTC)
    async with engine.connect() as conn:
        sub = await bs.get_subscriber(conn, subscriber_id)
        if sub is None:
            raise NotFound(f"no subscriber {subscriber_id}")
        if actor is not None:
            actor.check_read(sub["site_id"])
        site = await admin.get_site(conn, sub["site_id"])
        wins = windows(now, site["tz"])
        energy = await activity_views.energy_by_month(conn, wins, subscriber_id=subscriber_id)
        amounts = await activity_views.invoiced_by_period(
            conn, [w[0] for w in wins], subscriber_id=subscriber_id
        )
    draft = await billing_run.estimate(engine, subscriber_id, now)
    return _series(wins, energy, amounts, site["currency"], draft.total if draft else None)


async def site_month_estimate(engine: AsyncEngine, site_id: str, now: datetime) -> int:
    """Every subscriber's estimate of the month in progress together (minor units)."""
    return sum(d.total for d in await billing_run.estimate_site(engine, site_id, now))


async def site_activity(
    engine: AsyncEngine, actor: Actor, site_id: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """A site's last 12 months (every charger of the site, every subscriber)."""
    now = now or datetime.now(UTC)
    actor.check_read(site_id)
    async with engine.connect() as conn:
        site = await admin.get_site(conn, site_id)
        wins = windows(now, site["tz"])
        energy = await activity_views.energy_by_month(conn, wins, site_id=site_id)
        amounts = await activity_views.invoiced_by_period(
            conn, [w[0] for w in wins], site_id=site_id
        )
    estimate = await site_month_estimate(engine, site_id, now)
    return _series(wins, energy, amounts, site["currency"], estimate)
