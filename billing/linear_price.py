"""A closed form of the OCPI pricer for tariffs without restrictions: the billing fast path.

When no element of a tariff is restricted, the active component of each dimension is the same
for the whole session, so the price depends only on the session's totals (Wh, charging s,
parking s). This computes exactly what ``tariffs.price_periods`` gives for such a session,
Decimal for Decimal (same operations, same order, same precision), about 10x faster;
tests/unit/billing/test_linear_price.py checks the equality with hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    # each dimension's cost depends on one total only, and a month repeats totals: its cost
    # is computed once per distinct total (a run prices a million sessions; entering a
    # localcontext alone costs about 1 µs)
    _energy: dict[int, Decimal] = field(default_factory=dict, init=False, repr=False, compare=False)
    _time: dict[tuple[int, bool], Decimal] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _parking: dict[int, Decimal] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _fixed: Decimal = field(default=_ZERO, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.flat is not None:
            object.__setattr__(self, "_fixed", _CONTEXT.add(_ZERO, self.flat.price))

    def net(self, energy_wh: int, charging_s: int, parking_s: int) -> Decimal:
        """The session's price excl. VAT (after min/max price), full precision.

        The pricer's sum, ((fixed + energy) + time) + parking, each from ZERO_COST, in its
        context, of the per-dimension costs (cached): the same Decimal as
        computing it all at once.
        """
        energy = self._energy.get(energy_wh)
        if energy is None:
            energy = self._energy[energy_wh] = self._energy_cost(energy_wh)
        stepped = parking_s <= 0 or self.parking is None  # no parking: the time is stepped
        time = self._time.get((charging_s, stepped))
        if time is None:
            time = self._time[charging_s, stepped] = self._time_cost(charging_s, stepped)
        parking = self._parking.get(parking_s)
        if parking is None:
            parking = self._parking[parking_s] = self._parking_cost(parking_s)
        add = _CONTEXT.add
        excl = add(add(add(add(_ZERO, self._fixed), energy), time), parking)
        if self.min_excl is not None:
            excl = max(excl, self.min_excl)
        if self.max_excl is not None:
            excl = min(excl, self.max_excl)
        return excl

    def _energy_cost(self, energy_wh: int) -> Decimal:
        ce = self.energy
        if ce is None or energy_wh <= 0:
            return _ZERO
        with localcontext(_CONTEXT):
            kwh = Decimal(energy_wh) / _THOUSAND
            total = kwh * _THOUSAND
            step = ce.step_size
            extra = (total / step).to_integral_value(ROUND_CEILING) * step - total
            volume = kwh + extra / _THOUSAND if extra > 0 else kwh
            return _ZERO + ce.price * volume

    def _time_cost(self, charging_s: int, stepped: bool) -> Decimal:
        ct = self.time
        if ct is None or charging_s <= 0:
            return _ZERO
        with localcontext(_CONTEXT):
            seconds = Decimal(charging_s)
            if stepped:
                seconds = _stepped(seconds, ct.step_size)
            return _ZERO + ct.price * seconds / _HOUR

    def _parking_cost(self, parking_s: int) -> Decimal:
        cp = self.parking
        if cp is None or parking_s <= 0:
            return _ZERO
        with localcontext(_CONTEXT):
            seconds = _stepped(Decimal(parking_s), cp.step_size)
            return _ZERO + cp.price * seconds / _HOUR


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
