"""Subscribers over HTTP: parse, call services.subscribers, format (discount as a percent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from billing.parties import document_format
from config.api.auth import Principal, Reader, Writer
from config.api.context import api_context, reading, transaction
from config.api.output import percent
from config.api.types import IdPath, IdTag, IdTagPath, SiteIdPath, SiteIdQuery, Text
from services import subscribers
from store import billing_store
from store import subscribers as subscriber_store

router = APIRouter(prefix="/api/v1", tags=["subscribers"])

Email = Annotated[Text, Field(min_length=3, max_length=254, examples=["ola@example.no"])]
Language = Annotated[Text, Field(min_length=2, max_length=8, examples=["nb"])]
Name = Annotated[Text, Field(max_length=200)]


class Invitation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: Name = ""
    language: Language = "en"


class SubscriberChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    email: Email | None = None
    language: Language | None = None
    # avtalegiro takes a mandate: PUT /subscribers/{id}/payment-method
    payment_method: Literal["manual", "stripe", "vipps", "efaktura", "paper"] | None = None
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] | None = Field(
        None, description="days to pay an invoice; null: the site's default"
    )
    discount_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] | None = Field(
        None, examples=["15"]
    )

    def values(self) -> dict[str, Any]:
        out = self.model_dump(exclude_unset=True)
        for key in ("name", "email", "language", "payment_method", "discount_percent"):
            if key in out and out[key] is None:
                del out[key]  # these cannot be cleared, only changed
        if "discount_percent" in out:
            out["discount_bp"] = int(out.pop("discount_percent") * 100)
        return out


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_tag: IdTag


def subscriber_out(row: dict[str, Any], buyer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The subscriber, with the document format its invoices go out in (billing.parties:
    EHF for a company with an org number, unless it chose otherwise)."""
    return {
        **row,
        "discount_percent": percent(row["discount_bp"]),
        "document_format": document_format(buyer),
    }


async def _out(conn: Any, row: dict[str, Any]) -> dict[str, Any]:
    return subscriber_out(row, await billing_store.get_buyer(conn, row["id"]))


@router.post(
    "/sites/{site_id}/invitations",
    status_code=201,
    summary="invite a subscriber: returns the invitation token and the link to send",
)
async def invite(
    request: Request, site_id: SiteIdPath, body: Invitation, who: Writer
) -> dict[str, Any]:
    base = api_context(request).invitation_base_url or str(request.base_url).rstrip("/")
    async with transaction(request) as conn:  # the invitation's mail is queued with it
        return await subscribers.invite(
            conn, who, site_id, body.email, name=body.name, language=body.language, link_base=base
        )


@router.get("/subscribers", summary="subscribers this token may see")
async def list_subscribers(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
    state: Literal["invited", "active", "suspended", "cancelled"] | None = None,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        rows = await subscriber_store.list_subscribers(conn, site, state)
        buyers = await billing_store.buyers_of(conn, [r["id"] for r in rows])
    return [subscriber_out(r, buyers.get(r["id"])) for r in rows]


@router.get("/subscribers/{subscriber_id}", summary="a subscriber with its tokens")
async def get_subscriber(request: Request, subscriber_id: IdPath, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        return await _out(conn, await subscribers.readable(conn, who, subscriber_id))


@router.patch(
    "/subscribers/{subscriber_id}",
    summary="change name, e-mail, language, payment method, payment terms or discount",
)
async def update_subscriber(
    request: Request, subscriber_id: IdPath, body: SubscriberChange, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await _out(conn, await subscribers.update(conn, who, subscriber_id, body.values()))


async def _transition(
    request: Request, who: Principal, subscriber_id: int, action: str
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await _out(conn, await subscribers.transition(conn, who, subscriber_id, action))


@router.post("/subscribers/{subscriber_id}/suspend", summary="suspend: tokens get Blocked")
async def suspend(request: Request, subscriber_id: IdPath, who: Writer) -> dict[str, Any]:
    return await _transition(request, who, subscriber_id, "suspend")


@router.post("/subscribers/{subscriber_id}/reactivate", summary="reactivate a suspended one")
async def reactivate(request: Request, subscriber_id: IdPath, who: Writer) -> dict[str, Any]:
    return await _transition(request, who, subscriber_id, "reactivate")


@router.post("/subscribers/{subscriber_id}/cancel", summary="cancel (final)")
async def cancel(request: Request, subscriber_id: IdPath, who: Writer) -> dict[str, Any]:
    return await _transition(request, who, subscriber_id, "cancel")


@router.post(
    "/subscribers/{subscriber_id}/tokens", status_code=201, summary="give a subscriber a token"
)
async def add_token(
    request: Request, subscriber_id: IdPath, body: TokenIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await subscribers.add_token(conn, who, subscriber_id, body.id_tag)


@router.delete(
    "/subscribers/{subscriber_id}/tokens/{id_tag}",
    status_code=204,
    summary="remove a subscriber's token",
)
async def remove_token(
    request: Request,
    subscriber_id: IdPath,
    id_tag: IdTagPath,
    who: Writer,
) -> Response:
    async with transaction(request) as conn:
        await subscribers.remove_token(conn, who, subscriber_id, id_tag)
    return Response(status_code=204)
