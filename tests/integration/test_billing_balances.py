"""Credit balances: an overpayment, or a credit note after payment, is carried by the next run
into the subscriber's next invoice as a payment on account (no VAT moves), once."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import run_billing
from config.api import create_app
from services.billing import credit_invoice, record_offline_payment
from store import api_tokens
from store.billing_schema import invoices, payments
from tests.integration.test_billing_plans import month_run
from tests.unit.billing.billing_testkit import World, local, rows


async def by_period(engine: AsyncEngine) -> dict[str, dict[str, object]]:
    return {r["period"]: r for r in await rows(engine, invoices)}


async def test_an_overpayment_pays_the_next_invoice(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    sub = await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)  # 112.50 with VAT
    await w.session("A", local("2026-11-05 08:00"), 60, 10_000)
    await run_billing(engine, month_run("2026-10"))
    async with engine.begin() as conn:
        await record_offline_payment(conn, "OSL-000001", 15000, date(2026, 11, 10), actor="cli")
        token = (await api_tokens.create_token(conn, "viewer", w.site, "ro"))[1]
    transport = httpx.ASGITransport(app=create_app(engine))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        shown = (await http.get(f"/api/v1/subscribers/{sub}/balance", headers=headers)).json()
        assert shown == {
            "subscriber_id": sub,
            "balance": 3750,
            "held_by": [{"invoice": "OSL-000001", "credit": 3750}],
        }
        report = await run_billing(engine, month_run("2026-11"))
        assert report.balance_carried == 3750
        after = (await http.get(f"/api/v1/subscribers/{sub}/balance", headers=headers)).json()
        assert after["balance"] == 0 and after["held_by"] == []
    inv = await by_period(engine)
    assert (inv["2026-10"]["paid_amount"], inv["2026-10"]["state"]) == (11250, "paid")
    assert (inv["2026-11"]["paid_amount"], inv["2026-11"]["state"]) == (3750, "issued")
    assert inv["2026-11"]["total"] == 11250  # a payment on account: the price is unchanged
    moved = [
        (p["invoice_id"], p["amount"], p["reference"])
        for p in await rows(engine, payments)
        if p["method"] == "balance"
    ]
    assert moved == [
        (inv["2026-10"]["id"], -3750, "carried to OSL-000002"),
        (inv["2026-11"]["id"], 3750, "credit balance from OSL-000001"),
    ]
    await run_billing(engine, month_run("2026-11"))  # again: nothing is carried twice
    assert len([p for p in await rows(engine, payments) if p["method"] == "balance"]) == 2


async def test_a_credit_after_payment_covers_the_next_invoice_and_the_rest_stays(
    engine: AsyncEngine,
) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await w.session("A", local("2026-11-05 08:00"), 6, 1_000)  # a small November: 11.25
    await run_billing(engine, month_run("2026-10"))
    async with engine.begin() as conn:
        await record_offline_payment(conn, "OSL-000001", 11250, date(2026, 11, 10), actor="cli")
        note = await credit_invoice(conn, "OSL-000001", 4000, "goodwill", actor="cli")
    assert note["total"] == 5000 and note["invoice"]["state"] == "paid"
    await run_billing(engine, month_run("2026-11"))
    inv = await by_period(engine)
    november = inv["2026-11"]
    assert november["state"] == "paid" and november["paid_amount"] == november["total"]
    october = inv["2026-10"]
    left = october["paid_amount"] + october["credited_amount"] - october["total"]
    assert left == 5000 - november["total"] > 0  # what November did not need stays a balance
