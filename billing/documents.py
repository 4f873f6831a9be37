"""Invoice and credit-note PDFs (fpdf2, core fonts) and the CSV export of a run (pure).

Input is plain data (the invoice row, its lines, subscriber and site rows); every session is
listed with its local date and time, charger, kWh, charging and parking time and amount.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fpdf import FPDF

from billing.labels import labels
from billing.money import format_amount

Row = Mapping[str, Any]


def _hm(seconds: int | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}"


def _local(dt: Any, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return "" if dt is None else dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _text(value: str) -> str:
    """Core fonts are latin-1: anything outside is replaced, never an exception."""
    return value.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: Row, lines: Sequence[Row], subscriber: Row, site: Row) -> bytes:
    t = labels(invoice.get("language") or subscriber.get("language") or "en")
    tz, cur = site["tz"], invoice["currency"]
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0,
        10,
        _text(f"{t['invoice']} {invoice.get('number_text') or ''}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=10)
    head = [
        (t["customer"], f"{subscriber.get('name') or ''} <{subscriber.get('email') or ''}>"),
        (t["period"], invoice["period"]),
        (t["date"], _local(invoice.get("issued_at"), tz)[:10]),
        (t["due"], _local(invoice.get("due_at"), tz)[:10]),
    ]
    if invoice.get("kid"):
        head.append((t["kid"], invoice["kid"]))
    for k, v in head:
        pdf.cell(0, 6, _text(f"{k}: {v}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (60, 40, 40, 25, 28, 28, 30)
    cols = (
        t["session"],
        t["date"],
        t["charger"],
        t["kwh"],
        t["charging"],
        t["parking"],
        f"{t['amount']} ({cur})",
    )
    pdf.set_font("Helvetica", "B", 9)
    for w, c in zip(widths, cols, strict=True):
        pdf.cell(w, 6, _text(c), border="B")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for ln in lines:
        if ln["kind"] == "session":
            name = f"#{ln['session_id']}" + (f" ({t['late']})" if ln.get("late") else "")
            cells = (
                name,
                _local(ln["started_at"], tz),
                ln.get("charger_id") or "",
                f"{(ln.get('energy_wh') or 0) / 1000:.3f}",
                _hm(ln.get("charging_s")),
                _hm(ln.get("parking_s")),
            )
        else:
            label = t["discount"] if ln["kind"] == "discount" else t["fee"]
            cells = (f"{label}: {ln.get('description') or ''}", "", "", "", "", "")
        for w, c in zip(widths, cells, strict=False):
            pdf.cell(w, 5, _text(str(c)))
        pdf.cell(widths[-1], 5, format_amount(ln["net"], cur), align="R")
        pdf.ln()
    _totals(pdf, t, invoice, cur)
    return bytes(pdf.output())


def credit_note_pdf(note: Row, invoice: Row, subscriber: Row, site: Row) -> bytes:
    t = labels(invoice.get("language") or "en")
    cur = invoice["currency"]
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0, 10, _text(f"{t['credit_note']} {note['number_text']}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=10)
    for k, v in (
        (t["customer"], f"{subscriber.get('name') or ''} <{subscriber.get('email') or ''}>"),
        (t["credits"], invoice.get("number_text") or ""),
        (t["date"], _local(note.get("issued_at"), site["tz"])[:10]),
        (t["reason"], note.get("reason") or ""),
    ):
        pdf.cell(0, 6, _text(f"{k}: {v}"), new_x="LMARGIN", new_y="NEXT")
    _totals(pdf, t, note, cur)
    return bytes(pdf.output())


def _totals(pdf: FPDF, t: Mapping[str, str], doc: Row, cur: str) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    rows = [(t["net"], doc["net"])]
    for g in doc.get("vat_breakdown") or []:
        rows.append(
            (f"{t['vat']} {g['vat_bp'] / 100:g} % ({format_amount(g['net'], cur)})", g["vat"])
        )
    rows.append((t["total"], doc["total"]))
    for label, amount in rows:
        pdf.cell(150, 6, _text(label), align="R")
        pdf.cell(
            40, 6, f"{format_amount(amount, cur)} {cur}", align="R", new_x="LMARGIN", new_y="NEXT"
        )


CSV_COLUMNS = (
    "number",
    "subscriber_id",
    "period",
    "state",
    "currency",
    "net",
    "vat",
    "total",
    "line",
    "kind",
    "session_id",
    "charger_id",
    "started_at",
    "stopped_at",
    "energy_wh",
    "charging_s",
    "parking_s",
    "late",
    "line_net",
    "vat_rate",
)


def run_csv(invoices: Iterable[Row], lines_by_invoice: Mapping[int, Sequence[Row]]) -> str:
    """One row per invoice line, amounts in major units (exact), times in UTC ISO 8601."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for inv in invoices:
        cur = inv["currency"]
        for ln in lines_by_invoice.get(inv["id"], ()):
            writer.writerow(
                (
                    inv.get("number_text") or "",
                    inv["subscriber_id"],
                    inv["period"],
                    inv["state"],
                    cur,
                    format_amount(inv["net"], cur),
                    format_amount(inv["vat"], cur),
                    format_amount(inv["total"], cur),
                    ln["position"],
                    ln["kind"],
                    ln.get("session_id") or "",
                    ln.get("charger_id") or "",
                    ln["started_at"].isoformat() if ln.get("started_at") else "",
                    ln["stopped_at"].isoformat() if ln.get("stopped_at") else "",
                    ln.get("energy_wh") if ln.get("energy_wh") is not None else "",
                    ln.get("charging_s") if ln.get("charging_s") is not None else "",
                    ln.get("parking_s") if ln.get("parking_s") is not None else "",
                    int(bool(ln.get("late"))),
                    format_amount(ln["net"], cur),
                    f"{ln['vat_bp'] / 100:g}",
                )
            )
    return out.getvalue()
