"""Refunds a person settles, SQLite and PostgreSQL: a credit note on a bank-paid invoice paid
out as a bank refund (shown in the refund report until a super-admin marks it paid out,
audited), a credit balance refunded on request (by bank, or back to the card through
localstripe), each once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.balances import balance_of
from billing.errors import NotFoundError
from billing.run import RunOptions, run_billing
from billing.stripe_payments import StripePayments, record_refund
from services import payments as giro
from services import refunds
from services.billing import credit_invoice, record_offline_payment
from services.context import CLI, Actor
from store.billing_schema import invoices, payments
from store.errors import Forbidden
from store.payments_schema import refunds as refund_rows
from store.schema import audit_log
from tests.integration.test_billing_stripe import billed_world, card, localstripe, settings
from tests.integration.test_ocr_giro import AFTER, four_invoices, import_file
from tests.support.ocr_files import ocr_file
from tests.unit.billing.billing_testkit import NOW, rows

__all__ = ["localstripe"]
ADMIN = Actor("token:9 (oslo)", "admin", "OSLO")


async def balance(engine: AsyncEngine, subscriber_id: int) -> int:
    async with engine.connect() as conn:
        return int((await balance_of(conn, subscriber_id))["balance"])


async def test_a_credit_note_on_a_giro_paid_invoice_is_paid_out_by_bank(
    engine: AsyncEngine,
) -> None:
    a, *_ = await four_invoices(engine)
    await import_file(engine, ocr_file([(a["kid"], a["total"])]))
    async with engine.begin() as conn:
        note = await credit_invoice(
            conn, a["number_text"], 4000, "goodwill", actor="cli", pay_out=True
        )
    refund = note["refund"]
    assert (refund["method"], refund["state"], refund["amount"]) == ("bank", "due", 5000)
    assert refund["payer_account"] == "99990000001"  # the account the bank said paid it
    assert await balance(engine, a["subscriber_id"]) == 0  # to be paid out, not carried
    async with engine.connect() as conn:
        report = await giro.unmatched_report(conn, "OSLO")
    (shown,) = report["refunds"]
    assert (shown["id"], shown["state"], shown["method"]) == (refund["id"], "due", "bank")
    assert report["refunds_due"] == [{"currency": "NOK", "count": 1, "amount": 5000}]

    async with engine.begin() as conn:
        with pytest.raises(Forbidden):
            await refunds.mark_paid_out(conn, ADMIN, refund["id"])
        done = await refunds.mark_paid_out(conn, CLI, refund["id"], now=AFTER)
    assert (done["state"], done["changed"]) == ("paid", True)
    (after,) = [r for r in await rows(engine, invoices) if r["id"] == a["id"]]
    assert after["paid_amount"] == a["total"] - 5000 and after["state"] == "paid"
    async with engine.begin() as conn:
        again = await refunds.mark_paid_out(conn, CLI, refund["id"])
    assert again["changed"] is False
    moved = [p for p in await rows(engine, payments) if p["method"] == "refund"]
    assert [(p["amount"], p["status"]) for p in moved] == [(-5000, "succeeded")]
    async with engine.connect() as conn:
        report = await giro.unmatched_report(conn, "OSLO")
    assert report["refunds_due"] == [] and report["refunds"][0]["state"] == "paid"
    audited = [e for e in await rows(engine, audit_log) if e["action"] == "refund.paid_out"]
    assert len(audited) == 1 and audited[0]["actor"] == "cli"


async def test_without_pay_out_the_credit_stays_a_balance_and_is_refunded_on_request(
    engine: AsyncEngine,
) -> None:
    a, b, *_ = await four_invoices(engine)
    async with engine.begin() as conn:
        await record_offline_payment(
            conn, a["number_text"], a["total"] + 777, date(2026, 11, 21), actor="cli"
        )
    sub = a["subscriber_id"]
    assert await balance(engine, sub) == 777
    with pytest.raises(Forbidden):
        await refunds.refund_balance(engine, None, ADMIN, sub)
    done = await refunds.refund_balance(engine, None, CLI, sub, now=AFTER)
    assert [(r["method"], r["state"], r["amount"]) for r in done["refunds"]] == [
        ("bank", "due", 777)
    ]
    assert await balance(engine, sub) == 0
    again = await refunds.refund_balance(engine, None, CLI, sub, now=AFTER)
    assert again["refunds"] == [] and len(await rows(engine, refund_rows)) == 1
    # the next run carries nothing of it
    await run_billing(engine, RunOptions("2026-11", now=AFTER + timedelta(days=10)))
    assert not [p for p in await rows(engine, payments) if p["method"] == "balance"]
    async with engine.begin() as conn:
        paid = await refunds.mark_paid_out(conn, CLI, done["refunds"][0]["id"])
        with pytest.raises(NotFoundError):
            await refunds.mark_paid_out(conn, CLI, 999_999)
    assert paid["state"] == "paid"
    (after,) = [r for r in await rows(engine, invoices) if r["id"] == a["id"]]
    assert after["paid_amount"] == a["total"] and after["state"] == "paid"
    assert b["state"] == "issued"


@pytest.mark.stripe
async def test_a_balance_a_card_paid_goes_back_to_the_card(
    engine: AsyncEngine, localstripe: str
) -> None:
    sp = StripePayments(settings(localstripe))
    _, good, _ = await billed_world(engine)
    await sp.set_payment_method(engine, good, await card(sp, "4242424242424242"))

    async def pay(engine: AsyncEngine, period: str) -> None:
        await sp.charge_period(engine, period)

    await run_billing(engine, RunOptions("2026-10", now=NOW), payer=pay)
    (inv,) = [r for r in await rows(engine, invoices) if r["subscriber_id"] == good]
    assert inv["state"] == "paid"
    # a credit note whose card refund failed: the money is the subscriber's balance again
    async with engine.begin() as conn:
        note = await credit_invoice(conn, inv["number_text"], 4000, "goodwill", actor="cli")
    await record_refund(engine, note["refund"]["id"], "failed", "card expired", None)
    assert await balance(engine, good) == 5000
    done = await refunds.refund_balance(engine, settings(localstripe), CLI, good)
    assert [(r["method"], r["amount"]) for r in done["refunds"]] == [("stripe", 5000)]
    (sent,) = done["card_refunds_sent"]
    assert sent["state"] == "succeeded" and sent["stripe_refund_id"].startswith("re_")
    on_stripe = await sp.client.v1.refunds.retrieve_async(sent["stripe_refund_id"])
    assert on_stripe.amount == 5000
    assert await balance(engine, good) == 0
    assert (await refunds.refund_balance(engine, settings(localstripe), CLI, good))["refunds"] == []
    (after,) = [r for r in await rows(engine, invoices) if r["id"] == inv["id"]]
    assert after["paid_amount"] == inv["total"] - 5000
