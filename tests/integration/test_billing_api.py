"""The billing endpoints through the real config API app (auth, site scoping, webhook)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.stripe_payments import StripeSettings
from billing.webhook_signature import sign
from config.api import create_app
from store import admin, api_tokens
from store import billing_store as bs
from tests.unit.billing.billing_testkit import NOW, World, local

SECRET = "whsec_api_test"


async def client(engine: AsyncEngine) -> tuple[httpx.AsyncClient, dict[str, str]]:
    app = create_app(engine)
    app.state.billing_stripe = StripeSettings("sk_test_unused", SECRET)
    app.state.billing_now = NOW
    async with engine.begin() as conn:
        await admin.add_site(conn, admin.SiteInput("OTHER", "Europe/Oslo", "NOK", 2500, "business"))
        tokens = {
            "super": (await api_tokens.create_token(conn, "super-admin", None, "root"))[1],
            "admin": (await api_tokens.create_token(conn, "admin", "OSLO", "oslo"))[1],
            "other": (await api_tokens.create_token(conn, "admin", "OTHER", "other"))[1],
            "viewer": (await api_tokens.create_token(conn, "viewer", "OSLO", "ro"))[1],
        }
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://evgate"), tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run_to_the_end(
    http: httpx.AsyncClient, body: dict[str, Any], token: str
) -> dict[str, Any]:
    """POST a billing run (202: a process of its own), then follow it until it has ended."""
    r = await http.post("/api/v1/billing-runs", json=body, headers=auth(token))
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/api/v1/billing-runs/{r.json()['id']}"
    for _ in range(600):
        run = (await http.get(r.headers["Location"], headers=auth(token))).json()
        if run["state"] not in ("queued", "running"):
            transport = http._transport
            assert isinstance(transport, httpx.ASGITransport)
            await transport.app.state.billing_jobs.close()  # the child's end is recorded
            return dict(run)
        await asyncio.sleep(0.1)
    raise AssertionError(f"billing run still {run['state']} after 60 s")


async def test_run_list_pay_credit_pdf_and_estimate(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A", language="fr")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)  # 25 + 60 + 5 = 90.00 net
    await w.session("A", local("2026-11-02 08:00"), 60, 10_000)  # this month: the estimate
    http, tok = await client(engine)
    async with http:
        r = await http.post("/api/v1/billing-runs", json={"period": "2026-10"})
        assert r.status_code == 401
        r = await http.post(
            "/api/v1/billing-runs", json={"period": "2026-10"}, headers=auth(tok["admin"])
        )
        assert r.status_code == 403  # an admin bills its own site only
        r = await http.post(
            "/api/v1/billing-runs",
            json={"period": "2026-10", "site_id": "OSLO"},
            headers=auth(tok["viewer"]),
        )
        assert r.status_code == 403
        run = await run_to_the_end(http, {"period": "2026-10", "site_id": "OSLO"}, tok["admin"])
        assert run["state"] == "done", run
        assert run["report"]["invoices"] == 1 and run["report"]["totals"]["NOK"]["total"] == 11250
        r = await http.get(f"/api/v1/billing-runs/{run['id']}", headers=auth(tok["other"]))
        assert r.status_code == 403  # another site's admin sees nothing of it
        r = await http.get("/api/v1/invoices", headers=auth(tok["other"]))
        assert r.json() == []  # another site's admin sees none of them
        r = await http.get("/api/v1/invoices", headers=auth(tok["viewer"]))
        (inv,) = r.json()
        assert inv["number"] == "OSL-000001" and inv["lines"][0]["session_id"] is not None
        r = await http.get("/api/v1/invoices/OSL-000001/pdf", headers=auth(tok["viewer"]))
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        r = await http.get("/api/v1/invoices/OSL-000001", headers=auth(tok["other"]))
        assert r.status_code == 403
        # a partial payment, then an overpayment
        pay = {"amount": "100.00", "date": "2026-11-25", "reference": "bank"}
        r = await http.post(
            "/api/v1/invoices/OSL-000001/payments", json=pay, headers=auth(tok["admin"])
        )
        assert r.json() == {
            "number": "OSL-000001",
            "state": "issued",
            "paid": 10000,
            "amount_due": 1250,
        }
        r = await http.post(
            "/api/v1/invoices/OSL-000001/payments",
            json={**pay, "amount": "20.00"},
            headers=auth(tok["admin"]),
        )
        assert r.json()["state"] == "paid" and r.json()["amount_due"] == -750  # credit balance
        r = await http.post(
            "/api/v1/invoices/OSL-000001/payments",
            json={**pay, "amount": "1.001"},
            headers=auth(tok["admin"]),
        )
        assert r.status_code == 422 and "decimals" in r.json()["detail"]
        # a partial credit note at the invoice's rate: 10.00 net + 2.50 VAT
        r = await http.post(
            "/api/v1/invoices/OSL-000001/credit-notes",
            json={"amount": "10.00", "reason": "goodwill"},
            headers=auth(tok["admin"]),
        )
        assert r.json() == {
            "number": "CN-OSL-000001",
            "net": 1000,
            "vat": 250,
            "total": 1250,
            "invoice_state": "paid",
            "card_refund": None,  # a manual invoice: nothing goes back to a card
            "bank_refund": None,  # nor paid out: without pay_out the credit stays a balance
        }
        r = await http.get("/api/v1/invoices/CN-OSL-000001/pdf", headers=auth(tok["viewer"]))
        assert r.content.startswith(b"%PDF")
        # this month so far: the November session, not stored
        r = await http.get(f"/api/v1/subscribers/{a}/next-invoice", headers=auth(tok["viewer"]))
        est = r.json()
        assert (est["period"], est["net"], est["vat"], est["total"]) == (
            "2026-11",
            9000,
            2250,
            11250,
        )
        r = await http.get(f"/api/v1/subscribers/{a}/next-invoice", headers=auth(tok["other"]))
        assert r.status_code == 403


async def test_an_id_past_64_bits_is_a_422_not_a_500(engine: AsyncEngine) -> None:
    await World(engine).setup()
    http, tok = await client(engine)
    async with http:
        r = await http.get(
            "/api/v1/invoices", params={"subscriber_id": 2**63}, headers=auth(tok["super"])
        )
        assert r.status_code == 422, r.text
        r = await http.get(
            "/api/v1/invoices", params={"subscriber_id": 2**63 - 1}, headers=auth(tok["super"])
        )
        assert r.status_code == 200 and r.json() == []


async def test_the_webhook_verifies_signatures(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A", payment_method="stripe")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    http, tok = await client(engine)
    async with http:
        run = await run_to_the_end(http, {"period": "2026-10"}, tok["super"])
        assert run["state"] == "done", run
        async with engine.begin() as conn:
            inv = await bs.get_invoice(conn, "OSL-000001")
            pid = await bs.insert_payment(
                conn,
                {
                    "invoice_id": inv["id"],
                    "method": "stripe",
                    "status": "pending",
                    "amount": inv["total"],
                    "currency": "NOK",
                    "attempt": 1,
                    "idempotency_key": "k",
                    "stripe_payment_intent_id": "pi_123",
                    "created_at": inv["created_at"],
                    "updated_at": inv["created_at"],
                },
            )
        body = json.dumps(
            {"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_123"}}}
        ).encode()
        forged = sign(body, "whsec_wrong", int(time.time()))
        r = await http.post(
            "/api/v1/stripe/webhook", content=body, headers={"Stripe-Signature": forged}
        )
        assert r.status_code == 400 and "refused" in r.json()["detail"]
        stale = sign(body, SECRET, int(time.time()) - 3600)
        r = await http.post(
            "/api/v1/stripe/webhook", content=body, headers={"Stripe-Signature": stale}
        )
        assert r.status_code == 400
        async with engine.connect() as conn:
            assert (await bs.payment_by_id(conn, pid))["status"] == "pending"
        good = sign(body, SECRET, int(time.time()))
        r = await http.post(
            "/api/v1/stripe/webhook", content=body, headers={"Stripe-Signature": good}
        )
        assert r.status_code == 200 and r.json() == {"result": "applied"}
        async with engine.connect() as conn:
            assert (await bs.payment_by_id(conn, pid))["status"] == "succeeded"
            assert (await bs.get_invoice(conn, "OSL-000001"))["state"] == "paid"


async def test_billing_writes_are_audited_in_the_tokens_name(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    http, tok = await client(engine)
    async with http:
        run = {"period": "2026-10", "site_id": "OSLO"}
        r = await http.post(
            "/api/v1/billing-runs", json=run | {"dry_run": True}, headers=auth(tok["admin"])
        )
        assert r.status_code == 200 and r.json()["invoices"] == 1
        r = await http.get("/api/v1/audit", headers=auth(tok["super"]))
        assert r.json() == []  # a dry run stores nothing, so nothing is audited
        assert (await run_to_the_end(http, run, tok["admin"]))["state"] == "done"
        pay = {"amount": "112.50", "date": "2026-11-25", "reference": "bank"}
        r = await http.post(
            "/api/v1/invoices/OSL-000001/payments", json=pay, headers=auth(tok["admin"])
        )
        assert r.json()["state"] == "paid"
        r = await http.post(
            "/api/v1/invoices/OSL-000001/credit-notes", json={}, headers=auth(tok["super"])
        )
        assert r.json()["invoice_state"] == "credited"
        r = await http.post(  # refused: nothing written, nothing audited
            "/api/v1/invoices/OSL-000001/payments", json=pay, headers=auth(tok["admin"])
        )
        assert r.status_code == 422 and "is credited" in r.json()["detail"]
        r = await http.get("/api/v1/audit", headers=auth(tok["admin"]))
        got = [(e["actor"], e["action"], e["before"], e["after"]) for e in reversed(r.json())]
    admin_id = int(got[0][0].split(":")[1].split()[0])
    assert [(actor, action) for actor, action, _, _ in got] == [
        (f"token:{admin_id} (oslo)", "invoice.issued"),
        (f"token:{admin_id} (oslo)", "billing_run.finish"),
        (f"token:{admin_id} (oslo)", "invoice.paid"),
        (f"token:{admin_id} (oslo)", "payment.add"),
        (f"token:{admin_id - 1} (root)", "invoice.credited"),
        (f"token:{admin_id - 1} (root)", "credit_note.create"),
    ]
    assert got[0][2] == {"state": "draft"} and got[0][3]["state"] == "issued"
    assert got[2][2] == {"state": "issued"} and got[2][3]["paid_amount"] == 11250
    assert got[3][3]["amount"] == 11250 and got[3][3]["reference"] == "bank"
    assert got[4][2] == {"state": "paid"} and got[4][3]["credited_amount"] == 11250
