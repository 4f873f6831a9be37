"""What a subscriber who leaves is credited (pure): the unused whole months of fees that were
invoiced in advance, pro rata.

The one rule: fees are by whole months, and the month the subscriber cancels in is the last
month they pay for. A quarterly or yearly fee already invoiced for months after it is
credited for those months: net x unused months / months of the fee period, less the invoice's
discount on that VAT rate in the same proportion, rounded half-up once, at the line's VAT rate.
Monthly fees are billed in arrears, so nothing of theirs is ever unused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.fees import fees_for
from billing.money import round_half_up
from billing.months import months_between, shift


@dataclass(frozen=True, slots=True)
class UnusedFee:
    """One advance fee line to credit in part."""

    period: str  # the usage month of the invoice that carried it
    description: str  # the invoice line's, as billing.fees wrote it
    net: int  # minor units to credit, before VAT, after the discount's share
    vat_bp: int
    unused_months: int
    months: int


def unused_months(covered_first: str, months: int, last_paid: str) -> int:
    """Months of the fee period [covered_first, +months) after ``last_paid``."""
    covered_last = shift(covered_first, months - 1)
    if months_between(last_paid, covered_last) <= 0:
        return 0
    return min(months, months_between(last_paid, covered_last))


def unused_fees(
    plans: Iterable[Mapping[str, Any]],
    invoiced: Mapping[str, Sequence[Mapping[str, Any]]],
    last_paid: str,
) -> list[UnusedFee]:
    """The credits owed when the subscriber pays up to ``last_paid`` (YYYY-MM).

    ``invoiced``: usage month -> that invoice's lines (kind, description, net, vat_bp). Only a
    fee line the invoice really carries is credited, matched by the description that
    billing.fees gives it.
    """
    out: list[UnusedFee] = []
    for plan in plans:
        months = int(plan["period_months"])
        if months == 1:
            continue
        for period, lines in sorted(invoiced.items()):
            for fee in fees_for([plan], period):
                unused = unused_months(shift(period, 1), months, last_paid)
                line = next(
                    (
                        x
                        for x in lines
                        if x["kind"] == "fee" and x["description"] == fee.description
                    ),
                    None,
                )
                if not unused or line is None:
                    continue
                share = _after_discount(line, lines)
                net = round_half_up(share * unused / months)
                if net > 0:
                    out.append(
                        UnusedFee(period, fee.description, net, int(line["vat_bp"]), unused, months)
                    )
    return out


def _fee_line(lines: Sequence[Mapping[str, Any]], description: str) -> Mapping[str, Any] | None:
    return next((x for x in lines if x["kind"] == "fee" and x["description"] == description), None)


def _after_discount(line: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> Decimal:
    """The line's net less its share of the discount on its VAT rate (exact, not rounded)."""
    rate = line["vat_bp"]
    gross = sum(int(x["net"]) for x in lines if x["vat_bp"] == rate and x["kind"] != "discount")
    discount = -sum(int(x["net"]) for x in lines if x["vat_bp"] == rate and x["kind"] == "discount")
    net = Decimal(int(line["net"]))
    return net - net * discount / gross if gross else net
