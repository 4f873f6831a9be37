"""Manual invoices (pure): lines a person typed, checked and assembled into one invoice.

A manual invoice is made by hand (a re-invoice after a credit note, a one-off charge invoiced
at once) instead of by the monthly run. Its lines are ``TEXT;QTY;UNIT_PRICE;VAT%`` (the CLI)
or the same four fields (the API); each becomes an ``item`` line whose net is quantity x unit
price rounded half-up once, and the invoice's VAT per rate and totals come from
billing.assembly, exactly as a run's invoice. Numbering, KID and issue are the store's and
the run's (same series, same counter): see services/manual_invoices.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.assembly import InvoiceDraft, Item, assemble
from billing.errors import BillingError
from billing.money import minor_units, round_half_up

MAX_LINES = 50
MAX_TEXT = 200
_MILLI = Decimal(1000)


class ManualLineError(BillingError):
    """A line of a manual invoice that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class LineInput:
    """One typed line, fields still as text (or numbers from JSON)."""

    description: str
    quantity: str
    unit_price: str
    vat_percent: str


def split_line(text: str) -> LineInput:
    """``"Key card;2;50.00;25"`` -> its four fields (the CLI's form)."""
    parts = [p.strip() for p in text.split(";")]
    if len(parts) != 4:
        raise ManualLineError(
            f"{text!r} has {len(parts)} field(s): write TEXT;QTY;UNIT_PRICE;VAT% "
            "(e.g. 'Key card;1;50.00;25')"
        )
    return LineInput(*parts)


def from_mapping(row: Mapping[str, Any]) -> LineInput:
    """The API's form: ``{"description", "quantity", "unit_price", "vat_percent"}``."""
    return LineInput(
        str(row.get("description") or ""),
        str(row.get("quantity", "")),
        str(row.get("unit_price", "")),
        str(row.get("vat_percent", "")),
    )


def _decimal(text: str, what: str, where: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ManualLineError(f"{where}: {what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ManualLineError(f"{where}: {what} {text!r} is not a number")
    return value


def check_line(line: LineInput, currency: str, position: int) -> Item:
    """One line checked: a text, a non-zero quantity of at most 3 decimals, a unit price of at
    least 0 in the currency's minor units, a VAT rate of 0 to 100 % (at most 2 decimals)."""
    where = f"line {position}"
    description = " ".join(line.description.split())
    if not description or len(description) > MAX_TEXT:
        raise ManualLineError(f"{where}: the text must be 1 to {MAX_TEXT} characters")
    where = f"line {position} ({description!r})"
    qty = _decimal(line.quantity, "quantity", where)
    if qty == 0 or qty != qty.quantize(Decimal("0.001")):
        raise ManualLineError(f"{where}: the quantity must be non-zero with at most 3 decimals")
    price = _decimal(line.unit_price, "unit price", where)
    digits = minor_units(currency)
    if price < 0 or price != price.quantize(Decimal(1).scaleb(-digits)):
        raise ManualLineError(
            f"{where}: the unit price must be 0 or more with at most {digits} decimals "
            "(a negative quantity makes a deduction)"
        )
    vat = _decimal(line.vat_percent.rstrip("%").strip(), "VAT", where)
    if not 0 <= vat <= 100 or vat != vat.quantize(Decimal("0.01")):
        raise ManualLineError(f"{where}: the VAT must be 0 to 100 % with at most 2 decimals")
    quantity_milli = int(qty * _MILLI)
    unit_price = int(price.scaleb(digits))
    net = round_half_up(Decimal(quantity_milli) * unit_price / _MILLI)
    return Item(description, quantity_milli, unit_price, net, int(vat * 100))


def manual_draft(
    *,
    subscriber_id: int,
    site_id: str,
    period: str,
    currency: str,
    site_vat_bp: int,
    lines: Sequence[LineInput],
    vat_registered: bool = True,
) -> InvoiceDraft:
    """The invoice the lines make (billing.assembly), or the ManualLineError naming the first
    bad line. An invoice asks for money: a total of 0 or less is refused (credit instead), and
    a seller that is not VAT registered charges no VAT."""
    if not lines:
        raise ManualLineError("a manual invoice needs at least one line")
    if len(lines) > MAX_LINES:
        raise ManualLineError(f"a manual invoice has at most {MAX_LINES} lines")
    items = [check_line(line, currency, i) for i, line in enumerate(lines, 1)]
    if not vat_registered and any(i.vat_bp for i in items):
        raise ManualLineError("the seller is not VAT registered: every line's VAT must be 0")
    draft = assemble(
        subscriber_id=subscriber_id,
        site_id=site_id,
        period=period,
        currency=currency,
        site_vat_bp=site_vat_bp,
        usage=(),
        items=items,
    )
    if draft.total <= 0:
        raise ManualLineError(
            "the lines add up to 0 or less: an invoice asks for money (use a credit note "
            "to give some back)"
        )
    return draft
