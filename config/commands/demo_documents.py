"""What `evgate demo` writes after the run: sample documents per language and a payment report.

In ``documents/`` of the demo's folder, for each document language (en, sv, nb, da, fr): an
invoice of the run, a credit note on it and its first reminder as PDF; a manual invoice; and
the EHF (Peppol BIS Billing 3.0) XML of the company subscriber's invoice, its credit note and
the manual invoice. Everything goes through the same use cases as the CLI and the API (a
credit note and a manual invoice are really issued, two invoices are really paid). The
reminder is drawn as the daily job would draw it once the invoice is overdue (its date is the
due date plus the site's interval); the demo does not wait for the due date to store one.
The report is the payment report use case's: payments received this month per method, and
what is still open and overdue.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from billing.documents import credit_note_pdf, invoice_pdf
from billing.manual import split_line
from billing.money import format_amount
from billing.reminder_pdf import reminder_pdf
from billing.views import pdf_inputs, render_pdf, ubl_of
from services import billing as billing_service
from services import payments as payment_service
from services.context import CLI
from services.manual_invoices import issue_manual_invoice
from store import billing_store as bs
from store.db import create_engine

LANGUAGES = ("en", "sv", "nb", "da", "fr")
MANUAL_LINES = ("Key card;2;50.00;25", "Garage spot, December;1;450.00;25")


async def write_documents(url: str, folder: Path, site_id: str, company: int) -> list[Path]:
    """The sample documents (see the module docstring); the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        written.append(folder / name)

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            issued = [
                i
                for i in await bs.list_invoices(conn, site_id=site_id)
                if i["number_text"] and i["kind"] == "automatic"
            ]
            settings = await billing_service.billing_settings(conn, site_id)
        if not issued:
            return written
        by_language = {lang: _pick(issued, lang, company) for lang in LANGUAGES}
        for lang, inv in by_language.items():
            async with engine.begin() as conn:  # a real partial credit note on it
                note = await billing_service.credit_invoice(
                    conn, inv["number_text"], "10.00", "Demo: a goodwill credit", actor="cli"
                )
            async with engine.connect() as conn:
                _, (row, lines, sub, site, seller, buyer) = await pdf_inputs(
                    conn, inv["number_text"]
                )
                shown = {**row, "language": lang}  # the invoice as its reader sees it
                put(f"invoice-{lang}.pdf", invoice_pdf(shown, lines, sub, site, seller, buyer))
                _, (cn, _inv, sub, site, seller, buyer) = await pdf_inputs(conn, note["number"])
                put(
                    f"credit-note-{lang}.pdf",
                    credit_note_pdf(cn, shown, sub, site, seller, buyer),
                )
                sent_at = row["due_at"] + timedelta(days=int(settings["reminder_interval_days"]))
                reminder = {"n": 1, "fee": int(settings["reminder_fee"]), "sent_at": sent_at}
                put(
                    f"reminder-{lang}.pdf",
                    reminder_pdf({**shown, "state": "overdue"}, reminder, [reminder], sub,
                                 site, seller),
                )  # fmt: skip
                if inv["subscriber_id"] == company:
                    put(f"invoice-{inv['number_text']}.xml", await ubl_of(conn, inv["number_text"]))
                    put(f"credit-note-{note['number']}.xml", await ubl_of(conn, note["number"]))
        async with engine.begin() as conn:
            manual = await issue_manual_invoice(
                conn, CLI, company, [split_line(text) for text in MANUAL_LINES]
            )
        async with engine.connect() as conn:
            put("invoice-manual.pdf", render_pdf(await pdf_inputs(conn, manual["number"])))
            put(f"invoice-manual-{manual['number']}.xml", await ubl_of(conn, manual["number"]))
    finally:
        await engine.dispose()
    return written


def _pick(issued: list[dict[str, Any]], lang: str, company: int) -> dict[str, Any]:
    """The invoice shown in ``lang`` (its reminder needs money owed: an unpaid one): the
    company's in Norwegian, else an unpaid one written in that language, else any unpaid
    one (drawn in that language), else the first."""
    unpaid = [i for i in issued if i["state"] in ("issued", "overdue")] or issued
    if lang == "nb":
        for inv in issued:
            if inv["subscriber_id"] == company:
                return inv
    return next((i for i in unpaid if i["language"] == lang), unpaid[0])


async def pay_some_and_report(url: str, site_id: str, today: date) -> list[str]:
    """Two invoices paid (a bank transfer and Vipps, recorded by hand), then the payment
    report of this month and the open and overdue totals, as lines to print."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            open_ = [
                i
                for i in await bs.list_invoices(conn, site_id=site_id)
                if i["state"] == "issued" and i["kind"] == "automatic"
            ]
        for inv, method in zip(open_[-2:], ("offline", "vipps"), strict=False):
            async with engine.begin() as conn:
                owed = int(inv["total"]) - int(inv["credited_amount"]) - int(inv["paid_amount"])
                await billing_service.record_offline_payment(
                    conn, inv["number_text"], owed, today, "demo", actor="cli", method=method
                )
        start = today.replace(day=1)
        async with engine.connect() as conn:
            received = await payment_service.payments_report(conn, site_id, start, today)
            aging = await payment_service.aging_report(conn, site_id, datetime.now(UTC).date())
    finally:
        await engine.dispose()
    out = [f"payments received {start:%Y-%m} (from {start} to {today}):"]
    for m in received["methods"]:
        amount = format_amount(m["amount"], m["currency"])
        out.append(f"  {m['method']:<10}{m['count']:>4}  {amount:>12} {m['currency']}")
    if not received["methods"]:
        out.append("  none")
    for t in aging["totals"]:
        overdue = sum(
            b["amount"]
            for b in aging["buckets"]
            if b["currency"] == t["currency"] and b["bucket"] != "current"
        )
        out.append(
            f"open: {t['count']} invoices, {format_amount(t['amount'], t['currency'])} "
            f"{t['currency']}; overdue: {format_amount(overdue, t['currency'])} {t['currency']}"
        )
    return out
