"""A tariff compiled once for fast pricing: per-element match tests and the boundaries that matter.

The pricer asks, for each period, which elements are active; the period builder asks where a
session must be cut so that no period straddles a change of active element. Both questions are
answered from the same restrictions, so they live together here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tariffs.model import (
    WEEKDAYS,
    Dimension,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
)

# A test gets: local start (or None when no test needs it), session energy before the period
# (kWh), time since session start, power (kW) and current (A) of the period.
Check = Callable[[datetime | None, Decimal, timedelta, Decimal | None, Decimal | None], bool]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ComponentPlan:
    """One price component with what the pricer needs precomputed."""

    key: int  # position in TariffPlan.components
    element_index: int
    component: PriceComponent
    vat_factor: Decimal  # 1 + vat/100 (1 when no VAT applies)
    reservation: bool


@dataclass(frozen=True, slots=True)
class ElementPlan:
    index: int
    checks: tuple[Check, ...]  # all must pass; empty means always active
    reservation: ReservationRestriction | None
    # first component of each dimension in this element
    by_dimension: dict[Dimension, ComponentPlan]


# A non-reservation element flattened for the pricer's hot loop:
# (checks, ENERGY, TIME, PARKING_TIME, FLAT component or None).
Row = tuple[
    tuple[Check, ...],
    ComponentPlan | None,
    ComponentPlan | None,
    ComponentPlan | None,
    ComponentPlan | None,
]


@dataclass(frozen=True, slots=True)
class TariffPlan:
    elements: tuple[ElementPlan, ...]
    rows: tuple[Row, ...]  # the non-reservation elements, in order
    components: tuple[ComponentPlan, ...]
    needs_local: bool  # some element looks at local time, weekday or date
    # boundaries for the period builder
    times_of_day: frozenset[int]  # seconds after local midnight (0 = midnight when needed)
    energy_wh: tuple[Decimal, ...]
    durations: tuple[timedelta, ...]
    power_w: tuple[Decimal, ...]
    current_a: tuple[Decimal, ...]


def plan_for(tariff: Tariff) -> TariffPlan:
    """The tariff's plan, built once and kept on the (immutable) tariff."""
    plan = tariff._plan
    if plan is None:
        plan = compile_tariff(tariff)
        object.__setattr__(tariff, "_plan", plan)
    assert isinstance(plan, TariffPlan)
    return plan


def compile_tariff(tariff: Tariff) -> TariffPlan:
    elements: list[ElementPlan] = []
    components: list[ComponentPlan] = []
    tods: set[int] = set()
    energy: set[Decimal] = set()
    durations: set[int] = set()
    power: set[Decimal] = set()
    current: set[Decimal] = set()
    needs_local = False
    for index, element in enumerate(tariff.elements):
        r = element.restrictions or Restrictions()
        by_dim: dict[Dimension, ComponentPlan] = {}
        for comp in element.price_components:
            if comp.type in by_dim:
                continue  # only the first component of a dimension counts
            vat = Decimal(1) if comp.vat is None else (_HUNDRED + comp.vat) / _HUNDRED
            plan = ComponentPlan(len(components), index, comp, vat, r.reservation is not None)
            components.append(plan)
            by_dim[comp.type] = plan
        checks = _checks(r)
        local = _uses_local_time(r)
        needs_local |= local
        if local:
            tods.add(0)
        for t in (r.start_time, r.end_time):
            if t is not None:
                tods.add(t.hour * 3600 + t.minute * 60)
        energy.update(kwh * 1000 for kwh in (r.min_kwh, r.max_kwh) if kwh is not None)
        durations.update(s for s in (r.min_duration, r.max_duration) if s is not None)
        power.update(kw * 1000 for kw in (r.min_power, r.max_power) if kw is not None)
        current.update(a for a in (r.min_current, r.max_current) if a is not None)
        elements.append(ElementPlan(index, checks, r.reservation, by_dim))
    rows = tuple(
        (
            e.checks,
            e.by_dimension.get(Dimension.ENERGY),
            e.by_dimension.get(Dimension.TIME),
            e.by_dimension.get(Dimension.PARKING_TIME),
            e.by_dimension.get(Dimension.FLAT),
        )
        for e in elements
        if e.reservation is None
    )
    return TariffPlan(
        elements=tuple(elements),
        rows=rows,
        components=tuple(components),
        needs_local=needs_local,
        times_of_day=frozenset(tods),
        energy_wh=tuple(sorted(e for e in energy if e > 0)),
        durations=tuple(timedelta(seconds=s) for s in sorted(durations) if s > 0),
        power_w=tuple(sorted(power)),
        current_a=tuple(sorted(current)),
    )


def passes(
    checks: tuple[Check, ...],
    local: datetime | None,
    kwh: Decimal,
    elapsed: timedelta,
    kw: Decimal | None,
    amps: Decimal | None,
) -> bool:
    """All checks pass (a plain loop: this runs for every element of every period)."""
    for check in checks:  # noqa: SIM110 - faster than all() over a generator
        if not check(local, kwh, elapsed, kw, amps):
            return False
    return True


def _uses_local_time(r: Restrictions) -> bool:
    return any(v is not None for v in (r.start_time, r.end_time, r.start_date, r.end_date)) or bool(
        r.day_of_week
    )


def _checks(r: Restrictions) -> tuple[Check, ...]:
    """Small tests for the restrictions that are set; lower bounds inclusive, upper exclusive."""
    checks: list[Check] = []
    if r.start_time is not None or r.end_time is not None:
        checks.append(_time_window(r))
    if r.day_of_week:
        days = frozenset(WEEKDAYS.index(d) for d in r.day_of_week)
        checks.append(lambda loc, *_: loc is not None and loc.weekday() in days)
    if r.start_date is not None or r.end_date is not None:
        checks.append(_date_window(r.start_date, r.end_date))
    if r.min_kwh is not None:
        lo_kwh = r.min_kwh
        checks.append(lambda _l, kwh, *_: kwh >= lo_kwh)
    if r.max_kwh is not None:
        hi_kwh = r.max_kwh
        checks.append(lambda _l, kwh, *_: kwh < hi_kwh)
    if r.min_duration is not None:
        lo_d = timedelta(seconds=r.min_duration)
        checks.append(lambda _l, _k, elapsed, *_: elapsed >= lo_d)
    if r.max_duration is not None:
        hi_d = timedelta(seconds=r.max_duration)
        checks.append(lambda _l, _k, elapsed, *_: elapsed < hi_d)
    if r.min_power is not None:
        lo_p = r.min_power
        checks.append(lambda _l, _k, _e, kw, _a: kw is not None and kw >= lo_p)
    if r.max_power is not None:
        hi_p = r.max_power
        checks.append(lambda _l, _k, _e, kw, _a: kw is not None and kw < hi_p)
    if r.min_current is not None:
        lo_a = r.min_current
        checks.append(lambda _l, _k, _e, _p, amps: amps is not None and amps >= lo_a)
    if r.max_current is not None:
        hi_a = r.max_current
        checks.append(lambda _l, _k, _e, _p, amps: amps is not None and amps < hi_a)
    return tuple(checks)


def _time_window(r: Restrictions) -> Check:
    start = 0 if r.start_time is None else r.start_time.hour * 3600 + r.start_time.minute * 60
    end = 86400 if r.end_time is None else r.end_time.hour * 3600 + r.end_time.minute * 60
    wraps = start > end  # e.g. 22:00-06:00 runs over midnight
    whole_day = start == end  # 08:00-08:00: read as all day (`check` warns)

    def check(
        loc: datetime | None, _k: Decimal, _e: timedelta, _p: Decimal | None, _a: Decimal | None
    ) -> bool:
        if loc is None:
            return False
        if whole_day:
            return True
        t = loc.hour * 3600 + loc.minute * 60 + loc.second
        return (t >= start or t < end) if wraps else start <= t < end

    return check


def _date_window(start: date | None, end: date | None) -> Check:
    def check(
        loc: datetime | None, _k: Decimal, _e: timedelta, _p: Decimal | None, _a: Decimal | None
    ) -> bool:
        if loc is None:
            return False
        d = loc.date()
        return (start is None or d >= start) and (end is None or d < end)

    return check
