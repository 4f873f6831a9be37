"""The payment reminder (purring, påminnelse, rykker) as a PDF (pure).

It names the invoice it reminds of, what is still owed on it, the reminder fees added so far,
the amount to pay now and a new due date. The new due date is the reminder's date plus
``NEW_DUE_DAYS``: Norway's debt-collection rules give a debtor at least 14 days after a
reminder before collection may start, and the other Nordic countries ask no more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from billing import local_forms as lf
from billing import parties
from billing.labels import labels
from billing.lifecycle import amount_due
from billing.pdf_layout import FONT, customer, document, facts, header, payment_box

Row = Mapping[str, Any]
NEW_DUE_DAYS = 14


def new_due_date(sent_at: datetime) -> datetime:
    return sent_at + timedelta(days=NEW_DUE_DAYS)


def reminder_pdf(
    invoice: Row,
    reminder: Row,
    reminders: Sequence[Row],
    subscriber: Row,
    site: Row,
    seller: Row | None = None,
) -> bytes:
    """Reminder ``reminder`` (a row of ``reminders``: n, fee, sent_at) of ``invoice``.

    The fees are those of this reminder and the ones before it (reprinting reminder 1 after
    reminder 2 does not add reminder 2's fee); the amount outstanding is the invoice's now.
    """
    lang = invoice.get("language") or subscriber.get("language") or "en"
    t = labels(lang)
    tz, cur = site["tz"], invoice["currency"]
    fees = sum(int(r["fee"]) for r in reminders if int(r["n"]) <= int(reminder["n"]))
    owed = amount_due(
        int(invoice["total"]), int(invoice["paid_amount"]), int(invoice["credited_amount"])
    )
    pdf = document(t)
    sold_by = parties.seller_of(invoice, site, seller)
    header(pdf, t["reminder"], site, None, sold_by, (seller or {}).get("logo"))
    facts(
        pdf,
        (
            (t["customer"], customer(subscriber)),
            (t["reminder_no"], str(reminder["n"])),
            (t["date"], lf.date(reminder["sent_at"], tz, lang)),
            (t["invoice_no"], str(invoice.get("number_text") or "")),
            (t["original_due"], lf.date(invoice.get("due_at"), tz, lang)),
        ),
    )
    rows = ((t["outstanding"], owed, False), (t["reminder_fees"], fees, False))
    for label, amount, _ in rows:
        pdf.set_font(FONT, size=10)
        pdf.cell(140, 6.5, label, align="R")
        pdf.cell(0, 6.5, lf.money(amount, cur, lang), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 12)
    pdf.cell(140, 8, t["to_pay"], align="R")
    pdf.cell(0, 8, lf.money(owed + fees, cur, lang), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(140, 8, t["new_due"], align="R")
    due = lf.date(new_due_date(reminder["sent_at"]), tz, lang)
    pdf.cell(0, 8, due, align="R", new_x="LMARGIN", new_y="NEXT")
    pay = [(t[key], value) for key, value in parties.account_text(sold_by)]
    if invoice.get("kid"):
        pay.append((t["kid"], str(invoice["kid"])))
    if pay:
        payment_box(pdf, t["how_to_pay"], pay)
    return bytes(pdf.output())
