"""After the run: offline payments, credit notes, overdue and reminders, the scheduler, and
the session's subscriber snapshotted at StartTransaction through a real charger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import local_forms as lf
from billing.dunning import daily
from billing.errors import BillingError, NotFoundError
from billing.run import RunOptions, run_billing
from billing.scheduler import BillingScheduler
from billing.views import pdf_of
from services.billing import credit_invoice, record_offline_payment
from store import billing_store as bs
from store.billing_schema import billing_runs, credit_notes, invoices, reminders, subscriber_plans
from store.schema import chargers, subscribers, tokens
from tests.integration.conftest import Env
from tests.support.ocpp_client import Charger, at
from tests.unit.billing.billing_testkit import NOW, World, local, rows
from tests.unit.billing.test_document_pages import pdf_text

OCT = RunOptions("2026-10", now=NOW)


async def one_invoice(engine: AsyncEngine) -> dict[str, object]:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)  # 90.00 net, 112.50 total
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    return inv


async def test_partial_then_overpayment(engine: AsyncEngine) -> None:
    inv = await one_invoice(engine)
    async with engine.begin() as conn:
        part = await record_offline_payment(
            conn, "OSL-000001", 5000, date(2026, 11, 25), "KID 1", actor="cli"
        )
    assert (part["state"], part["paid_amount"], part["amount_due"]) == ("issued", 5000, 6250)
    async with engine.begin() as conn:
        over = await record_offline_payment(
            conn, "OSL-000001", 7000, date(2026, 11, 26), "KID 2", actor="cli"
        )
    assert (over["state"], over["paid_amount"], over["amount_due"]) == ("paid", 12000, -750)
    assert inv["total"] == 11250


async def test_credit_notes_full_and_partial_with_their_own_numbers(engine: AsyncEngine) -> None:
    await one_invoice(engine)
    async with engine.begin() as conn:
        part = await credit_invoice(conn, "OSL-000001", 2000, "goodwill", actor="cli")
    assert (part["number"], part["net"], part["vat"], part["total"]) == (
        "CN-OSL-000001",
        2000,
        500,
        2500,
    )
    assert part["invoice"]["state"] == "issued"
    async with engine.begin() as conn:
        with pytest.raises(BillingError, match="partly credited"):
            await credit_invoice(conn, "OSL-000001", None, actor="cli")
        with pytest.raises(BillingError, match="exceeds"):
            await credit_invoice(conn, "OSL-000001", 8001, actor="cli")
    async with engine.begin() as conn:
        rest = await credit_invoice(conn, "OSL-000001", 7000, "rest", actor="cli")
    assert rest["number"] == "CN-OSL-000002" and rest["invoice"]["state"] == "credited"
    async with engine.begin() as conn:
        with pytest.raises(BillingError, match="credited"):
            await record_offline_payment(conn, "OSL-000001", 100, date(2026, 11, 30), actor="cli")
    assert [c["number"] for c in await rows(engine, credit_notes, credit_notes.c.id)] == [1, 2]


async def test_overdue_and_reminders_with_the_sites_fee(engine: AsyncEngine) -> None:
    inv = await one_invoice(engine)
    async with engine.begin() as conn:
        await bs.set_billing_settings(
            conn, "OSLO", reminder_count=2, reminder_interval_days=10, reminder_fee=3500
        )
    due = inv["due_at"]
    assert (await daily(engine, due - timedelta(hours=1))) == {"marked_overdue": 0, "reminders": []}
    first = await daily(engine, due + timedelta(days=10))
    assert first["marked_overdue"] == 1 and first["reminders"][0]["reminder"] == 1
    assert (await daily(engine, due + timedelta(days=10, hours=2)))["reminders"] == []  # once
    await daily(engine, due + timedelta(days=20))
    await daily(engine, due + timedelta(days=40))  # N = 2: no third one
    assert [(r["n"], r["fee"]) for r in await rows(engine, reminders, reminders.c.n)] == [
        (1, 3500),
        (2, 3500),
    ]
    # the second reminder's document: both fees, the total owed, in the subscriber's language
    async with engine.connect() as conn:
        text = pdf_text(await pdf_of(conn, "OSL-000001", reminder=2))
        with pytest.raises(NotFoundError, match="2 reminder"):
            await pdf_of(conn, "OSL-000001", reminder=3)
    lang = str(inv["language"])
    assert lf.money(7000, "NOK", lang) in text and lf.money(18250, "NOK", lang) in text
    # the fees are due with the invoice: paying only the total leaves it overdue
    async with engine.begin() as conn:
        paid = await record_offline_payment(
            conn, "OSL-000001", 11250, date(2027, 1, 20), now=due + timedelta(days=50), actor="cli"
        )
    assert (paid["state"], paid["amount_due"]) == ("overdue", 7000)
    async with engine.begin() as conn:
        paid = await record_offline_payment(
            conn, "OSL-000001", 7000, date(2027, 1, 21), now=due + timedelta(days=51), actor="cli"
        )
    assert paid["state"] == "paid"


async def test_fees_only_subscribers_get_an_invoice(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A")
    b = await w.subscriber("B")
    async with engine.begin() as conn:
        await conn.execute(
            insert(subscriber_plans),
            [
                {
                    "subscriber_id": a,
                    "description": "Space",
                    "amount": 50000,
                    "period_months": 1,
                    "first_period": "2026-01",
                },
                {
                    "subscriber_id": b,
                    "description": "Year",
                    "amount": 120000,
                    "period_months": 12,
                    "first_period": "2026-11",
                },
            ],
        )
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    report = await run_billing(engine, OCT)
    inv = {r["subscriber_id"]: r for r in await rows(engine, invoices)}
    assert report.invoices == 2
    assert inv[a]["net"] == 9000 + 50000 and inv[b]["net"] == 120000  # B: the year in advance


async def test_the_scheduler_bills_finished_months_once(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime(2026, 11, 1, 0, 5, tzinfo=UTC)  # 01:05 on 1 November in Oslo

    scheduler = BillingScheduler(engine, clock=Clock)
    assert await scheduler.tick() == ["OSLO:2026-10", "daily"]
    assert await scheduler.tick() == []
    assert len(await rows(engine, invoices)) == 1
    assert [r["period"] for r in await rows(engine, billing_runs)] == ["2026-10"]
    scheduler.start()
    await scheduler.close()


async def test_start_snapshots_the_tokens_subscriber(env: Env) -> None:
    async with env.engine.begin() as conn:
        sub = await conn.execute(
            insert(subscribers).values(
                site_id="S1", state="active", email="a@example.no", created_at=NOW, updated_at=NOW
            )
        )
        sid = int(sub.inserted_primary_key[0])
        await conn.execute(
            update(tokens).where(tokens.c.id_tag == "TAG1").values(subscriber_id=sid)
        )
        await conn.execute(
            update(chargers).where(chargers.c.id == "CP1").values(monthly_payment=True)
        )
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    started = await cp.start("TAG1", 1000, at(0))
    assert started["idTagInfo"] == {"status": "Accepted"}
    other = await cp.start("TAG2", 1000, at(1), connector=2)
    await cp.close()
    rows_ = {s["id"]: s for s in await env.sessions()}
    assert rows_[started["transactionId"]]["subscriber_id"] == sid
    assert rows_[other["transactionId"]]["subscriber_id"] is None  # TAG2 belongs to nobody
    # moving the token later does not move the session
    async with env.engine.begin() as conn:
        await conn.execute(
            update(tokens).where(tokens.c.id_tag == "TAG1").values(subscriber_id=None)
        )
    assert {s["id"]: s for s in await env.sessions()}[started["transactionId"]][
        "subscriber_id"
    ] == sid
