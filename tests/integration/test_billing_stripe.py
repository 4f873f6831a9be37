"""Stripe autopay against localstripe: a paid invoice, a declined card, no double charge on
retry (proved on our records: localstripe ignores Idempotency-Key), webhooks verified."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import RunOptions, run_billing
from billing.stripe_payments import StripePayments, StripeSettings, apply_event
from billing.webhook_signature import SignatureError, sign, verify
from config.api import create_app
from store import billing_store as bs
from store.billing_schema import invoices, payments
from store.schema import audit_log, outbox
from tests.support.services import free_port, reachable, unavailable
from tests.unit.billing.billing_testkit import NOW, World, local, rows

pytestmark = pytest.mark.stripe


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("localstripe") / "log"
    code = (
        "import aiohttp.web, sys\n"
        "from localstripe.server import app\n"
        f"aiohttp.web.run_app(app, host='127.0.0.1', port={port}, print=None)\n"
    )
    Path("/tmp/localstripe.pickle").unlink(missing_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 20
        while reachable(f"http://127.0.0.1:{port}", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                unavailable("localstripe", log.read_text()[-300:] or "did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def settings(base: str) -> StripeSettings:
    return StripeSettings("sk_test_evgate", "whsec_test", base)


async def card(sp: StripePayments, number: str) -> str:
    pm = await sp.client.v1.payment_methods.create_async(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return str(pm.id)


async def billed_world(engine: AsyncEngine) -> tuple[World, int, int]:
    w = await World(engine).setup()
    good = await w.subscriber("A", payment_method="stripe")
    bad = await w.subscriber("B", payment_method="stripe")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await w.session("B", local("2026-10-05 09:00"), 60, 10_000)
    return w, good, bad


async def test_autopay_paid_and_declined(engine: AsyncEngine, localstripe: str) -> None:
    sp = StripePayments(settings(localstripe))
    w, good, bad = await billed_world(engine)
    await sp.set_payment_method(engine, good, await card(sp, "4242424242424242"))
    # 4000000000000341 attaches but every charge is declined (as on real Stripe)
    await sp.set_payment_method(engine, bad, await card(sp, "4000000000000341"))

    async def payer(engine: AsyncEngine, period: str) -> None:
        await sp.charge_period(engine, period)

    await run_billing(engine, RunOptions("2026-10", now=NOW), payer=payer)
    inv = {r["subscriber_id"]: r for r in await rows(engine, invoices)}
    assert inv[good]["state"] == "paid" and inv[good]["paid_amount"] == inv[good]["total"]
    assert inv[bad]["state"] == "issued" and inv[bad]["paid_amount"] == 0
    pays = {r["invoice_id"]: r for r in await rows(engine, payments)}
    ok, ko = pays[inv[good]["id"]], pays[inv[bad]["id"]]
    assert ok["status"] == "succeeded" and ok["stripe_payment_intent_id"].startswith("pi_")
    assert ok["idempotency_key"] == f"evgate-invoice-{inv[good]['id']}-attempt-1"
    assert ko["status"] == "failed" and "declined" in (ko["failure"] or "").lower()
    # the Stripe side agrees: one succeeded intent for the paid invoice's amount
    intent = await sp.client.v1.payment_intents.retrieve_async(ok["stripe_payment_intent_id"])
    assert intent.status == "succeeded" and intent.amount == inv[good]["total"]
    # a re-run (or a retried payer) charges nobody twice
    await run_billing(engine, RunOptions("2026-10", now=NOW), payer=payer)
    await sp.charge_period(engine, "2026-10")
    after = await rows(engine, payments, payments.c.id)
    assert [p["status"] for p in after if p["invoice_id"] == inv[good]["id"]] == ["succeeded"]
    assert [p["attempt"] for p in after if p["invoice_id"] == inv[bad]["id"]] == [1]
    # a deliberate retry of failed ones: attempt 2 (a new key), declined again
    await sp.charge_period(engine, "2026-10", retry_failed=True)
    after = await rows(engine, payments, payments.c.id)
    assert [p["attempt"] for p in after if p["invoice_id"] == inv[bad]["id"]] == [1, 2]
    assert [p["attempt"] for p in after if p["invoice_id"] == inv[good]["id"]] == [1]


async def test_a_pending_attempt_is_retried_with_its_own_key(
    engine: AsyncEngine, localstripe: str
) -> None:
    sp = StripePayments(settings(localstripe))
    w, good, _ = await billed_world(engine)
    await sp.set_payment_method(engine, good, await card(sp, "4242424242424242"))
    await run_billing(engine, RunOptions("2026-10", now=NOW))
    (inv,) = [r for r in await rows(engine, invoices) if r["subscriber_id"] == good]
    # a crash after the attempt was recorded, before Stripe answered
    async with engine.begin() as conn:
        await bs.insert_payment(
            conn,
            {
                "invoice_id": inv["id"],
                "method": "stripe",
                "status": "pending",
                "amount": inv["total"],
                "currency": "NOK",
                "attempt": 1,
                "idempotency_key": f"evgate-invoice-{inv['id']}-attempt-1",
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
    await sp.charge_period(engine, "2026-10")
    mine = [p for p in await rows(engine, payments) if p["invoice_id"] == inv["id"]]
    assert [(p["attempt"], p["status"]) for p in mine] == [(1, "succeeded")]


async def test_webhook_events_update_payment_state(engine: AsyncEngine, localstripe: str) -> None:
    sp = StripePayments(settings(localstripe))
    w, good, _ = await billed_world(engine)
    await run_billing(engine, RunOptions("2026-10", now=NOW))
    (inv,) = [r for r in await rows(engine, invoices) if r["subscriber_id"] == good]
    async with engine.begin() as conn:
        pid = await bs.insert_payment(
            conn,
            {
                "invoice_id": inv["id"],
                "method": "stripe",
                "status": "pending",
                "amount": inv["total"],
                "currency": "NOK",
                "attempt": 1,
                "idempotency_key": "k1",
                "stripe_payment_intent_id": "pi_webhook",
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
    event = {"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_webhook"}}}
    assert await apply_event(engine, event) == "applied"
    async with engine.connect() as conn:
        assert (await bs.payment_by_id(conn, pid))["status"] == "succeeded"
        assert (await bs.get_invoice(conn, inv["id"]))["state"] == "paid"
    del sp, w


def test_signature_scheme() -> None:
    body = json.dumps({"type": "payment_intent.succeeded"}).encode()
    header = sign(body, "whsec_x", 1_800_000_000)
    verify(body, header, "whsec_x", now=1_800_000_100)
    with pytest.raises(SignatureError, match="does not match"):
        verify(body + b" ", header, "whsec_x", now=1_800_000_100)
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, header, "whsec_other", now=1_800_000_100)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(body, header, "whsec_x", now=1_800_000_000 + 301)
    with pytest.raises(SignatureError, match="missing"):
        verify(body, None, "whsec_x")
    # the stripe library accepts what we sign (same scheme)
    stripe.WebhookSignature.verify_header(
        body.decode(), sign(body, "whsec_x", int(time.time())), "whsec_x"
    )


async def post_event(http: httpx.AsyncClient, event: dict[str, object]) -> str:
    """A webhook delivery as Stripe sends it: signed with the endpoint secret."""
    body = json.dumps(event).encode()
    header = sign(body, "whsec_test", int(time.time()))
    r = await http.post(
        "/api/v1/stripe/webhook", content=body, headers={"Stripe-Signature": header}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["result"])


def intent_event(event_id: str, kind: str, intent_id: str) -> dict[str, object]:
    obj: dict[str, object] = {"id": intent_id, "object": "payment_intent"}
    if kind == "payment_intent.payment_failed":
        obj["last_payment_error"] = {"message": "Your card was declined."}
    return {"id": event_id, "type": kind, "data": {"object": obj}}


async def trail(engine: AsyncEngine) -> tuple[list[str], list[str]]:
    """The invoice events and the audit actions so far."""
    async with engine.connect() as conn:
        events = [r[0] for r in await conn.execute(select(outbox.c.kind).order_by(outbox.c.id))]
        actions = [
            r[0] for r in await conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))
        ]
    return [e for e in events if e.startswith("invoice_")], actions


async def test_late_or_repeated_webhooks_never_unpay(engine: AsyncEngine, localstripe: str) -> None:
    sp = StripePayments(settings(localstripe))
    w, good, bad = await billed_world(engine)
    await sp.set_payment_method(engine, good, await card(sp, "4242424242424242"))

    async def payer(engine: AsyncEngine, period: str) -> None:
        await sp.charge_period(engine, period)

    await run_billing(engine, RunOptions("2026-10", now=NOW), payer=payer)
    inv = {r["subscriber_id"]: r for r in await rows(engine, invoices)}
    paid = inv[good]
    assert paid["state"] == "paid"
    (ok,) = [p for p in await rows(engine, payments) if p["invoice_id"] == paid["id"]]
    intent = ok["stripe_payment_intent_id"]
    app = create_app(engine)
    app.state.billing_stripe = settings(localstripe)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://evgate")
    async with http:
        before = await trail(engine)
        succeeded = intent_event("evt_1", "payment_intent.succeeded", intent)
        assert await post_event(http, succeeded) == "already applied"  # the call said so
        assert await post_event(http, succeeded) == "already applied"  # a redelivery
        failed = intent_event("evt_2", "payment_intent.payment_failed", intent)
        assert await post_event(http, failed) == "already applied"  # after success: stale
        (after,) = [r for r in await rows(engine, invoices) if r["id"] == paid["id"]]
        assert (after["state"], after["paid_amount"]) == ("paid", paid["total"])
        (still,) = [p for p in await rows(engine, payments) if p["invoice_id"] == paid["id"]]
        assert (still["status"], still["failure"]) == ("succeeded", None)
        assert await trail(engine) == before  # nothing applied: no event, no audit entry

        # an attempt still pending: a failure, then (a later confirmation) success, then
        # the failure delivered again: failed, paid, and paid it stays
        other = inv[bad]
        async with engine.begin() as conn:
            pid = await bs.insert_payment(
                conn,
                {
                    "invoice_id": other["id"],
                    "method": "stripe",
                    "status": "pending",
                    "amount": other["total"],
                    "currency": "NOK",
                    "attempt": 1,
                    "idempotency_key": "k-late",
                    "stripe_payment_intent_id": "pi_late",
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            )
        late_fail = intent_event("evt_3", "payment_intent.payment_failed", "pi_late")
        assert await post_event(http, late_fail) == "applied"
        assert await post_event(http, late_fail) == "already applied"
        async with engine.connect() as conn:
            assert (await bs.payment_by_id(conn, pid))["status"] == "failed"
            assert (await bs.get_invoice(conn, other["id"]))["state"] == "issued"
        late_ok = intent_event("evt_4", "payment_intent.succeeded", "pi_late")
        assert await post_event(http, late_ok) == "applied"
        assert await post_event(http, late_fail) == "already applied"
        async with engine.connect() as conn:
            assert (await bs.payment_by_id(conn, pid))["status"] == "succeeded"
            again = await bs.get_invoice(conn, other["id"])
            assert again is not None
            assert (again["state"], again["paid_amount"]) == ("paid", other["total"])
        events, actions = await trail(engine)
        assert events[len(before[0]) :] == ["invoice_paid"]
        assert actions[len(before[1]) :] == ["payment.failed", "payment.succeeded", "invoice.paid"]
    del w
