"""Concurrent payments and credits on PostgreSQL: the second waits for the first's row lock
and is checked against what the first committed (nothing over-credited, one paid event)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing.errors import BillingError
from billing.run import RunOptions, run_billing
from services.billing import credit_invoice, record_offline_payment
from store import migrate
from store.billing_schema import credit_notes, invoices
from store.db import create_engine
from store.schema import audit_log, outbox
from tests.support.services import fresh_pg_database
from tests.unit.billing.billing_testkit import NOW, World, local, rows

pytestmark = pytest.mark.postgres

Work = Callable[[AsyncConnection], Awaitable[Any]]


@pytest.fixture
async def pg() -> AsyncIterator[AsyncEngine]:
    async with fresh_pg_database() as url:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        try:
            yield engine
        finally:
            await engine.dispose()


async def one_invoice(engine: AsyncEngine) -> dict[str, Any]:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)  # 90.00 net, 112.50 total
    await run_billing(engine, RunOptions("2026-10", now=NOW))
    (inv,) = await rows(engine, invoices)
    return inv


async def blocked_on_a_lock(engine: AsyncEngine) -> None:
    """Until another connection of this database waits for a lock (pg_stat_activity)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(200):
        async with engine.connect() as conn:
            if (await conn.execute(query)).scalar_one():
                return
        await asyncio.sleep(0.025)
    raise AssertionError("the second transaction never waited for the invoice's lock")


async def at_once(engine: AsyncEngine, first: Work, second: Work) -> list[Any]:
    """``first`` runs in a transaction that stays open (its row lock held) until ``second``,
    started on another connection, is seen waiting for that lock; then both finish."""
    done_first, release = asyncio.Event(), asyncio.Event()

    async def one() -> Any:
        async with engine.begin() as conn:
            out = await first(conn)
            done_first.set()
            await release.wait()  # commit only once the second is blocked
        return out

    async def two() -> Any:
        await done_first.wait()
        async with engine.begin() as conn:
            return await second(conn)

    async def referee() -> None:
        await done_first.wait()
        try:
            await blocked_on_a_lock(engine)
        finally:
            release.set()

    results = await asyncio.gather(one(), two(), referee(), return_exceptions=True)
    if isinstance(results[2], BaseException):
        raise results[2]
    return results[:2]


async def invoice_events(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        found = await conn.execute(select(outbox.c.kind, outbox.c.payload).order_by(outbox.c.id))
        return [(k, p["state"]) for k, p in found.all() if k.startswith("invoice_")]


async def audit_actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        found = await conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))
        return [r[0] for r in found.all()]


async def test_two_partial_credits_at_once_never_over_credit(pg: AsyncEngine) -> None:
    inv = await one_invoice(pg)
    assert inv["total"] == 11250

    def credit(net: int) -> Work:
        return lambda conn: credit_invoice(conn, "OSL-000001", net, "goodwill", actor="cli")

    # 5000 net = 62.50 each: one fits in the 112.50 left, both do not
    first, second = await at_once(pg, credit(5000), credit(5000))
    assert first["total"] == 6250
    assert isinstance(second, BillingError) and "exceeds" in str(second), second
    (after,) = await rows(pg, invoices)
    assert after["credited_amount"] == 6250 and after["state"] == "issued"
    assert [c["total"] for c in await rows(pg, credit_notes)] == [6250]
    assert (await audit_actions(pg)).count("credit_note.create") == 1


async def test_credits_that_fit_both_pass_and_the_second_credits_the_rest(
    pg: AsyncEngine,
) -> None:
    await one_invoice(pg)

    def credit(net: int) -> Work:
        return lambda conn: credit_invoice(conn, "OSL-000001", net, "", actor="cli")

    first, second = await at_once(pg, credit(5000), credit(4000))  # 62.50 + 50.00 = 112.50
    assert first["invoice"]["state"] == "issued"
    assert second["invoice"]["state"] == "credited", second
    (after,) = await rows(pg, invoices)
    assert (after["credited_amount"], after["state"]) == (11250, "credited")
    assert [e for e in await invoice_events(pg) if e[0] != "invoice_issued"] == [
        ("invoice_credited", "credited")
    ]


async def test_two_offline_payments_at_once_add_up_and_pay_once(pg: AsyncEngine) -> None:
    await one_invoice(pg)

    def pay(amount: str, ref: str) -> Work:
        return lambda conn: record_offline_payment(
            conn, "OSL-000001", amount, date(2026, 11, 25), ref, actor="cli"
        )

    # the first pays it all (issued -> paid), the second pays more: a credit balance, and no
    # second change of state (it is paid already when the second gets the lock)
    first, second = await at_once(pg, pay("112.50", "KID 1"), pay("10.00", "KID 2"))
    assert (first["state"], first["paid_amount"], first["amount_due"]) == ("paid", 11250, 0)
    assert (second["state"], second["paid_amount"], second["amount_due"]) == (
        "paid",
        12250,
        -1000,
    ), second
    (after,) = await rows(pg, invoices)
    assert (after["state"], after["paid_amount"]) == ("paid", 12250)
    # one change of state: one event and one audit entry for it, two payments audited
    assert [e for e in await invoice_events(pg) if e[0] != "invoice_issued"] == [
        ("invoice_paid", "paid")
    ]
    actions = await audit_actions(pg)
    assert actions.count("invoice.paid") == 1 and actions.count("payment.add") == 2
