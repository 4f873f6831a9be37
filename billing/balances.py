"""Credit balances (I/O): money a subscriber paid beyond what was owed (an overpayment, or a
credit note after payment) is carried to their next open invoice, oldest first.

A carry is a pair of payments of method ``balance``: minus on the invoice that holds the credit,
plus on the one it pays, so it is a payment on account and not a price change (no VAT moves).
Both invoices are locked and their credit recomputed from their records first, so a carry
repeated (a re-run, a retry) finds no balance left to move. The billing run carries balances
into the invoices it has just issued, before any card is charged.

On request a balance is refunded instead (``refund_balance``): the credit is the latest money
in, so what of it a card paid (and no refund took back yet) goes back to that card (a pending
Stripe refund, when cards are set up), the rest is a bank refund to pay out; either way the
pending refund payment leaves no credit to carry, so asking twice refunds nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing.lifecycle import Figures, InvoiceEvent
from billing.payments import fees_of, settle
from billing.refunds import bank_refund, card_paid_left, card_refund, pending_refunds_of
from store import billing_store as bs
from store import payments_store as ps

METHOD = "balance"


async def credit_of(conn: AsyncConnection, invoice: dict[str, Any]) -> int:
    """What the invoice owes the subscriber (0 when it owes nothing), less what a card refund
    already on its way pays back."""
    figures = Figures(
        invoice["total"],
        invoice["paid_amount"],
        invoice["credited_amount"],
        await fees_of(conn, int(invoice["id"])),
    )
    return max(0, -figures.amount_due - await pending_refunds_of(conn, int(invoice["id"])))


async def balance_of(conn: AsyncConnection, subscriber_id: int) -> dict[str, Any]:
    """The subscriber's credit balance, and the invoices that hold it."""
    held = []
    for inv in await bs.credit_candidates(conn, subscriber_id=subscriber_id):
        credit = await credit_of(conn, inv)
        if credit:
            held.append({"invoice": inv["number_text"], "credit": credit})
    return {
        "subscriber_id": subscriber_id,
        "balance": sum(h["credit"] for h in held),
        "held_by": held,
    }


async def carry(
    conn: AsyncConnection, subscriber_id: int, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """Move the subscriber's credit into their open invoices, oldest credit and invoice first;
    the moves made (from, to, amount)."""
    sources = [
        (inv, credit)
        for inv in await bs.credit_candidates(conn, subscriber_id=subscriber_id)
        if (credit := await credit_of(conn, inv))
    ]
    moves: list[dict[str, Any]] = []
    if not sources:
        return moves
    for listed in await bs.open_invoices_of(conn, subscriber_id):
        while sources:
            source_row, credit = sources[0]
            target = await bs.lock_invoice(conn, int(listed["id"]))
            source = await bs.lock_invoice(conn, int(source_row["id"]))
            assert target is not None and source is not None
            due = await _due(conn, target)
            if due <= 0 or source["currency"] != target["currency"]:
                break  # this invoice is paid up (or in another currency): the next one
            amount = min(credit, due)
            await _move(conn, source, target, amount, now)
            await settle(conn, source, InvoiceEvent.BALANCE, actor, now)
            await settle(conn, target, InvoiceEvent.BALANCE, actor, now)
            moves.append(
                {"from": source["number_text"], "to": target["number_text"], "amount": amount}
            )
            if amount == credit:
                sources.pop(0)
            else:
                sources[0] = (source, credit - amount)
    return moves


async def _due(conn: AsyncConnection, invoice: dict[str, Any]) -> int:
    figures = Figures(
        invoice["total"],
        invoice["paid_amount"],
        invoice["credited_amount"],
        await fees_of(conn, int(invoice["id"])),
    )
    return figures.amount_due


async def _move(
    conn: AsyncConnection,
    source: dict[str, Any],
    target: dict[str, Any],
    amount: int,
    now: datetime,
) -> None:
    common = {"method": METHOD, "status": "succeeded", "currency": source["currency"]}
    stamp = {"created_at": now, "updated_at": now, "paid_on": now.date().isoformat()}
    await bs.insert_payment(
        conn,
        {
            **common,
            **stamp,
            "invoice_id": source["id"],
            "amount": -amount,
            "reference": f"carried to {target['number_text']}",
        },
    )
    await bs.insert_payment(
        conn,
        {
            **common,
            **stamp,
            "invoice_id": target["id"],
            "amount": amount,
            "reference": f"credit balance from {source['number_text']}",
        },
    )


async def carry_period(
    engine: AsyncEngine, site_id: str | None, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """After a run: carry every balance of the site(s) into the open invoices (one
    transaction per subscriber)."""
    async with engine.connect() as conn:
        owners = sorted(
            {int(i["subscriber_id"]) for i in await bs.credit_candidates(conn, site_id)}
        )
    moves: list[dict[str, Any]] = []
    for subscriber_id in owners:
        async with engine.begin() as conn:
            moves.extend(await carry(conn, subscriber_id, actor, now))
    return moves


async def refund_balance(
    conn: AsyncConnection, subscriber_id: int, actor: str, now: datetime, *, cards: bool
) -> list[dict[str, Any]]:
    """Turn the subscriber's credit balance into refunds, invoice by invoice (each locked):
    to the card that paid it when ``cards`` (Stripe is set up), else by bank; the refunds
    recorded (none when there is no balance)."""
    made: list[dict[str, Any]] = []
    for listed in await bs.credit_candidates(conn, subscriber_id=subscriber_id):
        invoice = await bs.lock_invoice(conn, int(listed["id"]))
        assert invoice is not None
        credit = await credit_of(conn, invoice)
        if credit <= 0:
            continue
        n = len(await ps.refunds_of_invoice(conn, int(invoice["id"]))) + 1
        key = f"evgate-refund-balance-{invoice['id']}-{n}"
        reason = f"credit balance of {invoice['number_text']}"
        by_card = await _from_card(conn, invoice, credit) if cards else 0
        if by_card > 0:
            made.append(await card_refund(conn, invoice, by_card, key, reason, actor, now))
        if credit - by_card > 0:
            made.append(
                await bank_refund(
                    conn, invoice, credit - by_card, f"{key}-bank", reason, actor, now
                )
            )
    return made


async def _from_card(conn: AsyncConnection, invoice: dict[str, Any], credit: int) -> int:
    """How much of the invoice's credit a card paid: the credit is the latest money in."""
    left, by_card = credit, 0
    for p in reversed(await bs.payments_of(conn, int(invoice["id"]))):
        if p["status"] != "succeeded" or int(p["amount"]) <= 0 or p["method"] == METHOD:
            continue
        take = min(left, int(p["amount"]))
        by_card += take if p["method"] == "stripe" else 0
        left -= take
        if left == 0:
            break
    return min(by_card, await card_paid_left(conn, int(invoice["id"])))
