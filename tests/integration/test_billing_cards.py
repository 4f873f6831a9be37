"""Cards against localstripe: a subscriber registers one through a SetupIntent (Stripe's own
form; evgate reads the result back from Stripe), a credit note on a card-paid invoice refunds
the card once, a declined charge is retried by a super-admin and by the daily schedule, and a
site may charge on the due date instead of at issue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import RunOptions, run_billing
from billing.stripe_payments import StripePayments
from config.api import create_app
from services.billing import update_billing_settings
from store import api_tokens
from store import billing_store as bs
from store.billing_schema import invoices, payments
from store.payments_schema import refunds, stripe_events
from tests.integration.test_billing_stripe import (
    billed_world,
    card,
    localstripe,
    post_event,
    settings,
)
from tests.unit.billing.billing_testkit import NOW, World, local, rows

__all__ = ["localstripe"]
pytestmark = pytest.mark.stripe
OCT = RunOptions("2026-10", now=NOW)


class Client:
    """The API as a super-admin or site OSLO's admin (tokens made at the first call, once the
    test has made its site)."""

    def __init__(
        self, http: httpx.AsyncClient, tokens: dict[str, str], engine: AsyncEngine | None = None
    ) -> None:
        self.http, self.tokens, self.engine = http, tokens, engine

    async def call(self, role: str, method: str, path: str, body: Any = None) -> httpx.Response:
        if not self.tokens and self.engine is not None:
            async with self.engine.begin() as conn:
                self.tokens = {
                    "super": (await api_tokens.create_token(conn, "super-admin", None, "root"))[1],
                    "admin": (await api_tokens.create_token(conn, "admin", "OSLO", "oslo"))[1],
                }
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}
        return await self.http.request(method, path, json=body, headers=headers)


@pytest.fixture
async def api(engine: AsyncEngine, localstripe: str) -> AsyncIterator[Client]:
    app = create_app(engine, stripe=settings(localstripe))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        yield Client(http, {}, engine)


def payer(sp: StripePayments) -> Any:
    async def pay(engine: AsyncEngine, period: str) -> None:
        await sp.charge_period(engine, period)

    return pay


async def test_a_card_registered_through_a_setup_intent_pays_the_invoice(
    engine: AsyncEngine, localstripe: str
) -> None:
    sp = StripePayments(settings(localstripe))
    w = await World(engine).setup()
    sub = await w.subscriber("A")  # pays by hand until a card is registered
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    async with engine.begin() as conn:
        tokens = {"admin": (await api_tokens.create_token(conn, "admin", w.site, "oslo"))[1]}
    app = create_app(engine, stripe=settings(localstripe))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        api = Client(http, tokens)
        r = await api.call("admin", "POST", f"/api/v1/subscribers/{sub}/card-setup")
        assert r.status_code == 201, r.text
        setup = r.json()
        assert setup["setup_intent"].startswith("seti_") and "_secret_" in setup["client_secret"]
        # the return before the card was confirmed: nothing is registered
        back = f"/api/v1/stripe/card-setup/return?setup_intent={setup['setup_intent']}"
        r = await api.call("-", "GET", back)
        assert r.status_code == 422 and "not registered" in r.text
        # what Stripe.js does in the subscriber's browser: confirm with the card form's card
        await sp.client.v1.setup_intents.confirm_async(
            setup["setup_intent"], params={"payment_method": await card(sp, "4242424242424242")}
        )
        r = await api.call("-", "GET", back)
        assert r.status_code == 200, r.text
        assert r.json()["subscriber_id"] == sub and r.json()["payment_method"] == "stripe"
        r = await api.call("-", "GET", "/api/v1/stripe/card-setup/return?setup_intent=seti_nope")
        assert r.status_code == 404
    async with engine.connect() as conn:
        assert (await bs.get_subscriber(conn, sub))["payment_method"] == "stripe"
    await run_billing(engine, OCT, payer=payer(sp))
    (inv,) = await rows(engine, invoices)
    assert inv["state"] == "paid" and inv["payment_method"] == "stripe"


async def test_a_credit_note_on_a_card_paid_invoice_refunds_the_card_once(
    engine: AsyncEngine, api: Client, localstripe: str
) -> None:
    sp = StripePayments(settings(localstripe))
    w, good, _ = await billed_world(engine)
    await sp.set_payment_method(engine, good, await card(sp, "4242424242424242"))
    await run_billing(engine, OCT, payer=payer(sp))
    (paid,) = [r for r in await rows(engine, invoices) if r["subscriber_id"] == good]
    assert paid["state"] == "paid"
    number = paid["number_text"]
    r = await api.call(
        "admin", "POST", f"/api/v1/invoices/{number}/credit-notes", {"amount": "40.00"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["card_refund"]["amount"] == 5000  # 40.00 + 25 % VAT
    (refund,) = await rows(engine, refunds)
    assert refund["method"] == "stripe" and refund["state"] == "succeeded"
    assert refund["stripe_refund_id"].startswith("re_")
    on_stripe = await sp.client.v1.refunds.retrieve_async(refund["stripe_refund_id"])
    assert on_stripe.amount == 5000 and on_stripe.status == "succeeded"
    (after,) = [r for r in await rows(engine, invoices) if r["id"] == paid["id"]]
    assert after["paid_amount"] == paid["total"] - 5000 and after["state"] == "paid"
    # nothing is left to carry: the card got it back
    r = await api.call("admin", "GET", f"/api/v1/subscribers/{good}/balance")
    assert r.json()["balance"] == 0
    assert await sp.send_refunds(engine) == []  # sent once
    event = {
        "id": "evt_refund_1",
        "type": "charge.refunded",
        "data": {
            "object": {
                "refunds": {"data": [{"id": refund["stripe_refund_id"], "status": "succeeded"}]}
            }
        },
    }
    assert await post_event(api.http, event) == "already applied"  # the call said so
    assert await post_event(api.http, event) == "already applied"  # a redelivery
    assert [e["event_id"] for e in await rows(engine, stripe_events)] == ["evt_refund_1"]
    moved = [p["amount"] for p in await rows(engine, payments) if p["method"] == "refund"]
    assert moved == [-5000]


async def test_declined_cards_are_retried_by_hand_and_by_the_schedule(
    engine: AsyncEngine, api: Client, localstripe: str
) -> None:
    sp = StripePayments(settings(localstripe))
    w, _, bad = await billed_world(engine)
    await sp.set_payment_method(engine, bad, await card(sp, "4000000000000341"))
    async with engine.begin() as conn:
        await update_billing_settings(
            conn, w.site, {"card_retries": 2, "card_retry_days": 2}, actor="cli"
        )
    await run_billing(engine, OCT, payer=payer(sp))
    (declined,) = [r for r in await rows(engine, invoices) if r["subscriber_id"] == bad]
    number = declined["number_text"]
    assert (await api.call("admin", "POST", f"/api/v1/invoices/{number}/charge")).status_code == 403
    r = await api.call("super", "POST", f"/api/v1/invoices/{number}/charge")
    assert r.status_code == 200 and r.json()["status"] == "failed"

    def attempts() -> Any:
        return [
            p["attempt"]
            for p in pays
            if p["invoice_id"] == declined["id"] and p["method"] == "stripe"
        ]

    pays = await rows(engine, payments)
    assert attempts() == [1, 2]
    last = max(p["updated_at"] for p in pays if p["invoice_id"] == declined["id"])
    await sp.daily(engine, last + timedelta(days=1))  # too soon after attempt 2
    pays = await rows(engine, payments)
    assert attempts() == [1, 2]
    await sp.daily(engine, last + timedelta(days=2, minutes=1))
    pays = await rows(engine, payments)
    assert attempts() == [1, 2, 3]
    # the retries are used up (the first attempt and two more)
    await sp.daily(engine, last + timedelta(days=30))
    pays = await rows(engine, payments)
    assert attempts() == [1, 2, 3]
    await sp.set_payment_method(engine, bad, await card(sp, "4242424242424242"))
    r = await api.call("super", "POST", f"/api/v1/invoices/{number}/charge")
    assert r.json()["status"] == "succeeded"
    r = await api.call("super", "POST", f"/api/v1/invoices/{number}/charge")
    assert r.status_code == 422 and "paid" in r.text


async def test_a_site_may_charge_cards_on_the_due_date(
    engine: AsyncEngine, localstripe: str
) -> None:
    sp = StripePayments(settings(localstripe))
    w, good, _ = await billed_world(engine)
    await sp.set_payment_method(engine, good, await card(sp, "4242424242424242"))
    async with engine.begin() as conn:
        await update_billing_settings(conn, w.site, {"card_charge_at": "due"}, actor="cli")
    await run_billing(engine, OCT, payer=payer(sp))
    (inv,) = [r for r in await rows(engine, invoices) if r["subscriber_id"] == good]
    assert inv["state"] == "issued"  # not charged at issue
    assert (await sp.daily(engine, inv["due_at"] - timedelta(hours=1)))["charged"] == []
    charged = (await sp.daily(engine, inv["due_at"]))["charged"]
    assert sorted(c["status"] for c in charged) == ["failed", "succeeded"]  # B has no card
    (after,) = [r for r in await rows(engine, invoices) if r["id"] == inv["id"]]
    assert after["state"] == "paid"
