"""AvtaleGiro and refunds over HTTP: a site's agreement, a subscriber's payment method, the
claim file, the bank's mandate file, a bank refund paid out, a credit balance refunded.

Thin: parse, call services.avtalegiro / services.refunds, answer. The claim file comes back
as the file itself (ISO-8859-1 text, as Nets takes it), its transmission in a header.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from billing.stripe_payments import StripeSettings
from config.api.auth import SuperAdmin, Writer
from config.api.context import api_context, transaction
from config.api.types import IdPath, SiteIdPath
from services import avtalegiro, refunds

router = APIRouter(prefix="/api/v1", tags=["payments"])

_SITE = r"^[^\x00-\x1f/?#% ]+$"
SiteQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=_SITE, description="a site id")
]


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_unit: str = Field(pattern=r"^\d{8}$", description="Nets' customer unit id")
    account: str = Field(min_length=11, max_length=13, description="the account claims pay into")
    agreement_id: str | None = Field(None, pattern=r"^\d{9}$", description="Nets' agreement id")


class PaymentMethodIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["manual", "avtalegiro", "vipps", "efaktura", "paper"]
    kid: str | None = Field(None, pattern=r"^\d{2,25}$", description="avtalegiro: the mandate's")
    notify: bool = Field(False, description="avtalegiro: the payer's bank notifies each claim")


@router.put("/sites/{site_id}/avtalegiro", summary="the site's AvtaleGiro agreement with Nets")
async def set_agreement(
    request: Request, site_id: SiteIdPath, body: AgreementIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await avtalegiro.set_agreement(
            conn,
            who,
            site_id,
            customer_unit=body.customer_unit,
            account=body.account,
            agreement_id=body.agreement_id,
        )


@router.put(
    "/subscribers/{subscriber_id}/payment-method",
    summary="how the subscriber pays (avtalegiro with its mandate's KID)",
)
async def set_payment_method(
    request: Request, subscriber_id: IdPath, body: PaymentMethodIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await avtalegiro.set_payment_method(
            conn, who, subscriber_id, body.method, kid=body.kid, notify=body.notify
        )


@router.post(
    "/sites/{site_id}/avtalegiro/claims",
    summary="the AvtaleGiro claim file of the site's open invoices not claimed yet (204: none)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def claim_file(
    request: Request,
    site_id: SiteIdPath,
    who: Writer,
    again: Annotated[bool, Query(description="claim again the ones still open")] = False,
) -> Response:
    async with transaction(request) as conn:
        done = await avtalegiro.write_claims(conn, who, site_id, again=again)
    if done["text"] is None:
        return Response(status_code=204)
    return Response(
        done["text"].encode("iso-8859-1"),
        media_type="text/plain; charset=iso-8859-1",
        headers={
            "X-Evgate-Transmission": done["transmission"],
            "X-Evgate-Claims": str(len(done["claims"])),
            "Content-Disposition": f'attachment; filename="avtalegiro-{done["transmission"]}.txt"',
        },
    )


@router.post(
    "/payments/avtalegiro/mandates",
    summary="read the bank's AvtaleGiro mandate file (multipart field `file`); once per file",
)
async def import_mandates(
    request: Request, file: UploadFile, who: Writer, site: SiteQuery = None
) -> dict[str, Any]:
    data = await file.read()  # bounded by the API's body limit (config/api/guard.py)
    async with transaction(request) as conn:
        return await avtalegiro.import_mandates(conn, who, data, site_id=site)


@router.post("/refunds/{refund_id}/paid", summary="mark a bank refund paid out (super-admin)")
async def refund_paid(request: Request, refund_id: IdPath, who: SuperAdmin) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await refunds.mark_paid_out(conn, who, refund_id)


@router.post(
    "/subscribers/{subscriber_id}/refund-balance",
    summary="refund the subscriber's credit balance: to the card that paid it, else by bank",
)
async def refund_balance(
    request: Request, subscriber_id: IdPath, who: SuperAdmin
) -> dict[str, Any]:
    stripe: StripeSettings | None = getattr(request.app.state, "billing_stripe", None)
    return await refunds.refund_balance(api_context(request).engine, stripe, who, subscriber_id)
