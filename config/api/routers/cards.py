"""Cards over HTTP: register one through Stripe's own form, retry a declined charge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from billing.stripe_payments import StripeSettings
from config.api.auth import Writer
from config.api.context import api_context
from config.api.types import IdPath, Text
from services import cards

router = APIRouter(prefix="/api/v1", tags=["cards"])
Number = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f/?#% ]+$")]


def _settings(request: Request) -> StripeSettings | None:
    found: StripeSettings | None = getattr(request.app.state, "billing_stripe", None)
    return found


@router.post(
    "/subscribers/{subscriber_id}/card-setup",
    status_code=201,
    summary="start registering a card: a Stripe SetupIntent for Stripe's own card form",
)
async def card_setup(request: Request, subscriber_id: IdPath, who: Writer) -> dict[str, Any]:
    engine = api_context(request).engine
    return await cards.start_card_setup(engine, _settings(request), who, subscriber_id)


@router.get(
    "/stripe/card-setup/return",
    summary="where Stripe's card form returns: the card, read back from Stripe, becomes default",
)
async def card_setup_return(
    request: Request,
    setup_intent: Annotated[Text, Query(min_length=5, max_length=100, pattern=r"^seti_\w+$")],
) -> dict[str, Any]:
    engine = api_context(request).engine
    return await cards.finish_card_setup(engine, _settings(request), setup_intent)


@router.post(
    "/invoices/{number}/charge", summary="charge a declined invoice's card again (super-admin)"
)
async def retry_charge(request: Request, number: Number, who: Writer) -> dict[str, Any]:
    return await cards.retry_card(api_context(request).engine, _settings(request), who, number)
