"""Invoice assembly (pure): priced sessions and fixed fees in, one invoice's lines and totals out.

Rules (docs/domain.md "Billing", EN 16931 style): each line is rounded half-up to the currency's
minor unit; a discount is one line per VAT rate; VAT is computed per rate on the sum of the
line nets and rounded once; the total is the sum of the nets plus the VAT amounts shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import NamedTuple

from billing.money import minor_units, round_half_up, vat_of

SESSION, FEE, DISCOUNT, ITEM = "session", "fee", "discount", "item"
_ONE = Decimal(1)


class PricedUsage(NamedTuple):
    """A session priced at full precision (net excl. VAT), ready to become a line.

    A NamedTuple, not a frozen dataclass: as immutable, and built seven times faster (a
    frozen dataclass sets each field through object.__setattr__; a run builds a million).
    """

    session_id: int
    charger_id: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    charging_s: int
    parking_s: int
    net: Decimal
    late: bool = False
    # the tariff's unit prices that priced it (billing/unit_prices.py)
    unit_prices: str | None = None


# lines in order of (stopped_at, session_id): a C key function, as a run sorts a million
_BY_STOP = itemgetter(3, 0)
assert PricedUsage._fields[3] == "stopped_at" and PricedUsage._fields[0] == "session_id"


@dataclass(frozen=True, slots=True)
class Fee:
    """A fixed fee already in minor units (net), with its VAT rate (None: the site's)."""

    description: str
    net: int
    vat_bp: int | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """A line of a manual invoice: quantity (thousandths) x unit price (minor units, net),
    already rounded to its net, with its VAT rate."""

    description: str
    quantity_milli: int
    unit_price: int
    net: int
    vat_bp: int


class Line(NamedTuple):
    """One invoice line; a NamedTuple for the same reason as PricedUsage (a million a run)."""

    kind: str
    description: str
    net: int
    vat_bp: int
    session_id: int | None = None
    charger_id: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    energy_wh: int | None = None
    charging_s: int | None = None
    parking_s: int | None = None
    late: bool = False
    unit_prices: str | None = None
    # an item line's (a manual invoice's): quantity in thousandths, unit price in minor units
    quantity_milli: int | None = None
    unit_price: int | None = None


@dataclass(frozen=True, slots=True)
class VatGroup:
    vat_bp: int
    net: int
    vat: int


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    subscriber_id: int
    site_id: str
    period: str
    currency: str
    lines: tuple[Line, ...]
    vat_groups: tuple[VatGroup, ...]
    net: int
    vat: int
    total: int

    @property
    def session_ids(self) -> list[int]:
        return [ln.session_id for ln in self.lines if ln.session_id is not None]

    @property
    def energy_wh(self) -> int:
        return sum(ln.energy_wh or 0 for ln in self.lines if ln.kind == SESSION)


def vat_groups(lines: Iterable[Line]) -> tuple[VatGroup, ...]:
    """VAT per rate on the sum of the line nets, rounded once per rate."""
    nets: dict[int, int] = {}
    for line in lines:
        nets[line.vat_bp] = nets.get(line.vat_bp, 0) + line.net
    return tuple(VatGroup(bp, net, vat_of(net, bp)) for bp, net in sorted(nets.items()))


def assemble(
    *,
    subscriber_id: int,
    site_id: str,
    period: str,
    currency: str,
    site_vat_bp: int,
    usage: Sequence[PricedUsage],
    fees: Sequence[Fee] = (),
    discount_bp: int = 0,
    discount_text: str = "Discount",
    items: Sequence[Item] = (),
) -> InvoiceDraft:
    """One subscriber's invoice for ``period``: a line per session, per fee, per item (a
    manual invoice's), per discount."""
    scale = Decimal(10) ** minor_units(currency)
    lines: list[Line] = [
        Line(
            SESSION,
            "",
            int((u.net * scale).quantize(_ONE, ROUND_HALF_UP)),  # to_minor, inlined (hot)
            site_vat_bp,
            u.session_id,
            u.charger_id,
            u.started_at,
            u.stopped_at,
            u.energy_wh,
            u.charging_s,
            u.parking_s,
            u.late,
            u.unit_prices,
        )
        for u in sorted(usage, key=_BY_STOP)
    ]
    lines.extend(
        Line(FEE, f.description, f.net, site_vat_bp if f.vat_bp is None else f.vat_bp) for f in fees
    )
    lines.extend(
        Line(ITEM, i.description, i.net, i.vat_bp, quantity_milli=i.quantity_milli,
             unit_price=i.unit_price)
        for i in items
    )  # fmt: skip
    if discount_bp:
        for group in vat_groups(lines):
            amount = round_half_up(Decimal(group.net) * discount_bp / 10000)
            if amount:
                lines.append(Line(DISCOUNT, discount_text, -amount, group.vat_bp))
    groups = vat_groups(lines)
    net = sum(g.net for g in groups)
    vat = sum(g.vat for g in groups)
    return InvoiceDraft(
        subscriber_id, site_id, period, currency, tuple(lines), groups, net, vat, net + vat
    )
