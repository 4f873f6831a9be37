"""Fixed fees a subscriber pays besides charging: plans (monthly, or quarterly and yearly in
advance, optionally N times), bundles (several lines sold together) and one-off charges.

A one-off charge is a plan of one month that starts and ends in the month it is billed with.
The billing run reads them all (billing.fees); what is already invoiced is never changed here,
so a plan may not start on a month whose invoice exists (the run would never bill it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing.fees import PERIOD_MONTHS, billed_on, fees_for, last_period_of
from billing.months import PeriodError, months_between, parse_period, shift
from billing.payments import parse_amount
from services.context import Actor
from store import admin, audit, plans, subscribers
from store.errors import Conflict, Invalid


def _period(value: str, name: str) -> str:
    try:
        parse_period(value)
    except PeriodError as exc:
        raise Invalid(f"{name}: {exc}") from None
    return value


def _line(line: dict[str, Any], currency: str) -> dict[str, Any]:
    description = str(line.get("description") or "").strip()
    if not description or len(description) > 200:
        raise Invalid("a plan line needs a description of 1 to 200 characters")
    amount = line["amount"]
    net = amount if isinstance(amount, int) else parse_amount(str(amount), currency)
    if net <= 0:
        raise Invalid(f"the amount of {description!r} must be positive")
    vat_bp = line.get("vat_bp")
    if vat_bp is not None and not 0 <= int(vat_bp) <= 10_000:
        raise Invalid(f"the VAT of {description!r} must be between 0 and 100 %")
    return {"description": description, "amount": net, "vat_bp": vat_bp}


async def _subscriber(conn: AsyncConnection, actor: Actor, subscriber_id: int) -> dict[str, Any]:
    sub = await subscribers.get_subscriber(conn, subscriber_id)
    actor.check_write(sub["site_id"])
    if sub["state"] == "cancelled":
        raise Conflict(f"subscriber {subscriber_id} is cancelled: it gets no new fees")
    return sub


async def _not_yet_invoiced(conn: AsyncConnection, subscriber_id: int, month: str) -> None:
    invoiced = await plans.invoiced_periods(conn, subscriber_id)
    if month in invoiced:
        raise Conflict(
            f"subscriber {subscriber_id} already has its invoice for {month}: start the fee "
            f"so that it is first billed on a later month"
        )


async def add_plan(
    conn: AsyncConnection,
    actor: Actor,
    subscriber_id: int,
    lines: list[dict[str, Any]],
    *,
    period_months: int,
    first_period: str,
    times: int | None = None,
    last_period: str | None = None,
    bundle: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """A plan of one line, or a bundle of several lines with one name, each ``period_months``
    (1, 3 or 12) from ``first_period``, for ``times`` periods or until ``last_period`` (or
    until ended). Audited as ``plan.add``; returns the stored rows."""
    sub = await _subscriber(conn, actor, subscriber_id)
    if period_months not in PERIOD_MONTHS:
        raise Invalid(f"period_months must be 1, 3 or 12, not {period_months}")
    first = _period(first_period, "first_period")
    if times is not None and last_period is not None:
        raise Invalid("give times or last_period, not both")
    if times is not None:
        if not 1 <= times <= 1200:
            raise Invalid(f"times must be between 1 and 1200, not {times}")
        last_period = last_period_of(first, period_months, times)
    if last_period is not None and months_between(first, _period(last_period, "last_period")) < 0:
        raise Invalid(f"last_period {last_period} is before first_period {first}")
    if not lines:
        raise Invalid("a plan needs at least one line")
    if len(lines) > 1 and not (bundle or "").strip():
        raise Invalid("several lines are a bundle: give it a name")
    site = await admin.get_site(conn, sub["site_id"])
    checked = [_line(line, site["currency"]) for line in lines]
    await _not_yet_invoiced(conn, subscriber_id, billed_on(first, period_months))
    rows = [
        {
            **line,
            "subscriber_id": subscriber_id,
            "period_months": period_months,
            "first_period": first,
            "last_period": last_period,
            "bundle": (bundle or "").strip() or None,
            "one_off": False,
        }
        for line in checked
    ]
    stored = await plans.add_plans(conn, rows, now or datetime.now(UTC))
    for row in stored:
        await audit.record(
            conn,
            actor.label,
            "plan.add",
            "subscriber",
            subscriber_id,
            site_id=sub["site_id"],
            after=_shown(row),
        )
    return [_shown(r) for r in stored]


async def add_charge(
    conn: AsyncConnection,
    actor: Actor,
    subscriber_id: int,
    line: dict[str, Any],
    *,
    period: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A one-off charge on the invoice of ``period`` (its usage month). Audited as
    ``charge.add``."""
    sub = await _subscriber(conn, actor, subscriber_id)
    month = _period(period, "period")
    site = await admin.get_site(conn, sub["site_id"])
    checked = _line(line, site["currency"])
    await _not_yet_invoiced(conn, subscriber_id, month)
    row = {
        **checked,
        "subscriber_id": subscriber_id,
        "period_months": 1,
        "first_period": month,
        "last_period": month,
        "bundle": None,
        "one_off": True,
    }
    (stored,) = await plans.add_plans(conn, [row], now or datetime.now(UTC))
    await audit.record(
        conn,
        actor.label,
        "charge.add",
        "subscriber",
        subscriber_id,
        site_id=sub["site_id"],
        after=_shown(stored),
    )
    return _shown(stored)


async def end_plan(
    conn: AsyncConnection, actor: Actor, plan_id: int, last_period: str
) -> dict[str, Any]:
    """End a plan after ``last_period``. A fee already invoiced for a later month is not
    taken back here (that is a credit note): refused, naming the invoice's month."""
    plan = await plans.get_plan(conn, plan_id)
    sub = await subscribers.get_subscriber(conn, int(plan["subscriber_id"]))
    actor.check_write(sub["site_id"])
    last = _period(last_period, "last_period")
    if plan["one_off"]:
        raise Conflict(f"plan {plan_id} is a one-off charge: it ends by itself")
    if months_between(plan["first_period"], last) < 0:
        raise Invalid(f"last_period {last} is before the plan's first month")
    months = int(plan["period_months"])
    for month in sorted(await plans.invoiced_periods(conn, int(plan["subscriber_id"]))):
        if not fees_for([plan], month):
            continue
        covered = month if months == 1 else shift(month, 1)  # what that invoice's fee covers
        paid_until = shift(covered, months - 1)
        if months_between(last, paid_until) > 0:
            raise Conflict(
                f"the fee of plan {plan_id} up to {paid_until} is already on the invoice for "
                f"{month}: end it after {paid_until}, or credit that invoice"
            )
    await plans.set_last_period(conn, plan_id, last)
    after = await plans.get_plan(conn, plan_id)
    await audit.record(
        conn,
        actor.label,
        "plan.end",
        "subscriber",
        plan["subscriber_id"],
        site_id=sub["site_id"],
        before={"plan": plan_id, "last_period": plan["last_period"]},
        after={"plan": plan_id, "last_period": last},
    )
    return _shown(after)


async def list_plans(
    conn: AsyncConnection, actor: Actor, subscriber_id: int
) -> list[dict[str, Any]]:
    sub = await subscribers.get_subscriber(conn, subscriber_id)
    actor.check_read(sub["site_id"])
    return [_shown(r) for r in await plans.plans_of(conn, subscriber_id)]


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in row if k != "created_at"}
    out["created_at"] = row["created_at"].isoformat() if row.get("created_at") else None
    return out
