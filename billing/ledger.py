"""What an invoice's payments, credits and reminder fees make of it (pure).

Amount due = total - credited + reminder fees - paid. An invoice credited in full is
``credited``; one whose amount due reaches 0 is ``paid`` (an overpayment leaves a negative
amount due: a credit balance shown to the subscriber); otherwise it stays ``issued``, or
``overdue`` once past its due date.
"""

from __future__ import annotations

from datetime import datetime

OPEN_STATES = frozenset({"issued", "overdue"})
PAYABLE_STATES = frozenset({"issued", "overdue", "paid"})
CREDITABLE_STATES = frozenset({"issued", "overdue", "paid"})


def amount_due(total: int, paid: int, credited: int, fees: int = 0) -> int:
    return total - credited + fees - paid


def state_after(
    state: str,
    total: int,
    paid: int,
    credited: int,
    fees: int,
    due_at: datetime | None,
    now: datetime,
) -> str:
    if state in ("draft",):
        return state
    if credited >= total:
        return "credited"
    if amount_due(total, paid, credited, fees) <= 0:
        return "paid"
    if due_at is not None and now > due_at:
        return "overdue"
    return "issued"
