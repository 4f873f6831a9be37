"""The invoice lifecycle: states from payments, credits, fees and the due date; refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.errors import BillingError, InvoiceStateError
from billing.lifecycle import (
    TRANSITIONS,
    Figures,
    InvoiceEvent,
    InvoiceState,
    amount_due,
    next_state,
    outcome_applies,
)

DUE = datetime(2026, 12, 1, tzinfo=UTC)
E = InvoiceEvent
S = InvoiceState


def state_after(
    state: str,
    total: int,
    paid: int,
    credited: int,
    fees: int,
    due_at: datetime | None,
    now: datetime,
) -> str:
    """The figures' state through the event that brought them (a credit, a payment, or the
    daily look at the due date)."""
    event = E.CREDIT if credited else E.PAYMENT if paid else E.DUE_DATE_PASSED
    return next_state(state, event, Figures(total, paid, credited, fees, due_at), now).value


def test_states_from_payments_credits_and_the_due_date() -> None:
    before, after = DUE - timedelta(days=1), DUE + timedelta(days=1)
    assert state_after("issued", 1000, 0, 0, 0, DUE, before) == "issued"
    assert state_after("issued", 1000, 400, 0, 0, DUE, after) == "overdue"  # partial
    assert state_after("overdue", 1000, 1000, 0, 0, DUE, after) == "paid"
    assert state_after("issued", 1000, 1200, 0, 0, DUE, before) == "paid"  # overpaid
    assert amount_due(1000, 1200, 0) == -200  # a credit balance
    assert state_after("issued", 1000, 1000, 0, 50, DUE, after) == "overdue"  # fee unpaid
    assert state_after("paid", 1000, 1000, 1000, 0, DUE, after) == "credited"
    assert state_after("issued", 1000, 0, 300, 0, DUE, before) == "issued"  # partly credited
    assert state_after("issued", 1000, 700, 300, 0, DUE, before) == "paid"
    # a draft takes nothing but its issue (ledger.py let it stay draft silently)
    with pytest.raises(InvoiceStateError):
        state_after("draft", 1000, 0, 0, 0, DUE, after)


def test_the_states_are_stored_as_before() -> None:
    assert [s.value for s in S] == ["draft", "issued", "overdue", "paid", "credited"]
    assert S("paid") is S.PAID and S.PAID == "paid"


def test_issue_and_the_due_date() -> None:
    now = DUE - timedelta(days=30)
    assert next_state("draft", E.ISSUE, Figures(1000, due_at=DUE), now) is S.ISSUED
    assert next_state("issued", E.DUE_DATE_PASSED, Figures(1000, due_at=DUE), DUE) is S.ISSUED
    late = DUE + timedelta(seconds=1)
    assert next_state("issued", E.DUE_DATE_PASSED, Figures(1000, due_at=DUE), late) is S.OVERDUE
    with pytest.raises(InvoiceStateError, match="is issued cannot take the event 'issue'"):
        next_state("issued", E.ISSUE, Figures(1000, due_at=DUE), now)
    for state in ("draft", "overdue", "paid", "credited"):  # only issued ones fall due
        with pytest.raises(InvoiceStateError):
            next_state(state, E.DUE_DATE_PASSED, Figures(1000, due_at=DUE), late)


def test_an_overdue_invoice_stays_overdue_until_settled() -> None:
    late = DUE + timedelta(days=3)
    fig = Figures(1000, paid=200, fees=50, due_at=DUE)
    assert next_state("overdue", E.PAYMENT, fig, late) is S.OVERDUE
    assert next_state("overdue", E.REMINDER_FEE, fig, late) is S.OVERDUE
    assert next_state("overdue", E.CREDIT, Figures(1000, 200, 800, 50, DUE), late) is S.OVERDUE
    assert next_state("overdue", E.PAYMENT, Figures(1000, 1050, 0, 50, DUE), late) is S.PAID
    with pytest.raises(InvoiceStateError):  # reminders go to overdue invoices only
        next_state("issued", E.REMINDER_FEE, fig, late)


def test_credits_in_full_and_credited_is_final() -> None:
    assert next_state("overdue", E.CREDIT, Figures(1000, 0, 1000), DUE) is S.CREDITED
    assert next_state("paid", E.CREDIT, Figures(1000, 1000, 400), DUE) is S.PAID  # balance
    for event in (E.PAYMENT, E.CREDIT, E.REMINDER_FEE, E.PAYMENT_FAILED, E.ISSUE):
        with pytest.raises(InvoiceStateError) as caught:
            next_state("credited", event, Figures(1000, 0, 1000), DUE)
        assert isinstance(caught.value, BillingError)  # the CLI and API's user error
        assert caught.value.state == "credited" and caught.value.event == event


def test_a_stripe_failure_never_unpays() -> None:
    paid = Figures(1000, 1000, due_at=DUE)
    assert next_state("paid", E.PAYMENT_FAILED, paid, DUE + timedelta(days=9)) is S.PAID
    assert next_state("issued", E.PAYMENT_FAILED, Figures(1000), DUE) is S.ISSUED
    # the recorded outcome of an attempt only moves forward
    assert outcome_applies("pending", "succeeded") and outcome_applies("pending", "failed")
    assert outcome_applies("failed", "succeeded")
    assert not outcome_applies("succeeded", "failed")
    assert not outcome_applies("succeeded", "succeeded")  # a duplicate delivery
    assert not outcome_applies("failed", "failed")


def test_the_table_covers_every_event_and_leads_only_to_known_states() -> None:
    assert set(TRANSITIONS) == set(InvoiceEvent)
    for event, (sources, targets) in TRANSITIONS.items():
        assert sources and targets
        if event not in (E.BALANCE, E.REFUND):  # money may leave a credited invoice
            assert S.CREDITED not in sources  # the end of the road
        assert S.DRAFT not in targets  # nothing goes back to a draft (it has no number)


def test_moving_a_balance_out_of_a_credited_invoice_leaves_it_credited() -> None:
    # paid 100.00, then credited in full: the 100.00 paid moves to the next invoice
    moved_out = Figures(total=10000, paid=0, credited=10000)
    assert next_state("credited", E.BALANCE, moved_out, DUE) is S.CREDITED
    # and the invoice it moves to is paid by it
    assert next_state("issued", E.BALANCE, Figures(total=8000, paid=8000), DUE) is S.PAID
    assert next_state("issued", E.BALANCE, Figures(total=8000, paid=5000), DUE) is S.ISSUED
