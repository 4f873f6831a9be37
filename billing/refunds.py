"""Refunds of credit notes (I/O, in the credit note's transaction): what a card paid and a
credit note makes owed back goes back to the card.

When a credit note leaves an invoice paid beyond what it now asks, and a card paid it, the part
the card paid is refunded through Stripe: a ``refunds`` row (method ``stripe``, ``pending``) and
a negative ``refund`` payment (pending) are written with the credit note, with one key; Stripe
is called after the commit (``StripePayments.send_refunds``), with that key, so a crash or a
retry never refunds twice. Until the refund succeeds the money is not a credit balance to carry
(billing.balances counts pending refunds). What a bank transfer or cash paid stays a credit
balance, carried into the next invoice, unless the credit note asks to pay it out
(``pay_out``): then it is a **bank refund** ``due`` (method ``bank``, with the payer's account
when the bank said it), paired with a pending ``refund`` payment, until a person marks it paid
out (``mark_paid_out``: the payment succeeds, the invoice settles). A credit balance is
refunded on request the same way (billing.balances.refund_balance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing.errors import BillingError, NotFoundError
from billing.lifecycle import Figures, InvoiceEvent
from billing.payments import fees_of, settle
from store import billing_store as bs
from store import payments_store as ps

REFUND = "refund"  # the payment method of money paid back


def refund_key(credit_note_id: int) -> str:
    return f"evgate-refund-credit-note-{credit_note_id}"


async def pending_refunds_of(conn: AsyncConnection, invoice_id: int) -> int:
    """Money on its way back (not yet confirmed by Stripe), as a positive amount."""
    return -sum(
        int(p["amount"])
        for p in await bs.payments_of(conn, invoice_id)
        if p["method"] == REFUND and p["status"] == "pending"
    )


async def _record(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    row: dict[str, Any],
    reference: str,
    now: datetime,
) -> dict[str, Any]:
    """A refunds row and its negative ``refund`` payment (pending), under one key."""
    refund_id = await ps.insert_refund(conn, row)
    await bs.insert_payment(
        conn,
        {
            "invoice_id": invoice["id"],
            "method": REFUND,
            "status": "pending",
            "amount": -int(row["amount"]),
            "currency": invoice["currency"],
            "paid_on": now.date().isoformat(),
            "reference": reference[:200],
            "idempotency_key": f"{row['idempotency_key']}-payment",
            "created_at": now,
            "updated_at": now,
        },
    )
    return {**row, "id": refund_id}


async def card_paid_left(conn: AsyncConnection, invoice_id: int) -> int:
    """What cards paid on the invoice and no refund (pending or done) has taken back yet."""
    pays = await bs.payments_of(conn, invoice_id)
    by_card = sum(
        int(p["amount"]) for p in pays if p["method"] == "stripe" and p["status"] == "succeeded"
    )
    refunded = -sum(
        int(p["amount"])
        for p in pays
        if p["method"] == REFUND and p["status"] in ("pending", "succeeded")
    )
    return max(0, by_card - refunded)


async def payer_account(conn: AsyncConnection, invoice_id: int) -> str | None:
    """The account the bank said the invoice was paid from (the latest giro payment)."""
    return await ps.payer_account_of(conn, invoice_id)


async def card_refund(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    amount: int,
    key: str,
    reason: str,
    actor: str,
    now: datetime,
    credit_note_id: int | None = None,
) -> dict[str, Any]:
    """A card refund recorded pending (sent after the commit by StripePayments.send_refunds)."""
    row = _row(invoice, amount, key, reason, actor, now, method="stripe", state="pending")
    row["credit_note_id"] = credit_note_id
    return await _record(conn, invoice, row, f"card refund: {reason}", now)


async def bank_refund(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    amount: int,
    key: str,
    reason: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """A refund to pay out by bank (``due``) with the payer's account when known."""
    row = _row(invoice, amount, key, reason, actor, now, method="bank", state="due")
    row["payer_account"] = await payer_account(conn, int(invoice["id"]))
    row["kid"] = invoice["kid"]
    return await _record(conn, invoice, row, f"bank refund: {reason}", now)


def _row(
    invoice: dict[str, Any],
    amount: int,
    key: str,
    reason: str,
    actor: str,
    now: datetime,
    *,
    method: str,
    state: str,
) -> dict[str, Any]:
    """The refunds row every method shares (text cut to the columns' sizes)."""
    return {
        "site_id": invoice["site_id"],
        "invoice_id": invoice["id"],
        "method": method,
        "amount": amount,
        "currency": invoice["currency"],
        "reason": reason[:200],
        "state": state,
        "created_by": actor[:120],
        "created_at": now,
        "idempotency_key": key,
    }


async def after_credit(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    note: dict[str, Any],
    actor: str,
    now: datetime,
    *,
    pay_out: bool = False,
) -> dict[str, Any] | None:
    """The card refund a credit note calls for, recorded pending, and with ``pay_out`` the
    bank refund of what else it makes owed back (``bank_refund``); None when there is none."""
    card = await _card_after_credit(conn, invoice, note, actor, now)
    if not pay_out:
        return card
    locked = await bs.lock_invoice(conn, int(invoice["id"]))
    assert locked is not None
    figures = Figures(
        locked["total"],
        locked["paid_amount"],
        locked["credited_amount"],
        await fees_of(conn, int(invoice["id"])),
    )
    rest = min(
        int(note["total"]) - (int(card["amount"]) if card else 0),
        -figures.amount_due - await pending_refunds_of(conn, int(invoice["id"])),
    )
    if rest <= 0:
        return card
    bank = await bank_refund(
        conn,
        locked,
        rest,
        f"{refund_key(int(note['id']))}-bank",
        f"credit note {note['number']}",
        actor,
        now,
    )
    return {**bank, "card": card} if card else bank


async def mark_paid_out(
    conn: AsyncConnection, refund_id: int, actor: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """A bank refund paid out (by a person, in the bank): the refund ``paid``, its payment
    succeeded and the invoice settled. (refund after, whether this call changed it.)"""
    refund = await ps.lock_refund(conn, refund_id)
    if refund is None:
        raise NotFoundError(f"no refund {refund_id}: see `evgate reports unmatched --refunds`")
    if refund["method"] != "bank":
        raise BillingError(f"refund {refund_id} goes back to the card through Stripe")
    if refund["state"] == "paid":
        return refund, False
    if refund["state"] != "due":
        raise BillingError(f"refund {refund_id} is {refund['state']}: nothing to pay out")
    await ps.update_refund(conn, refund_id, state="paid", paid_at=now)
    if refund["invoice_id"] is not None:
        invoice = await bs.lock_invoice(conn, int(refund["invoice_id"]))
        money = await bs.payment_by_key(conn, f"{refund['idempotency_key']}-payment")
        assert invoice is not None and money is not None
        await bs.update_payment(conn, int(money["id"]), status="succeeded", updated_at=now)
        await settle(conn, invoice, InvoiceEvent.REFUND, actor, now)
    return {**refund, "state": "paid", "paid_at": now}, True


async def _card_after_credit(
    conn: AsyncConnection,
    invoice: dict[str, Any],
    note: dict[str, Any],
    actor: str,
    now: datetime,
) -> dict[str, Any] | None:
    """The card refund a credit note calls for, recorded pending; None when there is none."""
    pays = await bs.payments_of(conn, int(invoice["id"]))
    by_card = sum(
        int(p["amount"]) for p in pays if p["method"] == "stripe" and p["status"] == "succeeded"
    )
    refunded = -sum(
        int(p["amount"])
        for p in pays
        if p["method"] == REFUND and p["status"] in ("pending", "succeeded")
    )
    after = note["invoice"]
    figures = Figures(
        after["total"],
        after["paid_amount"],
        after["credited_amount"],
        await fees_of(conn, int(invoice["id"])),
    )
    owed_back = -figures.amount_due - await pending_refunds_of(conn, int(invoice["id"]))
    amount = min(int(note["total"]), by_card - refunded, owed_back)
    if amount <= 0:
        return None
    return await card_refund(
        conn,
        invoice,
        amount,
        refund_key(int(note["id"])),
        f"credit note {note['number']}",
        actor,
        now,
        credit_note_id=int(note["id"]),
    )
