"""Refunds a person settles: a bank refund marked paid out, a credit balance refunded.

- ``mark_paid_out``: a super-admin says a bank refund (of an unmatched payment, a credit note
  paid out, a credit balance) was paid in the bank: the refund is ``paid`` and the invoice it
  came from settles (billing.refunds). The same call again changes nothing.
- ``refund_balance``: a super-admin turns a subscriber's credit balance into refunds (to the
  card that paid it when Stripe is set up, else by bank; billing.balances) so that the next
  run no longer carries it; card refunds are sent to Stripe after the commit. Asking again
  finds no balance and refunds nothing.

Both audited in the transaction that makes the change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing import balances, refunds
from billing.stripe_payments import StripeSettings
from services import cards
from services.context import Actor
from store import audit
from store.subscribers import get_subscriber


def _public(refund: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "method", "state", "amount", "currency", "payer_account", "kid", "reason")
    out = {k: refund.get(k) for k in keys}
    out["invoice_id"] = refund.get("invoice_id")
    paid_at = refund.get("paid_at")
    out["paid_at"] = paid_at.isoformat() if paid_at else None
    return out


async def mark_paid_out(
    conn: AsyncConnection, actor: Actor, refund_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """A bank refund paid out; the refund after (``changed`` False when it was already)."""
    actor.check_super("only a super-admin may mark a refund paid out")
    now = now or datetime.now(UTC)
    refund, changed = await refunds.mark_paid_out(conn, refund_id, actor.label, now)
    if changed:
        await audit.record(
            conn,
            actor.label,
            "refund.paid_out",
            "refund",
            refund_id,
            site_id=refund["site_id"],
            before={"state": "due"},
            after={"state": "paid", "amount": refund["amount"], "paid_at": now},
        )
    return {**_public(refund), "changed": changed}


async def refund_balance(
    engine: AsyncEngine,
    settings: StripeSettings | None,
    actor: Actor,
    subscriber_id: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The subscriber's credit balance refunded (card or bank); what was recorded and, for
    card refunds, what Stripe answered."""
    actor.check_super("only a super-admin may refund a credit balance")
    now = now or datetime.now(UTC)
    async with engine.begin() as conn:
        sub = await get_subscriber(conn, subscriber_id)
        before = await balances.balance_of(conn, subscriber_id)
        made = await balances.refund_balance(
            conn, subscriber_id, actor.label, now, cards=settings is not None
        )
        if made:
            await audit.record(
                conn,
                actor.label,
                "subscriber.refund_balance",
                "subscriber",
                subscriber_id,
                site_id=sub["site_id"],
                before={"balance": before["balance"]},
                after={"refunds": [_public(r) for r in made]},
            )
    sent = (
        await cards.send_refunds(engine, settings)
        if any(r["method"] == "stripe" for r in made)
        else []
    )
    return {
        "subscriber_id": subscriber_id,
        "balance": before["balance"],
        "refunds": [_public(r) for r in made],
        "card_refunds_sent": sent,
    }
