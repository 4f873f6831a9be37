"""Subscriber plans (fixed fees, bundles, one-off charges): the SQL behind services.plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.billing_schema import invoice_lines, invoices, subscriber_plans
from store.errors import NotFound
from store.ids import new_id


async def add_plans(
    conn: AsyncConnection, rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Insert plan rows (one statement each: a bundle has a handful); returns them stored."""
    out = []
    for row in rows:
        result = await conn.execute(insert(subscriber_plans).values(**row, created_at=now))
        out.append(await get_plan(conn, new_id(result)))
    return out


async def get_plan(conn: AsyncConnection, plan_id: int) -> dict[str, Any]:
    query = select(subscriber_plans).where(subscriber_plans.c.id == plan_id)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"no plan {plan_id}")
    return dict(row)


async def plans_of(conn: AsyncConnection, subscriber_id: int) -> list[dict[str, Any]]:
    query = (
        select(subscriber_plans)
        .where(subscriber_plans.c.subscriber_id == subscriber_id)
        .order_by(subscriber_plans.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def set_last_period(conn: AsyncConnection, plan_id: int, last_period: str | None) -> None:
    await conn.execute(
        update(subscriber_plans)
        .where(subscriber_plans.c.id == plan_id)
        .values(last_period=last_period)
    )


async def invoiced_periods(conn: AsyncConnection, subscriber_id: int) -> set[str]:
    """The usage months the subscriber already has an invoice for (the run never reissues)."""
    query = select(invoices.c.period).where(
        invoices.c.subscriber_id == subscriber_id, invoices.c.kind == "automatic"
    )
    return set((await conn.execute(query)).scalars())


async def invoiced_lines(
    conn: AsyncConnection, subscriber_id: int, states: list[str]
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Usage month -> (invoice, its lines) of the subscriber's invoices in ``states``."""
    query = select(invoices).where(  # the run's invoices: a manual one carries no fee periods
        invoices.c.subscriber_id == subscriber_id,
        invoices.c.state.in_(states),
        invoices.c.kind == "automatic",
    )
    found = {r["id"]: dict(r) for r in (await conn.execute(query)).mappings()}
    if not found:
        return {}
    lines = select(invoice_lines).where(invoice_lines.c.invoice_id.in_(list(found)))
    out: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
        inv["period"]: (inv, []) for inv in found.values()
    }
    for line in (await conn.execute(lines.order_by(invoice_lines.c.position))).mappings():
        out[found[line["invoice_id"]]["period"]][1].append(dict(line))
    return out
