"""Billing over HTTP: runs, the next-invoice estimate, invoices, payments, credit notes and
the Stripe webhook. Thin: it checks the caller's site, calls services/billing.py (where the
writes are audited in the token's name) or billing/ for reads, and shapes the answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from billing.errors import BillingError, NotFoundError, WebhookRefused
from billing.months import PeriodError
from billing.payments import find_invoice
from billing.run import estimate
from billing.stripe_payments import StripeSettings
from billing.views import invoice_public, list_public, pdf_of, ubl_of
from config.api.auth import Principal, Reader, Writer
from config.api.context import api_context, reading, transaction
from config.api.errors import http_exception
from config.api.types import MAX_BIGINT, IdPath, SiteIdPath, SiteIdQuery, SiteIdText, Text
from config.billing_jobs import BillingJobs
from services import billing as service
from services import cards
from store import billing_store as bs

router = APIRouter(prefix="/api/v1", tags=["billing"])
# an invoice or credit-note number: OSL-000001, CN-OSL-000001
Number = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f/?#% ]+$")]


class RunIn(BaseModel):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-10"])
    site_id: SiteIdText | None = None
    dry_run: bool = False


class PaymentIn(BaseModel):
    amount: Text = Field(max_length=24, examples=["1250.00"])
    date: date
    reference: Text = Field("", max_length=200)
    method: Literal["offline", "vipps", "efaktura", "paper"] = Field(
        "offline", description="how it was paid: a bank transfer, Vipps, eFaktura, a paper giro"
    )


class BillingSettingsIn(BaseModel):
    """Only the settings given change; fees are major-unit text ('70.00') or minor units."""

    model_config = ConfigDict(extra="forbid")

    kid_mode: Literal["mod10", "mod11"] | None = Field(
        None, description="the KID check digit of new invoices"
    )
    reminder_count: int | None = Field(None, ge=0, le=10, description="reminders per invoice")
    reminder_interval_days: int | None = Field(
        None, ge=1, le=365, description="days after the due date, and between reminders"
    )
    reminder_fee: Text | int | None = Field(
        None, description="fee per reminder, at most reminder_fee_cap"
    )
    reminder_fee_cap: Text | int | None = Field(
        None, description="the legal cap per reminder (super-admin); null: the currency's"
    )
    card_charge_at: Literal["issue", "due"] | None = Field(
        None, description="charge cards when the invoice is issued, or on its due date"
    )
    card_retries: int | None = Field(None, ge=0, le=10, description="retries of a declined card")
    card_retry_days: int | None = Field(None, ge=1, le=30, description="days between retries")
    fee_reminders: int | None = Field(
        None, ge=0, le=10, description="reminders that may carry a fee (super-admin); null: default"
    )


Short = Annotated[Text, Field(max_length=200)]


class SellerIn(BaseModel):
    """Any of the seller's details; checked by the seller's country (billing/parties.py)."""

    model_config = ConfigDict(extra="forbid")

    legal_name: Short | None = None
    street: Short | None = None
    postcode: Annotated[Text, Field(max_length=16)] | None = None
    city: Annotated[Text, Field(max_length=100)] | None = None
    country: Annotated[Text, Field(min_length=2, max_length=2, examples=["NO"])] | None = None
    orgnr: Annotated[Text, Field(max_length=32, examples=["923609016"])] | None = None
    vat_number: Annotated[Text, Field(max_length=40)] | None = Field(
        None, description="null: not VAT registered", examples=["NO923609016MVA"]
    )
    foretaksregisteret: bool | None = None
    f_skatt: bool | None = None
    account: Annotated[Text, Field(max_length=40)] | None = Field(
        None, description="a Norwegian 11-digit account number or an IBAN"
    )
    bic: Annotated[Text, Field(max_length=11)] | None = None
    invoice_email: Annotated[Text, Field(max_length=254)] | None = None


class BuyerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: Short | None = None
    postcode: Annotated[Text, Field(max_length=16)] | None = None
    city: Annotated[Text, Field(max_length=100)] | None = None
    country: Annotated[Text, Field(min_length=2, max_length=2, examples=["NO"])] | None = None
    orgnr: Annotated[Text, Field(max_length=32)] | None = None
    vat_number: Annotated[Text, Field(max_length=40)] | None = None
    buyer_reference: Annotated[Text, Field(max_length=100)] | None = None
    document_format: Literal["pdf", "ehf"] | None = Field(
        None, description="null: EHF for a company with an org number, else PDF"
    )


class CreditIn(BaseModel):
    amount: Text | None = Field(None, max_length=24, description="net; omit to credit all")
    reason: Text = Field("", max_length=200)
    pay_out: bool = Field(
        False, description="a bank payment made owed back: a refund to pay out, not a balance"
    )


def _fail(exc: Exception) -> HTTPException:
    return http_exception(exc)  # the one mapping: config/api/errors.py


def _writable(who: Principal) -> Callable[[str], None]:
    """The services' ``authorize``: a 403 unless the token may see and change the site."""

    def check(site_id: str) -> None:
        who.check_read(site_id)
        who.check_write(site_id)

    return check


def _stripe(request: Request) -> StripeSettings | None:
    # set by create_app from Settings (config.compose); tests may set their own
    configured: StripeSettings | None = getattr(request.app.state, "billing_stripe", None)
    return configured


@router.post(
    "/billing-runs",
    status_code=202,
    summary="bill a month in a process of its own (202 and the run's id); a dry run answers "
    "its report (200)",
    responses={200: {"description": "a dry run's report"}},
)
async def create_run(
    request: Request, response: Response, body: RunIn, who: Writer
) -> dict[str, Any]:
    if body.site_id is None and not who.is_super:
        raise HTTPException(403, "only a super-admin may bill every site: give site_id")
    who.check_write(body.site_id)
    jobs = _jobs(request)
    try:
        if body.dry_run:
            response.status_code = 200
            return await jobs.dry_run(body.period, body.site_id)
        run_id = await jobs.start(body.period, body.site_id, who.actor)
    except (BillingError, PeriodError) as exc:
        raise _fail(exc) from None
    response.headers["Location"] = f"/api/v1/billing-runs/{run_id}"
    return {"id": run_id, "state": "queued", "period": body.period, "site_id": body.site_id}


@router.get("/billing-runs/{run_id}", summary="a billing run: its state, progress and report")
async def get_run(request: Request, run_id: IdPath, who: Reader) -> dict[str, Any]:
    row = await _jobs(request).status(run_id)
    if row is None:
        raise HTTPException(404, f"no billing run {run_id}")
    if row["site_id"] is None:
        who.check_super()  # a run of every site is every site's business
    else:
        who.check_read(row["site_id"])
    return {
        "id": row["id"],
        "period": row["period"],
        "site_id": row["site_id"],
        "state": row["state"],  # queued | running | done | failed | abandoned
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "progress": row.get("progress"),
        "report": row["report"] or None,
    }


def _jobs(request: Request) -> BillingJobs:
    jobs: BillingJobs = request.app.state.billing_jobs
    return jobs


@router.get("/subscribers/{subscriber_id}/next-invoice", summary="this month's draft so far")
async def next_invoice(request: Request, subscriber_id: IdPath, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        sub = await bs.get_subscriber(conn, subscriber_id)
    if sub is None:
        raise HTTPException(404, f"no subscriber {subscriber_id}")
    who.check_read(sub["site_id"])
    # app.state.billing_now: a fixed clock for tests (None: now)
    now = getattr(request.app.state, "billing_now", None)
    draft = await estimate(api_context(request).engine, subscriber_id, now)
    assert draft is not None
    return {
        "subscriber_id": subscriber_id,
        "period": draft.period,
        "currency": draft.currency,
        "net": draft.net,
        "vat": draft.vat,
        "total": draft.total,
        "vat_breakdown": [
            {"vat_bp": g.vat_bp, "net": g.net, "vat": g.vat} for g in draft.vat_groups
        ],
        "lines": [
            {
                "kind": ln.kind,
                "description": ln.description,
                "session_id": ln.session_id,
                "charger_id": ln.charger_id,
                "stopped_at": ln.stopped_at.isoformat() if ln.stopped_at else None,
                "energy_wh": ln.energy_wh,
                "net": ln.net,
                "vat_bp": ln.vat_bp,
            }
            for ln in draft.lines
        ],
    }


@router.get("/invoices", summary="invoices with their lines (amounts in minor units)")
async def list_invoices(
    request: Request,
    who: Reader,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    site_id: SiteIdQuery = None,
    subscriber_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        return await list_public(conn, period=period, site_id=site, subscriber_id=subscriber_id)


async def _invoice(conn: Any, number: str, who: Any) -> dict[str, Any]:
    try:
        inv = await find_invoice(conn, number)
    except NotFoundError as exc:
        raise _fail(exc) from None
    who.check_read(inv["site_id"])
    return inv


@router.get("/invoices/{number}", summary="one invoice by number")
async def get_invoice(request: Request, number: Number, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        inv = await _invoice(conn, number, who)
        lines = (await bs.lines_of(conn, [inv["id"]]))[inv["id"]]
        out = invoice_public(inv, lines)
        out["payments"] = [
            {k: p[k] for k in ("method", "status", "amount", "paid_on", "reference", "failure")}
            for p in await bs.payments_of(conn, inv["id"])
        ]
        out["credit_notes"] = [
            {k: c[k] for k in ("number_text", "net", "vat", "total", "reason")}
            for c in await bs.credit_notes_of(conn, inv["id"])
        ]
    return out


@router.get(
    "/invoices/{number}/pdf",
    summary="the invoice (or CN-... credit note) as PDF; ?reminder=N: its Nth payment reminder",
)
async def get_pdf(
    request: Request,
    number: Number,
    who: Reader,
    reminder: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Response:
    async with reading(request) as conn:
        if not number.startswith("CN-"):
            await _invoice(conn, number, who)
        else:
            note = await bs.get_credit_note(conn, number)
            if note is None:
                raise HTTPException(404, f"no credit note {number!r}")
            inv = await bs.get_invoice(conn, int(note["invoice_id"]))
            who.check_read(inv["site_id"] if inv else None)
        data = await pdf_of(conn, number, reminder)
    return Response(data, media_type="application/pdf")


@router.get(
    "/sites/{site_id}/billing-settings",
    summary="the site's KID mode and dunning settings in force (legal defaults filled in)",
)
async def get_billing_settings(
    request: Request, site_id: SiteIdPath, who: Reader
) -> dict[str, Any]:
    who.check_read(site_id)
    async with reading(request) as conn:
        try:
            return await service.billing_settings(conn, site_id)
        except NotFoundError as exc:
            raise _fail(exc) from None


@router.get(
    "/invoices/{number}/ubl",
    summary="the invoice (or CN-... credit note) as EHF / Peppol BIS Billing 3.0 UBL",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
async def get_ubl(request: Request, number: Number, who: Reader) -> Response:
    async with reading(request) as conn:
        if not number.startswith("CN-"):
            await _invoice(conn, number, who)
        else:
            note = await bs.get_credit_note(conn, number)
            if note is None:
                raise HTTPException(404, f"no credit note {number!r}")
            inv = await bs.get_invoice(conn, int(note["invoice_id"]))
            who.check_read(inv["site_id"] if inv else None)
        data = await ubl_of(conn, number)
    return Response(data, media_type="application/xml")


@router.patch(
    "/sites/{site_id}/billing-settings",
    summary="change the site's KID mode, reminders and reminder fee (within the legal cap)",
)
async def set_billing_settings(
    request: Request, site_id: SiteIdPath, body: BillingSettingsIn, who: Writer
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    nullable = {"reminder_fee_cap", "fee_reminders"}  # null: back to the legal default
    changes = {k: v for k, v in changes.items() if v is not None or k in nullable}
    async with transaction(request) as conn:
        try:
            return await service.update_billing_settings(
                conn,
                site_id,
                changes,
                actor=who.actor,
                authorize=_writable(who),
                may_change_caps=who.is_super,
            )
        except (BillingError, NotFoundError) as exc:
            raise _fail(exc) from None


@router.get("/sites/{site_id}/seller", summary="the site's seller details for its invoices")
async def get_seller(request: Request, site_id: SiteIdPath, who: Reader) -> dict[str, Any]:
    who.check_read(site_id)
    async with reading(request) as conn:
        return await service.seller_details(conn, site_id)


@router.patch(
    "/sites/{site_id}/seller",
    summary="set the site's seller details: legal name, address, org and VAT numbers, bank "
    "account, invoice e-mail (checked by country; a 422 names the field)",
)
async def set_seller(
    request: Request, site_id: SiteIdPath, body: SellerIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await service.set_seller(
            conn,
            site_id,
            body.model_dump(exclude_unset=True),
            actor=who.actor,
            authorize=_writable(who),
        )


@router.put(
    "/sites/{site_id}/seller/logo",
    summary="set the logo at the top of the site's documents: the body is a PNG or JPEG "
    "(Content-Type image/png or image/jpeg), at most 512 KiB",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def set_seller_logo(request: Request, site_id: SiteIdPath, who: Writer) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in ("image/png", "image/jpeg"):
        raise HTTPException(415, "send the logo as image/png or image/jpeg")
    data = await request.body()
    async with transaction(request) as conn:
        return await service.set_seller_logo(
            conn, site_id, data, actor=who.actor, authorize=_writable(who)
        )


@router.delete("/sites/{site_id}/seller/logo", summary="remove the site's logo")
async def delete_seller_logo(request: Request, site_id: SiteIdPath, who: Writer) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await service.set_seller_logo(
            conn, site_id, None, actor=who.actor, authorize=_writable(who)
        )


@router.get("/subscribers/{subscriber_id}/buyer", summary="a subscriber's buyer details")
async def get_buyer(request: Request, subscriber_id: IdPath, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        sub = await bs.get_subscriber(conn, subscriber_id)
        if sub is None:
            raise HTTPException(404, f"no subscriber {subscriber_id}")
        who.check_read(sub["site_id"])
        return await service.buyer_details(conn, subscriber_id)


@router.patch(
    "/subscribers/{subscriber_id}/buyer",
    summary="set a subscriber's billing address and, for a company, org number, VAT number, "
    "buyer reference; its document format (pdf | ehf)",
)
async def set_buyer(
    request: Request, subscriber_id: IdPath, body: BuyerIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await service.set_buyer(
            conn,
            subscriber_id,
            body.model_dump(exclude_unset=True),
            actor=who.actor,
            authorize=_writable(who),
        )


@router.post("/invoices/{number}/payments", summary="record an offline payment")
async def add_payment(
    request: Request, number: Number, body: PaymentIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        try:
            done = await service.record_offline_payment(
                conn,
                number,
                body.amount,
                body.date,
                body.reference,
                actor=who.actor,
                authorize=_writable(who),
                method=body.method,
            )
        except (BillingError, NotFoundError) as exc:
            raise _fail(exc) from None
    return {
        "number": number,
        "state": done["state"],
        "paid": done["paid_amount"],
        "amount_due": done["amount_due"],
    }


@router.post("/invoices/{number}/credit-notes", summary="credit an invoice in full or in part")
async def credit(request: Request, number: Number, body: CreditIn, who: Writer) -> dict[str, Any]:
    async with transaction(request) as conn:
        try:
            note = await service.credit_invoice(
                conn,
                number,
                body.amount,
                body.reason,
                actor=who.actor,
                authorize=_writable(who),
                pay_out=body.pay_out,
            )
        except (BillingError, NotFoundError) as exc:
            raise _fail(exc) from None
    refund = note["refund"]
    bank = None
    if refund is not None and refund["method"] == "bank":
        bank = {"id": refund["id"], "amount": refund["amount"]}
        refund = refund.get("card")
    if refund is not None:  # committed: now Stripe may be asked (the key makes it once)
        await cards.send_refunds(api_context(request).engine, _stripe(request))
    return {k: note[k] for k in ("number", "net", "vat", "total")} | {
        "invoice_state": note["invoice"]["state"],
        "card_refund": None if refund is None else {"id": refund["id"], "amount": refund["amount"]},
        "bank_refund": bank,
    }


@router.post("/stripe/webhook", summary="Stripe events (signed with the endpoint secret)")
async def stripe_webhook(request: Request) -> dict[str, str]:
    try:
        result = await service.apply_stripe_webhook(
            api_context(request).engine,
            await request.body(),
            request.headers.get("stripe-signature"),
            _stripe(request),
        )
    except WebhookRefused as exc:
        raise HTTPException(400, str(exc)) from None
    return {"result": result}
