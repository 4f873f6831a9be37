"""A subscriber's payment method on my page, against localstripe: the bank details (the
site's account, each open invoice's KID) until a card is registered; "Register card" makes
the API's SetupIntent and a page with Stripe's card field; the return reads the SetupIntent
back from Stripe and my page shows the card."""

from __future__ import annotations

import re

import pytest

from billing.stripe_payments import StripePayments, StripeSettings
from services.billing import set_seller
from store import billing_store as bs
from tests.integration.portal.conftest import Portal, seed_billing
from tests.integration.portal.test_portal_my_page import follow, link_for
from tests.integration.test_billing_stripe import card, localstripe

__all__ = ["localstripe"]
pytestmark = pytest.mark.stripe


def stripe_settings(base: str) -> StripeSettings:
    return StripeSettings("sk_test_evgate", "whsec_test", base, "pk_test_evgate")


async def test_a_subscriber_registers_a_card_from_my_page(portal: Portal, localstripe: str) -> None:
    portal.app.state.billing_stripe = stripe_settings(localstripe)
    seeded = await seed_billing(portal.env)
    async with portal.env.engine.begin() as conn:
        await set_seller(conn, "S1", {"account": "86011117947"}, actor="t")
        inv = await bs.get_invoice(conn, seeded["invoice"])
    assert inv is not None
    await follow(portal, await link_for(portal, seeded["subscriber"]))
    page = await portal.client.get("/my")
    assert "Betalingsmåte" in page.text and "Du betaler med bankoverføring" in page.text
    assert '<td data-testid="pay-account">8601.11.17947</td>' in page.text
    assert f'<td data-testid="kid-{seeded["invoice"]}">{inv["kid"]}</td>' in page.text
    r = await portal.post("/my/card", {}, from_page="/my")
    assert r.status_code == 200, r.text
    secret = re.search(r'data-secret="(seti_\w+_secret_\w+)"', r.text)
    assert secret and 'data-key="pk_test_evgate"' in r.text
    assert f'<script src="{localstripe}/js.stripe.com/v3/"></script>' in r.text
    assert 'data-return="http://evgate.test/stripe/card-setup/return"' in r.text
    intent = secret[1].split("_secret_")[0]
    back = f"/stripe/card-setup/return?setup_intent={intent}"
    r = await portal.client.get(back)  # before Stripe confirmed it: nothing registered
    assert r.status_code == 422 and "not registered" in r.text
    # what Stripe.js does in the browser with the card field's card (the browser test drives
    # localstripe's Stripe.js stand-in itself)
    sp = StripePayments(stripe_settings(localstripe))
    await sp.client.v1.setup_intents.confirm_async(
        intent, params={"payment_method": await card(sp, "4242424242424242")}
    )
    r = await portal.client.get(back)
    assert r.status_code == 303 and r.headers["location"] == "/my?card=saved"
    page = await portal.client.get(r.headers["location"])
    assert "Kortet ditt er registrert" in page.text
    assert re.search(
        r'data-testid="card">Visa-kort som slutter på 4242, utløper \d\d/\d\d<', page.text
    )
    assert "Bytt kort" in page.text and "bankoverføring" not in page.text
    async with portal.env.engine.connect() as conn:
        assert (await bs.get_subscriber(conn, seeded["subscriber"]))["payment_method"] == "stripe"
    r = await portal.client.get("/stripe/card-setup/return?setup_intent=seti_nope")
    assert r.status_code == 404


async def test_without_a_publishable_key_no_card_is_offered(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    await follow(portal, await link_for(portal, seeded["subscriber"]))
    page = await portal.client.get("/my")
    assert "Kortbetaling tilbys ikke her." in page.text and 'action="/my/card"' not in page.text
    assert "Stedet har ikke oppgitt kontoen sin ennå." in page.text
    r = await portal.post("/my/card", {}, from_page="/my")
    assert r.status_code == 422 and "EVGATE_STRIPE_API_KEY" in r.text
