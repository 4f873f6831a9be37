"""Payments and credit notes (I/O), applied to an invoice row locked by the caller.

Every function here takes the row ``store.billing_store.lock_invoice`` returned in the same
transaction (SELECT ... FOR UPDATE on PostgreSQL): the state check and what is left to credit
are made on it, so two concurrent credits cannot both take the same rest. The new state is
billing.lifecycle's decision; the store audits and events it. Partial payments leave the
invoice issued (or overdue) with the rest due; an overpayment marks it paid and leaves a
credit balance (negative amount due). Credit notes take numbers from their own gap-free
counter of the invoice's series (printed ``CN-<series>-000001``). The use cases that call
these (with their input checks and audit entries) are in services/billing.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing import mails
from billing.errors import BillingError, InvoiceStateError, NotFoundError
from billing.lifecycle import Figures, InvoiceEvent, InvoiceState, applies_to, next_state
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


async def locked_invoice(conn: AsyncConnection, key: str | int) -> dict[str, Any]:
    """The invoice locked for the rest of the transaction (see bs.lock_invoice)."""
    invoice = await bs.lock_invoice(conn, key)
    if invoice is None:
        raise NotFoundError(f"no invoice {key!r}: see `evgate invoices list`")
    return invoice


def check_allows(invoice: dict[str, Any], event: InvoiceEvent, doing: str) -> None:
    """Refuse ``event`` on an invoice whose state the lifecycle table does not allow it in."""
    states = applies_to(event)
    if invoice["state"] not in states:
        names = ", ".join(s.value for s in states[:-1]) + f" or {states[-1].value}"
        raise InvoiceStateError(
            invoice["state"],
            event,
            message=f"invoice {invoice['number_text'] or invoice['id']} is {invoice['state']}: "
            f"only {names} invoices {doing}",
        )


async def settle(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    event: InvoiceEvent,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Recompute the locked ``invoice``'s paid and credited totals from its records, let the
    lifecycle decide its state after ``event``, write both (the store audits and events a
    change of state); the invoice as it is now, with its amount due."""
    invoice_id = int(invoice["id"])
    paid = sum(
        p["amount"] for p in await bs.payments_of(conn, invoice_id) if p["status"] == "succeeded"
    )
    credited = sum(c["total"] for c in await bs.credit_notes_of(conn, invoice_id))
    fees = await fees_of(conn, invoice_id)
    figures = Figures(invoice["total"], paid, credited, fees, invoice["due_at"])
    state = next_state(invoice["state"], event, figures, now)
    values: dict[str, Any] = {"paid_amount": paid, "credited_amount": credited}
    if state is InvoiceState.PAID and invoice["paid_at"] is None:
        values["paid_at"] = now
    await bs.set_state(conn, invoice, state, actor, now, **values)
    return {**invoice, **values, "state": state.value, "amount_due": figures.amount_due}


async def pay(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    amount: int,
    paid_on: date,
    reference: str,
    actor: str,
    now: datetime,
    *,
    method: str = "offline",
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Record a payment received outside Stripe (``method``: offline, or ocr_giro for a bank
    giro payment read from a Nets file, with the transaction's identity as its
    ``idempotency_key``) on the locked ``invoice``; the invoice after it."""
    check_allows(invoice, InvoiceEvent.PAYMENT, "take payments")
    if amount <= 0:
        raise BillingError("a payment amount must be positive")
    payment = {
        "invoice_id": invoice["id"],
        "method": method,
        "status": "succeeded",
        "amount": amount,
        "currency": invoice["currency"],
        "paid_on": paid_on.isoformat(),
        "reference": reference[:200],
        "idempotency_key": idempotency_key,
        "created_at": now,
        "updated_at": now,
    }
    payment_id = await bs.insert_payment(conn, payment)
    after = await settle(conn, invoice, InvoiceEvent.PAYMENT, actor, now)
    await mails.payment_received(
        conn, after, {**payment, "id": payment_id}, after["amount_due"], now
    )
    return {**after, "payment": {**payment, "id": payment_id}}


async def credit(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    net: int | None,
    reason: str,
    actor: str,
    now: datetime,
    vat_bp: int | None = None,
) -> dict[str, Any]:
    """Credit the locked ``invoice`` in full (``net`` None) or in part (a net amount at its
    main rate, or at ``vat_bp``, one of its rates), never beyond what is left to credit."""
    check_allows(invoice, InvoiceEvent.CREDIT, "can be credited")
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
        if vat_bp is not None and vat_bp not in {g["vat_bp"] for g in groups}:
            raise BillingError(f"the invoice has no VAT rate of {vat_bp / 100}%")
        main = main if vat_bp is None else vat_bp
        c_net, c_vat = net, vat_of(net, main)
        breakdown = [{"vat_bp": main, "net": c_net, "vat": c_vat}]
    if c_net + c_vat > remaining:
        raise BillingError(
            f"a credit of {c_net + c_vat} exceeds what is left to credit ({remaining})"
        )
    series = credit_series(invoice["series"])
    number = await bs.take_numbers(conn, series, 1)
    text = credit_note_number(invoice["series"], number)
    note_id = await bs.insert_credit_note(
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
    after = await settle(conn, invoice, InvoiceEvent.CREDIT, actor, now)
    return {
        "id": note_id,
        "number": text,
        "net": c_net,
        "vat": c_vat,
        "total": c_net + c_vat,
        "invoice": after,
    }
