"""Pro-rata credit of advance fees when a subscriber leaves (pure)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from billing.cancellation import unused_fees, unused_months
from billing.fees import fees_for
from billing.months import shift

QUARTER = {
    "description": "Charging",
    "amount": 45000,
    "period_months": 3,
    "first_period": "2026-11",
}
YEAR = {"description": "Spot", "amount": 120000, "period_months": 12, "first_period": "2026-11"}
MONTHLY = {"description": "Parking", "amount": 30000, "period_months": 1, "first_period": "2026-01"}


def billed(period: str, *plans: dict[str, Any], discount: int = 0) -> list[dict[str, Any]]:
    lines = [
        {"kind": "fee", "description": f.description, "net": f.net, "vat_bp": 2500}
        for f in fees_for(plans, period)
    ]
    if discount:
        lines.append(
            {"kind": "discount", "description": "Discount", "net": -discount, "vat_bp": 2500}
        )
    return lines


def test_unused_months_of_a_fee_period() -> None:
    assert unused_months("2026-11", 3, "2026-11") == 2
    assert unused_months("2026-11", 3, "2027-01") == 0
    assert unused_months("2026-11", 3, "2026-10") == 3  # left before the period began
    assert unused_months("2026-11", 12, "2027-03") == 7


def test_a_quarter_paid_ahead_is_credited_for_the_months_after_the_cancellation() -> None:
    invoiced = {"2026-10": billed("2026-10", QUARTER, MONTHLY)}
    (credit,) = unused_fees([QUARTER, MONTHLY], invoiced, "2026-11")
    assert (credit.period, credit.description) == ("2026-10", "Charging (2026-11..2027-01)")
    assert (credit.net, credit.unused_months, credit.months, credit.vat_bp) == (30000, 2, 3, 2500)


def test_the_discount_is_credited_back_in_proportion() -> None:
    # 10 % off a 450.00 quarter and a 300.00 month: 75.00 of discount on 750.00
    invoiced = {"2026-10": billed("2026-10", QUARTER, MONTHLY, discount=7500)}
    (credit,) = unused_fees([QUARTER], invoiced, "2026-11")
    assert credit.net == 27000  # 450.00 x 2/3 x 0.9


def test_monthly_fees_and_fees_not_on_the_invoice_are_never_credited() -> None:
    assert unused_fees([MONTHLY], {"2026-10": billed("2026-10", MONTHLY)}, "2026-10") == []
    assert unused_fees([QUARTER], {"2026-10": []}, "2026-10") == []  # the invoice lacks it
    assert unused_fees([YEAR], {"2026-10": billed("2026-10", YEAR)}, "2027-10") == []


@given(st.integers(min_value=-3, max_value=15), st.integers(min_value=1, max_value=10**9))
def test_the_credit_never_exceeds_the_fee_and_shrinks_with_time(leave_at: int, amount: int) -> None:
    plan = {**YEAR, "amount": amount}
    invoiced = {"2026-10": billed("2026-10", plan)}
    credits = [
        sum(c.net for c in unused_fees([plan], invoiced, shift("2026-11", n)))
        for n in range(leave_at, leave_at + 2)
    ]
    assert 0 <= credits[1] <= credits[0] <= amount
