"""Refunds of credit notes (I/O, in the credit note's transaction): what a card paid and a
credit note makes owed back goes back to the card.

When a credit note leaves an invoice paid beyond what it now asks, and a card paid it, the part
the card paid is refunded through Stripe: a ``refunds`` row (method ``stripe``, ``pending``) and
a negative ``refund`` payment (pending) are written with the credit note, with one key; Stripe
is called after the commit (``StripePayments.send_refunds``), with that key, so a crash or a
retry never refunds twice. Until the refund succeeds the money is not a credit balance to carry
(billing.balances counts pending refunds). What a bank transfer or cash paid stays a credit
balance, carried into the next invoice (or refunded on request).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing.lifecycle import Figures
from billing.payments import fees_of
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


async def after_credit(
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
    key = refund_key(int(note["id"]))
    row = {
        "site_id": invoice["site_id"],
        "invoice_id": invoice["id"],
        "credit_note_id": note["id"],
        "method": "stripe",
        "amount": amount,
        "currency": invoice["currency"],
        "reason": f"credit note {note['number']}",
        "state": "pending",
        "created_by": actor[:120],
        "created_at": now,
        "idempotency_key": key,
    }
    refund_id = await ps.insert_refund(conn, row)
    await bs.insert_payment(
        conn,
        {
            "invoice_id": invoice["id"],
            "method": REFUND,
            "status": "pending",
            "amount": -amount,
            "currency": invoice["currency"],
            "paid_on": now.date().isoformat(),
            "reference": f"card refund of {note['number']}",
            "idempotency_key": f"{key}-payment",
            "created_at": now,
            "updated_at": now,
        },
    )
    return {**row, "id": refund_id}
