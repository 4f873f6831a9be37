"""Cards through Stripe, for the API, the CLI and the portal: a subscriber registers a card with
Stripe's own form, a super-admin retries a declined charge, card refunds are sent.

Without a Stripe key nothing here can reach Stripe: registering and retrying are refused with
the setting to set, and card refunds stay pending until a key is set (the daily job sends them).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import BillingError
from billing.stripe_payments import StripePayments, StripeSettings
from services.context import Actor
from store import billing_store as bs
from store import subscribers

log = logging.getLogger("evgate.cards")

NOT_CONFIGURED = "cards are not configured: set EVGATE_STRIPE_API_KEY"


def _stripe(settings: StripeSettings | None) -> StripePayments:
    if settings is None:
        raise BillingError(NOT_CONFIGURED)
    return StripePayments(settings)


async def start_card_setup(
    engine: AsyncEngine, settings: StripeSettings | None, actor: Actor, subscriber_id: int
) -> dict[str, Any]:
    """A SetupIntent whose client secret Stripe's card form (Stripe.js) confirms."""
    async with engine.connect() as conn:
        sub = await subscribers.get_subscriber(conn, subscriber_id)
    actor.check_write(sub["site_id"])
    return await _setup(engine, settings, sub)


async def start_own_card_setup(
    engine: AsyncEngine, settings: StripeSettings | None, subscriber_id: int
) -> dict[str, Any]:
    """The same SetupIntent, asked for by the subscriber on their own page (the portal's
    session proves who they are), with the publishable key Stripe.js needs."""
    async with engine.connect() as conn:
        sub = await subscribers.get_subscriber(conn, subscriber_id)
    found = await _setup(engine, settings, sub)
    assert settings is not None  # _setup refused otherwise
    if not settings.publishable_key:
        raise BillingError("cards cannot be registered here: set EVGATE_STRIPE_PUBLISHABLE_KEY")
    return {**found, "publishable_key": settings.publishable_key}


async def _setup(
    engine: AsyncEngine, settings: StripeSettings | None, sub: dict[str, Any]
) -> dict[str, Any]:
    if sub["state"] not in ("active", "suspended"):
        raise BillingError(f"subscriber {sub['id']} is {sub['state']}: no card to register")
    return await _stripe(settings).start_card_setup(engine, int(sub["id"]))


async def finish_card_setup(
    engine: AsyncEngine, settings: StripeSettings | None, setup_intent_id: str
) -> dict[str, Any]:
    """Stripe's form returned: the SetupIntent, read back from Stripe, says which card."""
    return await _stripe(settings).finish_card_setup(engine, setup_intent_id)


async def card_of(
    engine: AsyncEngine, settings: StripeSettings | None, subscriber_id: int
) -> dict[str, Any] | None:
    """The card a subscriber pays with (brand, last4, expiry, asked of Stripe: evgate keeps
    only the payment method's id), ``{}`` when Stripe cannot say now, None with no card."""
    async with engine.connect() as conn:
        customer = await bs.get_stripe_customer(conn, subscriber_id)
    if customer is None or not customer["payment_method_id"]:
        return None
    if settings is None:
        return {}
    try:
        return await StripePayments(settings).card_details(str(customer["payment_method_id"]))
    except stripe.StripeError as exc:
        log.warning("card details of subscriber %s: %s", subscriber_id, exc)
        return {}


async def retry_card(
    engine: AsyncEngine, settings: StripeSettings | None, actor: Actor, number: str
) -> dict[str, Any]:
    """Charge a declined invoice's card again now (a super-admin's call)."""
    actor.check_super("only a super-admin may retry a card charge")
    return await _stripe(settings).retry(engine, number)


async def send_refunds(
    engine: AsyncEngine, settings: StripeSettings | None
) -> list[dict[str, Any]]:
    """Send the card refunds credit notes recorded (none without a key: they wait)."""
    if settings is None:
        return []
    return await StripePayments(settings).send_refunds(engine)
