"""Invoice state changes leave outbox events in the same transaction (issued, paid, overdue)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning import mark_overdue
from billing.run import RunOptions, run_billing
from services.billing import record_offline_payment
from store.schema import outbox
from tests.unit.billing.billing_testkit import NOW, World, local


async def invoice_events(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox).where(outbox.c.kind.like("invoice_%")).order_by(outbox.c.id)
        )
        return [(r["kind"], r["payload"]["number"], r["payload"]["state"]) for r in rows.mappings()]


async def test_issued_paid_overdue(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.subscriber("B")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await w.session("B", local("2026-10-06 08:00"), 30, 5_000)
    await run_billing(engine, RunOptions("2026-10", now=NOW))
    issued = await invoice_events(engine)
    assert sorted(issued) == [
        ("invoice_issued", "OSL-000001", "issued"),
        ("invoice_issued", "OSL-000002", "issued"),
    ]
    await run_billing(engine, RunOptions("2026-10", now=NOW))  # a re-run: no new events
    assert await invoice_events(engine) == issued

    async with engine.begin() as conn:
        await record_offline_payment(
            conn, "OSL-000001", 11250, date(2026, 11, 20), "KID 1", actor="cli"
        )
    async with engine.begin() as conn:
        marked = await mark_overdue(conn, NOW + timedelta(days=60))
    assert marked == 1
    assert (await invoice_events(engine))[2:] == [
        ("invoice_paid", "OSL-000001", "paid"),
        ("invoice_overdue", "OSL-000002", "overdue"),
    ]
