"""Bank giro payments and payment reports over HTTP: parse, call services.payments, answer.

``POST /payments/ocr`` takes a Nets OCR Giro file as a multipart upload (field ``file``);
``?site=`` scopes its KIDs to one site. Reports answer integers in minor units.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Principal, Reader, SuperAdmin, Writer
from config.api.context import reading, transaction
from config.api.types import IdPath, Text
from services import payments as service

router = APIRouter(prefix="/api/v1", tags=["payments"])

_SITE = r"^[^\x00-\x1f/?#% ]+$"
SiteQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=_SITE, description="a site id")
]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_number: Text = Field(min_length=1, max_length=64, examples=["OSL-000001"])


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field("", max_length=200)


def _import_scope(who: Principal) -> service.Authorize:
    def check(site_id: str | None) -> None:
        if site_id is None:
            who.check_super("only a super-admin may match a file's KIDs on every site: give site")
        else:
            who.check_read(site_id)
            who.check_write(site_id)

    return check


@router.post(
    "/payments/ocr",
    summary="import a Nets OCR Giro file (multipart field `file`): payments by KID, the rest "
    "unmatched; the same file again records nothing",
)
async def import_ocr(
    request: Request, file: UploadFile, who: Writer, site: SiteQuery = None
) -> dict[str, Any]:
    data = await file.read()  # bounded by the API's body limit (config/api/guard.py)
    async with transaction(request) as conn:
        return await service.import_ocr(
            conn,
            data,
            site_id=site,
            filename=file.filename or "",
            actor=who.actor,
            authorize=_import_scope(who),
        )


@router.post(
    "/payments/unmatched/{unmatched_id}/assign",
    summary="pay an invoice with an unmatched payment (super-admin)",
)
async def assign(
    request: Request, unmatched_id: IdPath, body: AssignIn, who: SuperAdmin
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await service.assign_unmatched(
            conn, unmatched_id, body.invoice_number, actor=who.actor
        )


@router.post(
    "/payments/unmatched/{unmatched_id}/refund",
    summary="mark an unmatched payment to be refunded to its payer (super-admin)",
)
async def refund(
    request: Request, unmatched_id: IdPath, who: SuperAdmin, body: RefundIn | None = None
) -> dict[str, Any]:
    reason = body.reason if body is not None else ""
    async with transaction(request) as conn:
        return await service.refund_unmatched(conn, unmatched_id, reason, actor=who.actor)


@router.get(
    "/reports/payments",
    summary="payments received per month and method, per method and in total (minor units)",
)
async def payments_report(
    request: Request,
    who: Reader,
    site: SiteQuery = None,
    from_: Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    to: Annotated[date | None, Query(description="last day, YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    scope = who.visible_site(site)
    async with reading(request) as conn:
        return await service.payments_report(conn, scope, from_, to)


@router.get(
    "/reports/aging",
    summary="open invoices by days past due: current, 0-30, 31-60, 61-90, 90+ (minor units)",
)
async def aging_report(
    request: Request,
    who: Reader,
    site: SiteQuery = None,
    as_of: Annotated[date | None, Query(description="the day to age on (default today)")] = None,
) -> dict[str, Any]:
    scope = who.visible_site(site)
    async with reading(request) as conn:
        return await service.aging_report(conn, scope, as_of)


@router.get(
    "/reports/unmatched",
    summary="unmatched payments and the refunds to be paid out (minor units)",
)
async def unmatched_report(
    request: Request,
    who: Reader,
    site: SiteQuery = None,
    open_only: Annotated[bool, Query(alias="open", description="only what is still open")] = False,
) -> dict[str, Any]:
    scope = who.visible_site(site)
    async with reading(request) as conn:
        return await service.unmatched_report(conn, scope, open_only=open_only)
