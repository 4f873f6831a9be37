"""A subscriber who leaves: fees stop with the month of the cancellation, an advance fee is
credited pro rata on the invoice that carried it, and later runs bill no fee."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import RunOptions, run_billing
from config.api import create_app
from services import leaving, plans
from services.context import CLI
from store import api_tokens
from store import subscribers as subscriber_store
from store.billing_schema import credit_notes, invoices
from store.schema import audit_log
from tests.integration.test_billing_plans import fee_lines, month_run
from tests.unit.billing.billing_testkit import NOW, World, local, rows

OCT = RunOptions("2026-10", now=NOW)


async def test_leaving_ends_fees_and_credits_the_unused_months(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    sub = await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    async with engine.begin() as conn:
        line = {"description": "Charging", "amount": 45000, "vat_bp": None}
        await plans.add_plan(conn, CLI, sub, [line], period_months=3, first_period="2026-11")
        line = {"description": "Parking", "amount": 30000, "vat_bp": None}
        await plans.add_plan(conn, CLI, sub, [line], period_months=1, first_period="2026-10")
    await run_billing(engine, OCT)
    (october,) = await rows(engine, invoices)
    async with engine.begin() as conn:
        row = await subscriber_store.get_subscriber(conn, sub)
        summary = await leaving.leave(conn, "cli", row, datetime(2026, 11, 15, 9, tzinfo=UTC))
    assert summary["last_paid_month"] == "2026-11" and len(summary["ended_plans"]) == 2
    (note,) = await rows(engine, credit_notes)
    assert (note["net"], note["vat"], note["invoice_id"]) == (30000, 7500, october["id"])
    assert "2 of 3 months unused" in note["reason"]
    (after,) = await rows(engine, invoices)
    assert after["credited_amount"] == 37500
    await run_billing(engine, month_run("2026-11"))
    await run_billing(engine, month_run("2026-12"))
    fees = await fee_lines(engine, sub)
    assert fees["2026-11"] == [("Parking (2026-11)", 30000)]  # the last month paid for
    assert "2026-12" not in fees
    (entry,) = [e for e in await rows(engine, audit_log) if e["action"] == "subscriber.leave"]
    assert entry["after"]["credit_notes"][0]["invoice"] == october["number_text"]


async def test_cancelling_through_the_api_ends_the_plans(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    sub = await w.subscriber("A")
    async with engine.begin() as conn:
        line = {"description": "Spot", "amount": 120000, "vat_bp": None}
        await plans.add_plan(conn, CLI, sub, [line], period_months=12, first_period="2030-01")
        token = (await api_tokens.create_token(conn, "admin", w.site, "oslo"))[1]
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        headers = {"Authorization": f"Bearer {token}"}
        r = await http.post(f"/api/v1/subscribers/{sub}/cancel", headers=headers)
        assert r.status_code == 200, r.text
        (plan,) = (await http.get(f"/api/v1/subscribers/{sub}/plans", headers=headers)).json()
        r = await http.post(
            f"/api/v1/subscribers/{sub}/charges",
            headers=headers,
            json={"description": "x", "amount": 1, "period": "2030-01"},
        )
        assert r.status_code == 409 and "cancelled" in r.text
    assert plan["last_period"] < "2030-01"  # ended before it ever began: never billed
