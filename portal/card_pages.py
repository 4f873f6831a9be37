"""A subscriber's payment method on "my page": the card Stripe holds (brand, last four), or
the bank details to pay to (the site's account, each open invoice's KID); registering a card
with Stripe's own card field (Stripe.js), never a card form of ours.

"Register card" asks the API's use case for a SetupIntent (services.cards); the page mounts
Stripe's card Element, which sends the card to Stripe and confirms the SetupIntent in the
browser; the browser then comes back to ``/stripe/card-setup/return``, where evgate reads the
SetupIntent back from Stripe (the query proves nothing) and makes its card the default.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from billing import parties
from billing.errors import BillingError
from billing.stripe_payments import StripeSettings
from portal.web import ROUTER, base_url, engine, form, page, redirect, render, subscriber
from services import cards
from store import billing_store as bs

STRIPE_JS = "https://js.stripe.com/v3/"
RETURN_PATH = "/stripe/card-setup/return"


def _stripe(request: Request) -> StripeSettings | None:
    found: StripeSettings | None = getattr(request.app.state, "billing_stripe", None)
    return found


def stripe_js(settings: StripeSettings) -> str:
    """Stripe.js; against a test double at ``api_base`` (localstripe) its stand-in."""
    return f"{settings.api_base.rstrip('/')}/js.stripe.com/v3/" if settings.api_base else STRIPE_JS


async def payment_method(
    request: Request, sub: dict[str, Any], invoices: list[dict[str, Any]]
) -> dict[str, Any]:
    """What my page shows under "Payment method"."""
    settings = _stripe(request)
    card = await cards.card_of(engine(request), settings, int(sub["id"]))
    async with engine(request).connect() as conn:
        seller = await bs.get_seller(conn, str(sub["site_id"])) or {}
        fresh = await bs.get_subscriber(conn, int(sub["id"])) or {}
    expiry = ""
    if card and card.get("exp_month") and card.get("exp_year"):
        expiry = f"{int(card['exp_month']):02d}/{int(card['exp_year']) % 100:02d}"
    return {
        "by_card": fresh.get("payment_method") == "stripe" and card is not None,
        "card": card,
        "brand": str((card or {}).get("brand") or "").capitalize(),
        "expiry": expiry,
        "may_register": settings is not None and bool(settings.publishable_key),
        "accounts": parties.account_text(seller),
        "kids": [
            (i["number_text"], i["kid"])
            for i in invoices
            if i["state"] in ("issued", "overdue") and i.get("kid")
        ],
        "saved": request.query_params.get("card") == "saved",
    }


@ROUTER.post("/my/card")
@page
async def start(request: Request) -> Response:
    await form(request)
    sub = await subscriber(request)
    setup = await cards.start_own_card_setup(engine(request), _stripe(request), int(sub["id"]))
    settings = _stripe(request)
    assert settings is not None  # start_own_card_setup refused otherwise
    return await render(
        request,
        "card.html",
        setup=setup,
        stripe_js=stripe_js(settings),
        return_url=base_url(request) + RETURN_PATH,
    )


@ROUTER.get(RETURN_PATH)
@page
async def finish(request: Request) -> Response:
    intent = request.query_params.get("setup_intent", "")
    if not intent.startswith("seti_") or len(intent) > 100 or not intent[5:].isalnum():
        raise BillingError("Stripe's return carries no setup_intent=seti_...: start again")
    await cards.finish_card_setup(engine(request), _stripe(request), intent)
    return redirect("/my?card=saved")
