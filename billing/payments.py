"""Offline payments and credit notes (I/O): applied to an invoice under its lock.

Partial payments leave the invoice issued (or overdue) with the rest due; an overpayment
marks it paid and leaves a credit balance (negative amount due). Credit notes take numbers
from their own gap-free counter of the invoice's series (printed ``CN-<series>-000001``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing.errors import BillingError, NotFoundError
from billing.ledger import CREDITABLE_STATES, PAYABLE_STATES, amount_due, state_after
from billing.money import minor_units, to_minor, vat_of
from billing.numbering import credit_note_number, credit_series
from store import billing_store as bs


def parse_amount(text: str, currency: str) -> int:
    """'123.45' in major units -> 12345 minor units (exact; more decimals are refused)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BillingError(f"amount {text!r} is not a number: write it like 123.45") from None
    if not value.is_finite() or value <= 0:
        raise BillingError(f"amount must be positive, not {text!r}")
    if value != value.quantize(Decimal(1).scaleb(-minor_units(currency))):
        raise BillingError(f"amount {text!r} has more decimals than {currency} allows")
    return to_minor(value, currency)


async def find_invoice(conn: AsyncConnection, key: str | int) -> dict[str, Any]:
    invoice = await bs.get_invoice(conn, key)
    if invoice is None:
        raise NotFoundError(f"no invoice {key!r}: see `evgate invoices list`")
    return invoice


async def fees_of(conn: AsyncConnection, invoice_id: int) -> int:
    return sum(r["fee"] for r in await bs.reminders_of(conn, invoice_id))


async def refresh_state(conn: AsyncConnection, invoice_id: int, now: datetime) -> dict[str, Any]:
    """Recompute paid/credited totals and the state from the invoice's records."""
    invoice = await bs.lock_invoice(conn, invoice_id)
    assert invoice is not None
    paid = sum(
        p["amount"] for p in await bs.payments_of(conn, invoice_id) if p["status"] == "succeeded"
    )
    credited = sum(c["total"] for c in await bs.credit_notes_of(conn, invoice_id))
    fees = await fees_of(conn, invoice_id)
    state = state_after(
        invoice["state"], invoice["total"], paid, credited, fees, invoice["due_at"], now
    )
    values: dict[str, Any] = {"paid_amount": paid, "credited_amount": credited, "state": state}
    if state == "paid" and invoice["paid_at"] is None:
        values["paid_at"] = now
    await bs.update_invoice(conn, invoice_id, **values)
    if state != invoice["state"] and state in ("paid", "credited"):
        await bs.invoice_events(conn, [invoice_id], f"invoice_{state}", now)
    return {**invoice, **values, "amount_due": amount_due(invoice["total"], paid, credited, fees)}


async def add_offline_payment(
    conn: AsyncConnection,
    invoice_key: str | int,
    amount: int,
    paid_on: date,
    reference: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    invoice = await find_invoice(conn, invoice_key)
    await bs.lock_invoice(conn, invoice["id"])
    if invoice["state"] not in PAYABLE_STATES:
        raise BillingError(
            f"invoice {invoice['number_text'] or invoice['id']} is {invoice['state']}: "
            "only issued, overdue or paid invoices take payments"
        )
    if amount <= 0:
        raise BillingError("a payment amount must be positive")
    await bs.insert_payment(
        conn,
        {
            "invoice_id": invoice["id"],
            "method": "offline",
            "status": "succeeded",
            "amount": amount,
            "currency": invoice["currency"],
            "paid_on": paid_on.isoformat(),
            "reference": reference[:200],
            "created_at": now,
            "updated_at": now,
        },
    )
    return await refresh_state(conn, invoice["id"], now)


async def add_credit_note(
    conn: AsyncConnection,
    invoice_key: str | int,
    net: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Credit an invoice in full (``net`` None) or in part (a net amount at its main rate)."""
    now = now or datetime.now(UTC)
    invoice = await find_invoice(conn, invoice_key)
    await bs.lock_invoice(conn, invoice["id"])
    if invoice["state"] not in CREDITABLE_STATES:
        raise BillingError(
            f"invoice {invoice['number_text'] or invoice['id']} is {invoice['state']}: "
            "only issued, overdue or paid invoices can be credited"
        )
    remaining = invoice["total"] - invoice["credited_amount"]
    groups = list(invoice["vat_breakdown"])
    if net is None:
        if invoice["credited_amount"]:
            raise BillingError("the invoice is partly credited already: credit the rest by amount")
        breakdown = groups
        c_net, c_vat = invoice["net"], invoice["vat"]
    else:
        if net <= 0:
            raise BillingError("a credit amount must be positive")
        main = max(groups, key=lambda g: g["net"])["vat_bp"] if groups else 0
        c_net, c_vat = net, vat_of(net, main)
        breakdown = [{"vat_bp": main, "net": c_net, "vat": c_vat}]
    if c_net + c_vat > remaining:
        raise BillingError(
            f"a credit of {c_net + c_vat} exceeds what is left to credit ({remaining})"
        )
    series = credit_series(invoice["series"])
    number = await bs.take_numbers(conn, series, 1)
    text = credit_note_number(invoice["series"], number)
    await bs.insert_credit_note(
        conn,
        {
            "invoice_id": invoice["id"],
            "series": series,
            "number": number,
            "number_text": text,
            "full": net is None or c_net + c_vat == remaining,
            "reason": reason[:200],
            "net": c_net,
            "vat": c_vat,
            "total": c_net + c_vat,
            "vat_breakdown": breakdown,
            "issued_at": now,
        },
    )
    state = await refresh_state(conn, invoice["id"], now)
    return {"number": text, "net": c_net, "vat": c_vat, "total": c_net + c_vat, "invoice": state}
