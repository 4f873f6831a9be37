"""Closed forms of the OCPI pricer: a session's price from its totals alone (the fast path).

When the same elements are active for the whole session, the active component of each
dimension is the same in every period, so the price depends only on the session's totals
(Wh, charging s, parking s). ``closed_form(tariff)`` is that form for a tariff without
restrictions; ``OneWindow`` gives, for a tariff restricted by the local clock and calendar
only, the closed form of the elements active in a session that crosses no boundary where
they could change. Both compute exactly what ``price_periods``/``price_session`` give for such
a session, Decimal for Decimal (same operations, same order, same precision, which is why
they live next to the pricer), about 10x faster; tests/unit/tariffs/test_closed_form.py holds
them equal with hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Context, Decimal, localcontext

from tariffs.model import Dimension, PriceComponent, Tariff, TariffElement
from tariffs.periods import zone_for
from tariffs.plan import passes, plan_for

_ZERO = Decimal(0)
_HOUR = Decimal(3600)
_THOUSAND = Decimal(1000)
_CONTEXT = Context(prec=34)  # the pricer's context


@dataclass(frozen=True, slots=True)
class ClosedForm:
    """The price of a session from its totals, for a tariff whose active elements never change
    during the session (build with ``closed_form``)."""

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
            if not step:  # 0: no rounding
                return _ZERO + ce.price * kwh
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
    if not step:  # 0: no rounding
        return seconds
    rounded = (seconds / step).to_integral_value(ROUND_CEILING) * step
    extra = rounded - seconds
    return seconds + extra if extra > 0 else seconds


def closed_form(tariff: Tariff) -> ClosedForm | None:
    """The closed form of ``tariff``, or None when some element is restricted."""
    if any(not e.unrestricted for e in tariff.elements):
        return None
    first: dict[Dimension, PriceComponent] = {}
    for element in tariff.elements:
        for component in element.price_components:
            first.setdefault(component.type, component)
    return ClosedForm(
        energy=first.get(Dimension.ENERGY),
        time=first.get(Dimension.TIME),
        parking=first.get(Dimension.PARKING_TIME),
        flat=first.get(Dimension.FLAT),
        min_excl=tariff.min_price.excl_vat if tariff.min_price is not None else None,
        max_excl=tariff.max_price.excl_vat if tariff.max_price is not None else None,
    )


_ZERO_TIME = timedelta(0)
_CLOCK_ONLY = frozenset({"start_time", "end_time", "day_of_week", "start_date", "end_date"})


def clock_boundaries(tariff: Tariff) -> frozenset[int] | None:
    """Seconds after local midnight where a clock-only tariff may switch element, or None
    when some restriction looks at anything but the local clock and calendar."""
    out = {0}
    for element in tariff.elements:
        r = element.restrictions
        if r is None or r.is_empty:
            continue
        used = {name for name in r.__dataclass_fields__ if getattr(r, name) not in (None, ())}
        if not used <= _CLOCK_ONLY:
            return None
        for t in (r.start_time, r.end_time):
            if t is not None:
                out.add(t.hour * 3600 + t.minute * 60 + t.second)
    return frozenset(out)


class OneWindow:
    """Closed forms for sessions inside one window of a clock-only tariff.

    A session that stays on one local day, at one UTC offset, with no start or end time of
    the tariff strictly inside it has the same elements active in every period (the pricer
    tests restrictions at each period's start, and nothing they look at changes): the general
    pricer is then the closed form of a tariff made of those elements, unrestricted, on the
    session's totals, whatever the session's charging/parking timeline.
    """

    def __init__(self, tariff: Tariff, tz: str) -> None:
        self.tariff = tariff
        self.zone = zone_for(tz)
        self.boundaries = clock_boundaries(tariff)
        # the closed form of each set of elements found active together
        self.forms: dict[tuple[int, ...], ClosedForm | None] = {}

    def local_start(self, started_at: datetime, stopped_at: datetime) -> datetime | None:
        """The local start of a session inside one window, or None when it is not."""
        if self.boundaries is None:
            return None
        a = started_at.astimezone(self.zone)
        b = stopped_at.astimezone(self.zone)
        if a.date() != b.date() or a.utcoffset() != b.utcoffset():
            return None
        lo = a.hour * 3600 + a.minute * 60 + a.second + a.microsecond / 1e6
        hi = b.hour * 3600 + b.minute * 60 + b.second + b.microsecond / 1e6
        return None if any(lo < t < hi for t in self.boundaries) else a

    def form(self, started_at: datetime, stopped_at: datetime) -> ClosedForm | None:
        """The closed form that prices a session from ``started_at`` to ``stopped_at``, or
        None when it is not inside one window (price it through its periods then)."""
        a = self.local_start(started_at, stopped_at)
        if a is None:
            return None
        active = tuple(
            e.index
            for e in plan_for(self.tariff).elements
            if passes(e.checks, a, _ZERO, _ZERO_TIME, None, None)
        )
        if active not in self.forms:
            components = (self.tariff.elements[i].price_components for i in active)
            window = replace(self.tariff, elements=tuple(map(TariffElement, components)))
            self.forms[active] = closed_form(window)
        return self.forms[active]

    def net(
        self,
        started_at: datetime,
        stopped_at: datetime,
        energy_wh: int,
        charging_s: int,
        parking_s: int,
    ) -> Decimal | None:
        """The price excl. VAT of a session inside one window from its totals, or None."""
        form = self.form(started_at, stopped_at)
        return None if form is None else form.net(energy_wh, charging_s, parking_s)
