"""Invoice state changes leave outbox events in the same transaction (issued, paid, overdue)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning import daily, mark_overdue
from billing.run import RunOptions, run_billing
from billing.scheduler import BillingScheduler
from services.billing import credit_invoice, record_offline_payment
from store.schema import audit_log, outbox
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


async def test_each_change_of_state_is_evented_and_audited_once(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.subscriber("B")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await w.session("B", local("2026-10-06 08:00"), 30, 5_000)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime(2026, 11, 1, 0, 5, tzinfo=UTC)

    await BillingScheduler(engine, clock=Clock).tick()  # issues both, as the scheduler
    async with engine.begin() as conn:  # a partial credit: no change of state
        await credit_invoice(conn, "OSL-000001", 1000, "", actor="cli", now=NOW)
    async with engine.begin() as conn:
        await credit_invoice(conn, "OSL-000001", 8000, "", actor="cli", now=NOW)
    await daily(engine, NOW + timedelta(days=60))  # B falls due: the scheduler's default
    async with engine.connect() as conn:
        events = await conn.execute(
            select(outbox).where(outbox.c.kind.like("invoice_%")).order_by(outbox.c.id)
        )
        got = [
            (e["kind"], e["payload"]["number"], e["payload"]["previous_state"])
            for e in events.mappings()
        ]
        entries = await conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target_id)
            .where(audit_log.c.action.like("invoice.%"))
            .order_by(audit_log.c.id)
        )
        audited = [tuple(r) for r in entries.all()]
    assert got == [
        ("invoice_issued", "OSL-000001", "draft"),
        ("invoice_issued", "OSL-000002", "draft"),
        ("invoice_credited", "OSL-000001", "issued"),
        ("invoice_overdue", "OSL-000002", "issued"),
    ]
    assert audited == [
        ("scheduler", "invoice.issued", "OSL-000001"),
        ("scheduler", "invoice.issued", "OSL-000002"),
        ("cli", "invoice.credited", "OSL-000001"),
        ("scheduler", "invoice.overdue", "OSL-000002"),
        ("scheduler", "invoice.reminder", "OSL-000002"),  # 59 days late: the first reminder
    ]
