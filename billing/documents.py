"""Invoice and credit-note PDFs (fpdf2, an embedded Unicode font) and the CSV export of a run.

Pure: input is plain data (the invoice row, its lines, subscriber and site rows). A4 portrait;
text in any alphabet ("Łukasz Żółć" prints as written: Source Sans Pro is embedded, subset);
dates, numbers and money in the document language's own forms (billing.local_forms); a paid,
overdue or credited invoice carries that mark; a credit note never says "amount to pay".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from fpdf import FPDF

from billing import local_forms as lf
from billing import parties, unit_prices
from billing.labels import labels
from billing.money import format_amount, minor_units
from billing.pdf_layout import FONT, MARKS, document, facts, header, parties_and_facts, payment_box

Row = Mapping[str, Any]


def _hm(seconds: int | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}"


def buyer_lines(buyer: Row, t: Mapping[str, str]) -> list[str]:
    """The buyer's block: name, billing address, org number, reference, e-mail."""
    lines = [str(buyer.get("name") or "")]
    lines += parties.address_lines(buyer)
    if buyer.get("country") and buyer.get("country") != "NO" and buyer.get("street"):
        lines.append(str(buyer["country"]))
    lines += parties.buyer_registration_lines(buyer, t)
    if buyer.get("email"):
        lines.append(str(buyer["email"]))
    return [ln for ln in lines if ln]


def unit_prices_text(text: str | None, cur: str, lang: str, t: Mapping[str, str]) -> str:
    """``"E=2.50;T=60"`` -> ``"2,50 kr/kWh · Ladetid 60,00 kr/t"`` in the document's forms."""
    prices = unit_prices.decode(text)
    parts = []
    for code in unit_prices.ORDER:
        values = prices.get(code)
        if not values:
            continue
        money = " / ".join(lf.unit_money(v, cur, lang) for v in values)
        if code == unit_prices.ENERGY:
            parts.append(f"{money}/kWh")
        elif code == unit_prices.TIME:
            parts.append(f"{t['charging']} {money}/{t['hour']}")
        elif code == unit_prices.PARKING:
            parts.append(f"{t['parking']} {money}/{t['hour']}")
        else:
            parts.append(f"{money} {t['per_session']}")
    return " · ".join(parts)


def payment_rows(
    invoice: Row, seller: Row, t: Mapping[str, str], tz: str, cur: str, lang: str
) -> list[tuple[str, str]]:
    """What a payer types into the bank: account, KID, amount, due date."""
    rows = [(t[key], value) for key, value in parties.account_text(seller)]
    if invoice.get("kid"):
        rows.append((t["kid"], str(invoice["kid"])))
    rows.append((t["to_pay"], lf.money(int(invoice["total"]), cur, lang)))
    if invoice.get("due_at"):
        rows.append((t["due"], lf.date(invoice.get("due_at"), tz, lang)))
    return rows


def invoice_pdf(
    invoice: Row,
    lines: Sequence[Row],
    subscriber: Row,
    site: Row,
    seller: Row | None = None,
    buyer: Row | None = None,
) -> bytes:
    """The invoice: seller and buyer (the invoice's own snapshot when it has one, else
    ``seller``/``buyer`` as they are now), facts, a line per session with the unit prices
    that priced it, VAT per rate, totals, and how to pay."""
    lang = invoice.get("language") or subscriber.get("language") or "en"
    t = labels(lang)
    tz, cur = site["tz"], invoice["currency"]
    sold_by = parties.seller_of(invoice, site, seller)
    bought_by = parties.buyer_of(invoice, subscriber, buyer)
    pdf = document(t)
    state = str(invoice.get("state") or "")
    mark = (t[MARKS[state][0]], MARKS[state][1]) if state in MARKS else None
    logo = (seller or {}).get("logo")
    header(pdf, f"{t['invoice']} {invoice.get('number_text') or ''}", site, mark, sold_by, logo)
    known = [
        (t["date"], lf.date(invoice.get("issued_at"), tz, lang)),
        (t["due"], lf.date(invoice.get("due_at"), tz, lang)),
        (t["period"], str(invoice["period"])),
    ]
    terms = subscriber.get("payment_terms_days")
    if terms is None:
        terms = site.get("payment_terms_days")
    if terms is not None:
        known.append((t["terms"], t["terms_net"].format(n=terms)))
    if invoice.get("kid"):
        known.append((t["kid"], str(invoice["kid"])))
    parties_and_facts(pdf, t["customer"], buyer_lines(bought_by, t), known)
    if any(ln["kind"] == "session" for ln in lines):
        _session_table(pdf, lines, t, tz, cur, lang)
    else:  # a manual invoice (or fees only): what, how many, at what price and VAT
        _item_table(pdf, lines, t, cur, lang)
    _totals(pdf, t, invoice, cur, lang, t["total"])
    payment_box(pdf, t["how_to_pay"], payment_rows(invoice, sold_by, t, tz, cur, lang))
    return bytes(pdf.output())


def _session_table(
    pdf: FPDF, lines: Sequence[Row], t: Mapping[str, str], tz: str, cur: str, lang: str
) -> None:
    """A run's lines: one per session (with the unit prices under it), fees, discounts."""
    widths = (20, 32, 38, 20, 20, 20, 30)
    cols = (
        t["session"],
        t["started"],
        t["charger"],
        t["kwh"],
        t["charging"],
        t["parking"],
        f"{t['amount']} ({cur})",
    )
    right = {3, 4, 5, 6}
    pdf.set_font(FONT, "B", 9)
    for i, (w, c) in enumerate(zip(widths, cols, strict=True)):
        pdf.cell(w, 6, c, border="B", align="R" if i in right else "L")
    pdf.ln()
    pdf.set_font(FONT, size=9)
    for ln in lines:
        if ln["kind"] == "session":
            name = f"#{ln['session_id']}" + (f" ({t['late']})" if ln.get("late") else "")
            cells: tuple[str, ...] = (
                name,
                lf.date_time(ln["started_at"], tz, lang),
                str(ln.get("charger_id") or ""),
                lf.kwh(ln.get("energy_wh"), lang),
                _hm(ln.get("charging_s")),
                _hm(ln.get("parking_s")),
            )
            for i, (w, c) in enumerate(zip(widths, cells, strict=False)):
                pdf.cell(w, 5.5, c, align="R" if i in right else "L")
        else:
            label = t["discount"] if ln["kind"] == "discount" else t["fee"]
            pdf.cell(sum(widths[:-1]), 5.5, f"{label}: {ln.get('description') or ''}")
        pdf.cell(widths[-1], 5.5, lf.number(ln["net"], cur, lang), align="R")
        pdf.ln()
        prices = unit_prices_text(ln.get("unit_prices"), cur, lang, t)
        if prices:  # the tariff's unit prices under the line, small and grey
            pdf.set_font(FONT, size=7.5)
            pdf.set_text_color(90, 90, 90)
            pdf.cell(widths[0], 4, "")
            pdf.cell(sum(widths[1:]), 4, prices, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
            pdf.set_font(FONT, size=9)


ITEM_WIDTHS = (80, 20, 30, 20, 30)


def _item_table(pdf: FPDF, lines: Sequence[Row], t: Mapping[str, str], cur: str, lang: str) -> None:
    """Lines without sessions: text, quantity, unit price, VAT rate, amount."""
    cols = (t["item"], t["quantity"], t["unit_price"], t["vat_rate"], f"{t['amount']} ({cur})")
    pdf.set_font(FONT, "B", 9)
    for i, (w, c) in enumerate(zip(ITEM_WIDTHS, cols, strict=True)):
        pdf.cell(w, 6, c, border="B", align="R" if i else "L")
    pdf.ln()
    pdf.set_font(FONT, size=9)
    for ln in lines:
        vat = lf.percent(int(ln["vat_bp"]), lang)
        if ln["kind"] == "item" and ln.get("quantity_milli") is not None:
            price = Decimal(int(ln["unit_price"])).scaleb(-minor_units(cur))
            cells = (
                str(ln.get("description") or ""),
                lf.quantity(int(ln["quantity_milli"]), lang),
                lf.unit_money(price, cur, lang),
                vat,
            )
        else:
            label = t["discount"] if ln["kind"] == "discount" else t["fee"]
            cells = (f"{label}: {ln.get('description') or ''}", "", "", vat)
        for i, (w, c) in enumerate(zip(ITEM_WIDTHS, cells, strict=False)):
            pdf.cell(w, 5.5, c, align="R" if i else "L")
        pdf.cell(ITEM_WIDTHS[-1], 5.5, lf.number(ln["net"], cur, lang), align="R")
        pdf.ln()


def credit_note_pdf(
    note: Row,
    invoice: Row,
    subscriber: Row,
    site: Row,
    seller: Row | None = None,
    buyer: Row | None = None,
) -> bytes:
    """A credit note: the parties of the invoice it credits; never an amount to pay."""
    lang = invoice.get("language") or subscriber.get("language") or "en"
    t = labels(lang)
    cur = invoice["currency"]
    pdf = document(t)
    sold_by = parties.seller_of(invoice, site, seller)
    bought_by = parties.buyer_of(invoice, subscriber, buyer)
    logo = (seller or {}).get("logo")
    header(pdf, f"{t['credit_note']} {note['number_text']}", site, None, sold_by, logo)
    facts(
        pdf,
        (
            (t["customer"], ", ".join(buyer_lines(bought_by, t)[:3])),
            (t["credits"], str(invoice.get("number_text") or "")),
            (t["period"], str(invoice.get("period") or "")),
            (t["date"], lf.date(note.get("issued_at"), site["tz"], lang)),
            (t["reason"], str(note.get("reason") or "")),
        ),
    )
    _totals(pdf, t, note, cur, lang, t["credited_total"])
    return bytes(pdf.output())


def _totals(
    pdf: FPDF, t: Mapping[str, str], doc: Row, cur: str, lang: str, total_label: str
) -> None:
    pdf.ln(4)
    rows = [(t["net"], doc["net"], False)]
    for g in doc.get("vat_breakdown") or []:
        base = lf.money(g["net"], cur, lang)
        rows.append((f"{t['vat']} {lf.percent(g['vat_bp'], lang)} ({base})", g["vat"], False))
    rows.append((total_label, doc["total"], True))
    for label, amount, bold in rows:
        pdf.set_font(FONT, "B" if bold else "", 11 if bold else 10)
        pdf.cell(140, 6.5, label, align="R")
        pdf.cell(0, 6.5, lf.money(amount, cur, lang), align="R", new_x="LMARGIN", new_y="NEXT")


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
