"""Rounding to minor units and month boundaries in the site's zone (Oslo DST)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.money import format_amount, to_minor, vat_of
from billing.months import PeriodError, month_bounds, period_of, shift


def test_half_up_to_the_minor_unit() -> None:
    assert to_minor(Decimal("1.005"), "NOK") == 101
    assert to_minor(Decimal("1.00499999"), "NOK") == 100
    assert to_minor(Decimal("0.125"), "EUR") == 13
    assert to_minor(Decimal("100.5"), "JPY") == 101
    assert format_amount(12345, "NOK") == "123.45"
    assert format_amount(-5, "EUR") == "-0.05"


def test_vat_is_rounded_once_half_up() -> None:
    assert vat_of(1002, 2500) == 251  # 250.5 -> 251
    assert vat_of(1001, 2500) == 250  # 250.25 -> 250


def test_oslo_months_follow_local_midnight_across_dst() -> None:
    # October 2026: CEST (+2) at its start, CET (+1) at its end (DST ends on 25 October)
    start, end = month_bounds("2026-10", "Europe/Oslo")
    assert start == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert end == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert (end - start).total_seconds() == 31 * 86400 + 3600  # one hour longer
    # March 2026: DST starts on 29 March, the month is an hour short
    start, end = month_bounds("2026-03", "Europe/Oslo")
    assert (end - start).total_seconds() == 31 * 86400 - 3600
    assert period_of(datetime(2026, 10, 31, 22, 59, tzinfo=UTC), "Europe/Oslo") == "2026-10"
    assert period_of(datetime(2026, 10, 31, 23, 0, tzinfo=UTC), "Europe/Oslo") == "2026-11"


def test_period_arithmetic_and_errors() -> None:
    assert shift("2026-12", 1) == "2027-01"
    assert shift("2026-01", -1) == "2025-12"
    with pytest.raises(PeriodError):
        shift("2026-13", 1)
    with pytest.raises(PeriodError, match="out of range"):
        month_bounds("0000-01", "Europe/Oslo")
