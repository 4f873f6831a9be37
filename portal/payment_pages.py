"""The portal's payment pages for site users: an OCR Giro file uploaded and its summary, the
unmatched payments (assigned to an invoice or marked to be refunded: a super-admin's), the
payment reports as tables and CSV; an invoice's page with its payments, a payment recorded
by hand and a credit note.

Each change is the API's use case (services.payments, services.billing) acting as the
signed-in user, with the API's own role checks; the reports are the API's reports.
"""

from __future__ import annotations

import csv
import hmac
import io
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from billing.lifecycle import amount_due
from billing.money import format_amount
from billing.payments import fees_of
from portal import i18n
from portal.web import (
    CSRF_COOKIE,
    ROUTER,
    CsrfRefused,
    engine,
    form,
    local_path,
    page,
    redirect,
    render,
    user,
)
from services import billing, cards, payments, portal_auth
from services.context import Actor
from store import admin
from store import billing_store as bs
from store.errors import Invalid, NotFound

MAX_OCR = 4 * 1024 * 1024  # a month of a site's giro payments is far less
REPORTS = ("payments", "aging", "refunds")


def _today(request: Request) -> date:
    now: datetime = getattr(request.app.state, "billing_now", None) or datetime.now(UTC)
    return now.date()


async def _site(request: Request, site_id: str) -> tuple[Actor, str, dict[str, Any]]:
    me = await user(request)
    actor = portal_auth.actor_of(me)
    actor.check_read(site_id)
    async with engine(request).connect() as conn:
        site = await admin.get_site(conn, site_id)
    return actor, i18n.language_of(me.get("language")), site


def _label(lang: str, prefix: str, value: str | None) -> str:
    """The words for a value (a method, a reason), else the value as stored."""
    key = f"{prefix}_{value}"
    return i18n.text(lang, key) if key in i18n.CATALOG["en"] else str(value or "")


async def _upload(request: Request) -> tuple[dict[str, str], bytes, str]:
    """A multipart form's fields and its one file, after the same CSRF check as ``form``."""
    async with request.form(max_files=1, max_fields=10, max_part_size=MAX_OCR) as got:
        fields = {k: v for k, v in got.items() if isinstance(v, str)}
        upload = got.get("file")
        data, name = b"", ""
        if upload is not None and not isinstance(upload, str):
            data, name = await upload.read(MAX_OCR + 1), upload.filename or ""
    cookie, sent = request.cookies.get(CSRF_COOKIE, ""), fields.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRefused()
    if len(data) > MAX_OCR:
        raise Invalid(f"the file is larger than {MAX_OCR // (1024 * 1024)} MiB: is it OCR Giro?")
    return fields, data, name


# --- OCR Giro import -----------------------------------------------------------------------


@ROUTER.get("/sites/{site_id}/payments")
@page
async def payments_page(request: Request, site_id: str) -> Response:
    actor, _lang, site = await _site(request, site_id)
    return await _payments(request, actor, site, None, None)


async def _payments(
    request: Request,
    actor: Actor,
    site: dict[str, Any],
    summary: dict[str, Any] | None,
    error: str | None,
    status: int = 200,
) -> Response:
    return await render(
        request,
        "payments.html",
        status=status,
        site=site,
        section="payments",
        tab="import",
        summary=summary,
        error=error,
        may_import=actor.can_write(site["id"]) and actor.role != "viewer",
    )


@ROUTER.post("/sites/{site_id}/payments/ocr")
@page
async def import_ocr(request: Request, site_id: str) -> Response:
    _fields, data, name = await _upload(request)
    actor, lang, site = await _site(request, site_id)
    actor.check_write(site_id)
    if not data:
        return await _payments(request, actor, site, None, i18n.text(lang, "ocr_no_file"), 422)

    def authorize(scope: str | None) -> None:  # the API's rule: this site, read and write
        actor.check_read(scope)
        actor.check_write(scope)

    async with engine(request).begin() as conn:
        summary = await payments.import_ocr(
            conn, data, site_id=site_id, filename=name, actor=actor.label, authorize=authorize
        )
    return await _payments(request, actor, site, summary, None)


# --- unmatched payments --------------------------------------------------------------------


@ROUTER.get("/sites/{site_id}/payments/unmatched")
@page
async def unmatched_page(request: Request, site_id: str) -> Response:
    actor, lang, site = await _site(request, site_id)
    async with engine(request).connect() as conn:
        report = await payments.unmatched_report(conn, site_id)
    rows = sorted(report["items"], key=lambda r: (r["state"] != "open", -int(r["id"])))
    for r in rows:
        r["reason_text"] = _label(lang, "reason", r["reason"])
    return await render(
        request,
        "payments_unmatched.html",
        site=site,
        section="payments",
        tab="unmatched",
        rows=rows,
        may_resolve=actor.is_super,
        done=request.query_params.get("done"),
    )


async def _resolve_form(request: Request) -> tuple[dict[str, str], Actor, str]:
    fields = await form(request)
    me = await user(request)
    actor = portal_auth.actor_of(me)
    actor.check_super(i18n.text(i18n.language_of(me.get("language")), "only_super_payments"))
    return fields, actor, local_path(fields.get("next"), "/")


@ROUTER.post("/payments/unmatched/{unmatched_id}/assign")
@page
async def assign(request: Request, unmatched_id: int) -> Response:
    fields, actor, back = await _resolve_form(request)
    number = fields.get("invoice_number", "").strip()
    if not number:
        raise Invalid("give the number of the invoice this payment pays")
    async with engine(request).begin() as conn:
        await payments.assign_unmatched(conn, unmatched_id, number, actor=actor.label)
    return redirect(f"{back}?done={unmatched_id}")


@ROUTER.post("/payments/unmatched/{unmatched_id}/refund")
@page
async def refund(request: Request, unmatched_id: int) -> Response:
    fields, actor, back = await _resolve_form(request)
    async with engine(request).begin() as conn:
        await payments.refund_unmatched(
            conn, unmatched_id, fields.get("reason", ""), actor=actor.label
        )
    return redirect(f"{back}?done={unmatched_id}")


# --- reports -------------------------------------------------------------------------------


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} {value!r} is not a date: write it as YYYY-MM-DD") from None


async def _reports(request: Request, site_id: str) -> dict[str, Any]:
    start = _day(request.query_params.get("from"), "from")
    end = _day(request.query_params.get("to"), "to")
    async with engine(request).connect() as conn:
        received = await payments.payments_report(conn, site_id, start, end)
        aging = await payments.aging_report(conn, site_id, _today(request))
        unmatched = await payments.unmatched_report(conn, site_id)
    return {"received": received, "aging": aging, "refunds": unmatched["refunds"]}


@ROUTER.get("/sites/{site_id}/payments/reports")
@page
async def reports_page(request: Request, site_id: str) -> Response:
    _actor, lang, site = await _site(request, site_id)
    found = await _reports(request, site_id)
    return await render(
        request,
        "payments_reports.html",
        site=site,
        section="payments",
        tab="reports",
        method_name=lambda m: _label(lang, "method", m),
        bucket_name=lambda b: i18n.text(lang, "bucket_current") if b == "current" else b,
        query=request.url.query,
        start=request.query_params.get("from", ""),
        end=request.query_params.get("to", ""),
        **found,
    )


def csv_rows(name: str, found: dict[str, Any]) -> list[list[str]]:
    """A report as CSV rows, amounts in major units with a point ("123.45"), as the API's
    run CSV writes them."""
    if name == "payments":
        head = ["period", "method", "currency", "count", "amount"]
        body = [
            [
                r["period"],
                r["method"],
                r["currency"],
                str(r["count"]),
                format_amount(r["amount"], r["currency"]),
            ]
            for r in found["received"]["periods"]
        ]
    elif name == "aging":
        head = [
            "number",
            "subscriber",
            "state",
            "kid",
            "currency",
            "due_date",
            "days_past_due",
            "bucket",
            "amount_due",
        ]
        body = [
            [
                r["number"],
                r["subscriber"],
                r["state"],
                r["kid"] or "",
                r["currency"],
                r["due_date"],
                str(r["days_past_due"]),
                r["bucket"],
                format_amount(r["amount_due"], r["currency"]),
            ]
            for r in found["aging"]["invoices"]
        ]
    else:
        head = [
            "refund_id",
            "unmatched_id",
            "kid",
            "currency",
            "amount",
            "payer_account",
            "reason",
            "state",
            "created_at",
        ]
        body = [
            [
                str(r["id"]),
                str(r["unmatched_id"] or ""),
                r["kid"] or "",
                r["currency"],
                format_amount(r["amount"], r["currency"]),
                r["payer_account"] or "",
                r["reason"] or "",
                r["state"],
                r["created_at"] or "",
            ]
            for r in found["refunds"]
        ]
    return [head, *body]


@ROUTER.get("/sites/{site_id}/payments/reports/{name}.csv")
@page
async def report_csv(request: Request, site_id: str, name: str) -> Response:
    await _site(request, site_id)
    if name not in REPORTS:
        raise NotFound(f"no report {name!r}: one of {', '.join(REPORTS)}")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        csv_rows(name, await _reports(request, site_id))
    )
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{site_id}-{name}.csv"'},
    )


# --- an invoice: its payments, a payment by hand, a credit note ------------------------------


async def _invoice(request: Request, number: str) -> tuple[Actor, dict[str, Any]]:
    actor = portal_auth.actor_of(await user(request))
    async with engine(request).connect() as conn:
        inv = await bs.get_invoice(conn, number)
    if inv is None or inv["state"] == "draft" or not inv["number_text"]:
        raise NotFound(f"no invoice {number!r}")
    actor.check_read(inv["site_id"])
    return actor, inv


@ROUTER.get("/invoices/{number}")
@page
async def invoice_page(request: Request, number: str) -> Response:
    actor, inv = await _invoice(request, number)
    lang = i18n.language_of((await user(request)).get("language"))
    async with engine(request).connect() as conn:
        site = await admin.get_site(conn, inv["site_id"])
        sub = await bs.get_subscriber(conn, int(inv["subscriber_id"]))
        paid = [p for p in await bs.payments_of(conn, int(inv["id"])) if p["status"] == "succeeded"]
        notes = await bs.credit_notes_of(conn, int(inv["id"]))
        fees = await fees_of(conn, int(inv["id"]))  # reminder fees are owed too
    due = amount_due(int(inv["total"]), int(inv["paid_amount"]), int(inv["credited_amount"]), fees)
    done = request.query_params.get("done", "")
    message = i18n.text(lang, "payment_recorded") if done == "payment" else None
    if done.startswith("credit:"):
        message = i18n.text(lang, "credit_issued", number=done.removeprefix("credit:"))
    return await render(
        request,
        "invoice.html",
        site=site,
        section="invoices",
        invoice=inv,
        subscriber=sub,
        due=due,
        due_major=format_amount(max(due, 0), inv["currency"]),
        payments=paid,
        notes=notes,
        method_name=lambda m: _label(lang, "method", m),
        may_write=actor.can_write(inv["site_id"]) and actor.role != "viewer",
        message=message,
        today=_today(request).isoformat(),
    )


def _writable(actor: Actor) -> billing.Authorize:
    def check(site_id: str) -> None:
        actor.check_read(site_id)
        actor.check_write(site_id)

    return check


@ROUTER.post("/invoices/{number}/payments")
@page
async def add_payment(request: Request, number: str) -> Response:
    fields = await form(request)
    actor, _inv = await _invoice(request, number)
    paid_on = _day(fields.get("paid_on"), "the date") or _today(request)
    async with engine(request).begin() as conn:
        await billing.record_offline_payment(
            conn,
            number,
            fields.get("amount", "").strip().replace(",", "."),
            paid_on,
            fields.get("reference", "").strip()[:200],
            actor=actor.label,
            authorize=_writable(actor),
        )
    return redirect(f"/invoices/{number}?done=payment")


@ROUTER.post("/invoices/{number}/credit-notes")
@page
async def credit_note(request: Request, number: str) -> Response:
    fields = await form(request)
    actor, _inv = await _invoice(request, number)
    raw = fields.get("amount", "").strip().replace(",", ".")
    async with engine(request).begin() as conn:
        note = await billing.credit_invoice(
            conn,
            number,
            raw or None,
            fields.get("reason", "").strip()[:200],
            actor=actor.label,
            authorize=_writable(actor),
        )
    if note["refund"] is not None:  # committed: now Stripe may be asked (its key makes it once)
        await cards.send_refunds(
            engine(request), getattr(request.app.state, "billing_stripe", None)
        )
    return redirect(f"/invoices/{number}?done=credit:{note['number']}")
