"""Which fixed plan fees go on the invoice of a usage month (pure).

Usage is billed monthly in arrears. A monthly fee (period_months 1) is billed with the usage of
its own month. A quarterly or yearly fee is billed in advance: the invoice for month M (issued
at the start of M+1) carries the fee of the fee period that starts in M+1, when M+1 is a start
of one (counted from the plan's first period).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from billing.assembly import Fee
from billing.months import months_between, shift


def fees_for(plans: Iterable[Mapping[str, Any]], period: str) -> list[Fee]:
    out: list[Fee] = []
    for plan in plans:
        months = int(plan["period_months"])
        covered = period if months == 1 else shift(period, 1)
        first, last = plan["first_period"], plan.get("last_period")
        if months_between(first, covered) < 0 or (last and months_between(covered, last) < 0):
            continue
        if months_between(first, covered) % months:
            continue
        label = covered if months == 1 else f"{covered}..{shift(covered, months - 1)}"
        out.append(Fee(f"{plan['description']} ({label})", int(plan["amount"]), plan.get("vat_bp")))
    return out


PERIOD_MONTHS = (1, 3, 12)


def billed_on(first_period: str, period_months: int) -> str:
    """The usage month whose invoice carries a plan's first fee (in advance: the month before)."""
    return first_period if period_months == 1 else shift(first_period, -1)


def last_period_of(first_period: str, period_months: int, times: int) -> str:
    """The last month a plan of ``times`` fee periods covers (a recurring fee of N times)."""
    return shift(first_period, period_months * times - 1)
