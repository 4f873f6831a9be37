"""Hand-computed invoices: line rounding, discount per rate, VAT once per rate, totals add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.assembly import DISCOUNT, FEE, Fee, PricedUsage, assemble
from billing.fees import fees_for

T0 = datetime(2026, 10, 3, 8, tzinfo=UTC)


def usage(sid: int, net: str, hours: int = 0) -> PricedUsage:
    start = T0 + timedelta(hours=hours)
    return PricedUsage(sid, "CP1", start, start + timedelta(hours=1), 10_000, 3600, 0, Decimal(net))


def test_a_hand_computed_month() -> None:
    draft = assemble(
        subscriber_id=7,
        site_id="S1",
        period="2026-10",
        currency="NOK",
        site_vat_bp=2500,
        usage=[usage(2, "10.005", 5), usage(1, "3.3333", 1)],  # 10.01 (half-up) and 3.33
        fees=[Fee("Parking space", 19900), Fee("Card", 5000, vat_bp=1500)],
        discount_bp=1500,
    )
    nets = [ln.net for ln in draft.lines]
    # sessions in time order, then fees, then one discount line per rate
    assert [ln.session_id for ln in draft.lines[:2]] == [1, 2]
    assert nets[:4] == [333, 1001, 19900, 5000]
    # 25 %: 333 + 1001 + 19900 = 21234, discount 15 % = 3185.1 -> 3185; 15 %: 5000 -> 750
    assert [(ln.kind, ln.vat_bp, ln.net) for ln in draft.lines[4:]] == [
        (DISCOUNT, 1500, -750),
        (DISCOUNT, 2500, -3185),
    ]
    assert [(g.vat_bp, g.net, g.vat) for g in draft.vat_groups] == [
        (1500, 4250, 638),  # 637.5 -> 638
        (2500, 18049, 4512),  # 4512.25 -> 4512
    ]
    assert (draft.net, draft.vat, draft.total) == (22299, 5150, 27449)
    assert draft.total == sum(ln.net for ln in draft.lines) + sum(g.vat for g in draft.vat_groups)
    assert draft.session_ids == [1, 2]


def test_vat_on_the_sum_not_per_line() -> None:
    # three lines of 0.02 at 25 %: per line VAT would be 3 x 0.01 (0.005 half-up), once: 0.02
    draft = assemble(
        subscriber_id=1,
        site_id="S",
        period="2026-10",
        currency="EUR",
        site_vat_bp=2500,
        usage=[usage(i, "0.02", i) for i in range(3)],
    )
    assert (draft.net, draft.vat, draft.total) == (6, 2, 8)  # 1.5 -> 2


def test_fees_monthly_in_arrears_quarterly_in_advance() -> None:
    plans = [
        {"description": "Monthly", "amount": 10000, "period_months": 1, "first_period": "2026-09"},
        {"description": "Quarter", "amount": 27000, "period_months": 3, "first_period": "2026-10"},
        {
            "description": "Year",
            "amount": 99000,
            "period_months": 12,
            "first_period": "2027-01",
            "last_period": "2027-12",
        },
    ]
    assert [(f.description, f.net) for f in fees_for(plans, "2026-09")] == [
        ("Monthly (2026-09)", 10000),
        ("Quarter (2026-10..2026-12)", 27000),
    ]
    assert [f.description for f in fees_for(plans, "2026-10")] == ["Monthly (2026-10)"]
    assert [f.description for f in fees_for(plans, "2026-12")] == [
        "Monthly (2026-12)",
        "Quarter (2027-01..2027-03)",
        "Year (2027-01..2027-12)",
    ]
    # the year plan ended with 2027, the quarter goes on
    assert [f.description for f in fees_for(plans, "2027-12")] == [
        "Monthly (2027-12)",
        "Quarter (2028-01..2028-03)",
    ]
    assert fees_for(plans, "2026-08") == []
    assert all(f.vat_bp is None for f in fees_for(plans, "2026-12"))
    assert FEE == "fee"
