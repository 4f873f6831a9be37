"""A closed form of the OCPI pricer for tariffs without restrictions: the billing fast path.

When no element of a tariff is restricted, the active component of each dimension is the same
for the whole session, so the price depends only on the session's totals (Wh, charging s,
parking s). This computes exactly what ``tariffs.price_periods`` gives for such a session,
Decimal for Decimal (same operations, same order, same precision), about 10x faster;
tests/unit/billing/test_linear_price.py checks the equality with hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Context, Decimal, localcontext

from tariffs import Dimension, PriceComponent, Tariff

_ZERO = Decimal(0)
_HOUR = Decimal(3600)
_THOUSAND = Decimal(1000)
_CONTEXT = Context(prec=34)  # the pricer's context


@dataclass(frozen=True, slots=True)
class LinearPrice:
    energy: PriceComponent | None
    time: PriceComponent | None
    parking: PriceComponent | None
    flat: PriceComponent | None
    min_excl: Decimal | None
    max_excl: Decimal | None

    def net(self, energy_wh: int, charging_s: int, parking_s: int) -> Decimal:
        """The session's price excl. VAT (after min/max price), full precision."""
        with localcontext(_CONTEXT):
            return self._net(energy_wh, charging_s, parking_s)

    def _net(self, energy_wh: int, charging_s: int, parking_s: int) -> Decimal:
        fixed = energy = time = parking = _ZERO
        ce = self.energy if energy_wh > 0 else None
        ct = self.time if charging_s > 0 else None
        cp = self.parking if parking_s > 0 else None
        if self.flat is not None:
            fixed = _ZERO + self.flat.price
        if ce is not None:
            kwh = Decimal(energy_wh) / _THOUSAND
            total = kwh * _THOUSAND
            step = ce.step_size
            extra = (total / step).to_integral_value(ROUND_CEILING) * step - total
            volume = kwh + extra / _THOUSAND if extra > 0 else kwh
            energy = _ZERO + ce.price * volume
        if ct is not None:
            seconds = Decimal(charging_s)
            if cp is None:
                seconds = _stepped(seconds, ct.step_size)
            time = _ZERO + ct.price * seconds / _HOUR
        if cp is not None:
            seconds = _stepped(Decimal(parking_s), cp.step_size)
            parking = _ZERO + cp.price * seconds / _HOUR
        # the pricer's order: ((fixed + energy) + time) + parking, each from ZERO_COST
        excl = _ZERO + fixed + energy + time + parking
        if self.min_excl is not None:
            excl = max(excl, self.min_excl)
        if self.max_excl is not None:
            excl = min(excl, self.max_excl)
        return excl


def _stepped(seconds: Decimal, step: int) -> Decimal:
    rounded = (seconds / step).to_integral_value(ROUND_CEILING) * step
    extra = rounded - seconds
    return seconds + extra if extra > 0 else seconds


def linear_price(tariff: Tariff) -> LinearPrice | None:
    """The closed form of ``tariff``, or None when some element is restricted."""
    if any(not e.unrestricted for e in tariff.elements):
        return None
    first: dict[Dimension, PriceComponent] = {}
    for element in tariff.elements:
        for component in element.price_components:
            first.setdefault(component.type, component)
    return LinearPrice(
        energy=first.get(Dimension.ENERGY),
        time=first.get(Dimension.TIME),
        parking=first.get(Dimension.PARKING_TIME),
        flat=first.get(Dimension.FLAT),
        min_excl=tariff.min_price.excl_vat if tariff.min_price is not None else None,
        max_excl=tariff.max_price.excl_vat if tariff.max_price is not None else None,
    )
