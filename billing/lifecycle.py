"""The invoice lifecycle (pure): the one place that decides an invoice's next state.

An invoice is written as a ``draft`` (no number yet) and, in the same transaction, ``issued``:
it takes the next gap-free number of its series under the series counter's lock. An issued
invoice still owing money past its due date becomes ``overdue``. Payments (offline, or a
Stripe charge that succeeded) and partial credit notes lower the amount due,

    amount due = total - credited + reminder fees - paid,

and once it reaches 0 the invoice is ``paid``; paying more leaves a negative amount due, a
credit balance owed to the subscriber (the invoice stays paid). A credit note for everything
that is left (issued, overdue or paid invoices) makes it ``credited``, the end of the road.
Reminder fees only go on overdue invoices, and a failed Stripe attempt changes nothing: an
invoice once paid is never un-paid by a later failure.

``TRANSITIONS`` says, per event, which states it applies to and which it may lead to;
``next_state`` refuses the others (``InvoiceStateError``), so the store, the run, payments,
Stripe and dunning only ever write what this module decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from billing.errors import InvoiceStateError


class InvoiceState(StrEnum):
    """As stored in ``invoices.state``."""

    DRAFT = "draft"
    ISSUED = "issued"
    OVERDUE = "overdue"
    PAID = "paid"
    CREDITED = "credited"


class InvoiceEvent(StrEnum):
    ISSUE = "issue"  # numbered and sent by the billing run
    PAYMENT = "payment"  # money received (offline, or a Stripe charge that succeeded)
    CREDIT = "credit"  # a credit note, in full or in part
    REMINDER_FEE = "reminder_fee"  # a payment reminder with its fee
    DUE_DATE_PASSED = "due_date_passed"  # the daily job's look at the calendar
    PAYMENT_FAILED = "payment_failed"  # a Stripe attempt declined or failed
    BALANCE = "balance"  # a credit balance moved from one invoice to the subscriber's next
    REFUND = "refund"  # money paid back to the subscriber (a card refund that succeeded)


S = InvoiceState
E = InvoiceEvent
_OPEN = (S.ISSUED, S.OVERDUE)
_SETTLED = (S.ISSUED, S.OVERDUE, S.PAID, S.CREDITED)

# event -> (states it applies to, states it may lead to)
TRANSITIONS: dict[InvoiceEvent, tuple[tuple[InvoiceState, ...], tuple[InvoiceState, ...]]] = {
    E.ISSUE: ((S.DRAFT,), (S.ISSUED,)),
    E.PAYMENT: ((*_OPEN, S.PAID), (*_OPEN, S.PAID)),
    E.CREDIT: ((*_OPEN, S.PAID), _SETTLED),
    E.REMINDER_FEE: ((S.OVERDUE,), (S.OVERDUE,)),
    E.DUE_DATE_PASSED: ((S.ISSUED,), _OPEN),
    E.PAYMENT_FAILED: ((*_OPEN, S.PAID), (*_OPEN, S.PAID)),
    E.BALANCE: (_SETTLED, _SETTLED),
    E.REFUND: ((S.PAID, S.CREDITED), (S.PAID, S.CREDITED)),
}


@dataclass(frozen=True)
class Figures:
    """What decides a state: an invoice's amounts (minor units) and its due date."""

    total: int
    paid: int = 0
    credited: int = 0
    fees: int = 0
    due_at: datetime | None = None

    @property
    def amount_due(self) -> int:
        return amount_due(self.total, self.paid, self.credited, self.fees)


def amount_due(total: int, paid: int, credited: int, fees: int = 0) -> int:
    """Negative: a credit balance (the subscriber paid more than was owed)."""
    return total - credited + fees - paid


def applies_to(event: InvoiceEvent) -> tuple[InvoiceState, ...]:
    """The states ``event`` may happen in (e.g. the overdue candidates' WHERE)."""
    return TRANSITIONS[event][0]


def allowed(state: str, event: InvoiceEvent) -> bool:
    return InvoiceState(state) in TRANSITIONS[event][0]


def next_state(state: str, event: InvoiceEvent, figures: Figures, now: datetime) -> InvoiceState:
    """The state after ``event``, with ``figures`` as they are once it is applied.

    Raises ``InvoiceStateError`` when the table does not let ``event`` happen in ``state``.
    """
    current = InvoiceState(state)
    sources, targets = TRANSITIONS[event]
    if current not in sources:
        raise InvoiceStateError(current, event)
    target = _decide(current, event, figures, now)
    if target not in targets:  # the figures ask for a move the table forbids
        raise InvoiceStateError(current, event, target)
    return target


def _decide(
    current: InvoiceState, event: InvoiceEvent, figures: Figures, now: datetime
) -> InvoiceState:
    if event is E.ISSUE:
        return S.ISSUED
    if event is E.PAYMENT_FAILED:  # nothing was paid: nothing changes (never un-pays)
        return current
    if event is not E.DUE_DATE_PASSED and figures.credited >= figures.total:
        return S.CREDITED
    if figures.amount_due <= 0:
        return S.PAID
    if current is S.OVERDUE:  # owing again is not possible; overdue stays until settled
        return S.OVERDUE
    if current is S.PAID:  # paid stays paid: credits and payments only lower what is due
        return S.PAID
    past_due = figures.due_at is not None and now > figures.due_at
    return S.OVERDUE if past_due else S.ISSUED


# Stripe attempt outcomes, in the only order they may be recorded: a succeeded attempt is
# final, a failed one may still succeed (a later confirmation), nothing goes back to pending
_OUTCOME_RANK = {"pending": 0, "failed": 1, "succeeded": 2}


def outcome_applies(recorded: str, reported: str) -> bool:
    """Does a reported attempt outcome change the recorded one (else: stale or a duplicate)?"""
    return _OUTCOME_RANK[reported] > _OUTCOME_RANK.get(recorded, 0)
