"""Price charging periods under a tariff, exactly, the way OCPI 2.2.1 does.

Rules (docs/tariffs.md has the reasoning):
- per period and per dimension, the first element whose restrictions match is active
  (restrictions are evaluated at the period's start; the period builder cut where they change);
- FLAT counts once per session; a reservation FLAT once more, as reservation cost;
- step_size is applied once per session per dimension: the session total of the dimension is
  rounded up to the step of the last component that priced it, and the surplus is billed at that
  component's price; when TIME and PARKING_TIME are both priced, only parking is rounded;
- min_price/max_price bound the total excl. VAT and the total incl. VAT, each on its own; a
  bound without incl_vat is given the session's own VAT mix (see _limit).
Full precision is kept; rounding to the currency's minor unit is billing's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Context, Decimal, localcontext
from zoneinfo import ZoneInfo

from tariffs.model import Dimension, Price, ReservationRestriction, Tariff
from tariffs.periods import ChargingPeriod, SessionTrace, build_periods, zone_for
from tariffs.plan import ComponentPlan, TariffPlan, passes, plan_for

_ZERO = Decimal(0)
_HOUR = Decimal(3600)
_THOUSAND = Decimal(1000)
_CONTEXT = Context(prec=34)
_ZONES: dict[str, ZoneInfo] = {}


@dataclass(frozen=True, slots=True)
class Cost:
    """An amount excl. and incl. VAT (full precision)."""

    excl_vat: Decimal
    incl_vat: Decimal

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.excl_vat + other.excl_vat, self.incl_vat + other.incl_vat)


ZERO_COST = Cost(_ZERO, _ZERO)


@dataclass(frozen=True, slots=True)
class PricedLine:
    """What one price component billed in the session.

    ``volume`` is in the OCPI unit of the dimension (kWh, hours, 1 for FLAT) and includes the
    step_size surplus; ``rounded_up`` is that surplus.
    """

    dimension: Dimension
    element_index: int
    price: Decimal
    vat: Decimal | None
    volume: Decimal
    rounded_up: Decimal
    cost: Cost
    reservation: bool = False


@dataclass(frozen=True, slots=True)
class PricedSession:
    """A priced session: lines, OCPI CDR totals (costs as Cost, volumes in kWh and hours).

    ``total_cost`` is after min/max price; the per-dimension totals are before it, and
    ``price_limit_adjustment`` is the difference (0 when no limit applied).
    """

    currency: str
    tariff_id: str | None
    periods: tuple[ChargingPeriod, ...]
    lines: tuple[PricedLine, ...]
    total_cost: Cost
    total_fixed_cost: Cost
    total_energy_cost: Cost
    total_time_cost: Cost
    total_parking_cost: Cost
    total_reservation_cost: Cost
    price_limit_adjustment: Cost
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal

    @property
    def total_charging_time(self) -> Decimal:
        """Hours charging (OCPI: total_time - total_parking_time)."""
        return self.total_time - self.total_parking_time

    @property
    def start(self) -> datetime | None:
        return self.periods[0].start if self.periods else None

    @property
    def end(self) -> datetime | None:
        return self.periods[-1].end if self.periods else None


def price_session(
    tariff: Tariff, trace: SessionTrace, tz: str, *, reservation_expired: bool = False
) -> PricedSession:
    """Build the periods of a metered session and price them."""
    periods = build_periods(trace, tariff, tz)
    return price_periods(tariff, periods, tz, reservation_expired=reservation_expired)


def price_periods(
    tariff: Tariff,
    periods: Sequence[ChargingPeriod],
    tz: str,
    *,
    reservation_expired: bool = False,
) -> PricedSession:
    """Price periods (in time order) under ``tariff``; ``tz`` is the site's IANA zone."""
    plan = plan_for(tariff)
    zone = _ZONES.get(tz) or _ZONES.setdefault(tz, zone_for(tz))
    with localcontext(_CONTEXT):
        return _price(tariff, plan, periods, zone, reservation_expired)


# Buckets for quantities and step rounding.
_E, _T, _P, _R = 0, 1, 2, 3


def _price(
    tariff: Tariff,
    plan: TariffPlan,
    periods: Sequence[ChargingPeriod],
    zone: ZoneInfo,
    reservation_expired: bool,
) -> PricedSession:
    qty: dict[int, Decimal] = {}
    totals = [_ZERO, _ZERO, _ZERO, _ZERO]  # kWh, s, s, s over all periods, priced or not
    last: list[ComponentPlan | None] = [None, None, None, None]
    flat: ComponentPlan | None = None
    reservation_flat: ComponentPlan | None = None
    cumulative = _ZERO
    needs_local = plan.needs_local
    first = periods[0].start if periods else None

    for p in periods:
        local = p.start.astimezone(zone) if needs_local else None
        elapsed = p.start - first if first is not None else timedelta(0)
        kwh, cs, ps = p.energy_kwh, p.charging_s, p.parking_s
        kw, amps = p.max_power_kw, p.max_current_a
        ce = ct = cp = None
        want_e, want_t, want_p, want_f = kwh > 0, cs > 0, ps > 0, flat is None
        for checks, e_c, t_c, p_c, f_c in plan.rows:
            if checks and not passes(checks, local, cumulative, elapsed, kw, amps):
                continue
            if want_e and e_c is not None:
                ce, want_e = e_c, False
            if want_t and t_c is not None:
                ct, want_t = t_c, False
            if want_p and p_c is not None:
                cp, want_p = p_c, False
            if want_f and f_c is not None:
                flat, want_f = f_c, False
            if not (want_e or want_t or want_p or want_f):
                break
        if ce is not None:
            qty[ce.key] = qty.get(ce.key, _ZERO) + kwh
            last[_E] = ce
        if ct is not None:
            qty[ct.key] = qty.get(ct.key, _ZERO) + cs
            last[_T] = ct
        if cp is not None:
            qty[cp.key] = qty.get(cp.key, _ZERO) + ps
            last[_P] = cp
        totals[_E] += kwh
        totals[_T] += cs
        totals[_P] += ps
        cumulative += kwh
        if p.reservation_s > 0:
            totals[_R] += p.reservation_s
            rt, rf = _reservation_components(
                plan, reservation_expired, local, cumulative, elapsed, kw, amps
            )
            if rt is not None:
                qty[rt.key] = qty.get(rt.key, _ZERO) + p.reservation_s
                last[_R] = rt
            if reservation_flat is None:
                reservation_flat = rf

    surplus = _step_surplus(totals, last, qty)
    for comp in (flat, reservation_flat):
        if comp is not None:
            qty[comp.key] = Decimal(1)
    return _assemble(tariff, plan, periods, qty, surplus, totals)


def _reservation_components(
    plan: TariffPlan,
    expired: bool,
    local: datetime | None,
    kwh: Decimal,
    elapsed: timedelta,
    kw: Decimal | None,
    amps: Decimal | None,
) -> tuple[ComponentPlan | None, ComponentPlan | None]:
    """TIME and FLAT of the first matching reservation elements (expiry ones first if expired)."""
    kinds = [ReservationRestriction.RESERVATION]
    if expired:
        kinds.insert(0, ReservationRestriction.RESERVATION_EXPIRES)
    time_c = flat_c = None
    for kind in kinds:
        for e in plan.elements:
            if e.reservation is not kind:
                continue
            if e.checks and not passes(e.checks, local, kwh, elapsed, kw, amps):
                continue
            time_c = time_c or e.by_dimension.get(Dimension.TIME)
            flat_c = flat_c or e.by_dimension.get(Dimension.FLAT)
    return time_c, flat_c


def _step_surplus(
    totals: list[Decimal], last: list[ComponentPlan | None], qty: dict[int, Decimal]
) -> dict[int, Decimal]:
    """Round each dimension's session total up to the step of its last component (the CDR
    chapter's rule); the surplus is billed by that component. Returns surplus per component."""
    surplus: dict[int, Decimal] = {}
    both_times = last[_T] is not None and last[_P] is not None
    for bucket, comp in enumerate(last):
        if comp is None or (bucket == _T and both_times):
            continue
        total = totals[bucket] * _THOUSAND if bucket == _E else totals[bucket]
        step = comp.component.step_size
        if step == 0:  # published by real CPOs: no rounding
            continue
        rounded = (total / step).to_integral_value(ROUND_CEILING) * step
        extra = rounded - total
        if extra > 0:
            if bucket == _E:
                extra /= _THOUSAND
            qty[comp.key] += extra
            surplus[comp.key] = extra
    return surplus


def _assemble(
    tariff: Tariff,
    plan: TariffPlan,
    periods: Sequence[ChargingPeriod],
    qty: dict[int, Decimal],
    surplus: dict[int, Decimal],
    totals: list[Decimal],
) -> PricedSession:
    lines = []
    fixed = energy = time = parking = reservation = ZERO_COST
    for key in sorted(qty):
        comp = plan.components[key]
        c = comp.component
        dim = c.type
        volume = qty[key]
        rounded = surplus.get(key, _ZERO)
        if dim is Dimension.ENERGY:
            excl = c.price * volume
        elif dim is Dimension.FLAT:
            excl = c.price
        else:
            excl = c.price * volume / _HOUR
            volume /= _HOUR
            rounded /= _HOUR
        cost = Cost(excl, excl * comp.vat_factor)
        lines.append(
            PricedLine(
                dim, comp.element_index, c.price, c.vat, volume, rounded, cost, comp.reservation
            )
        )
        if comp.reservation:
            reservation += cost
        elif dim is Dimension.ENERGY:
            energy += cost
        elif dim is Dimension.TIME:
            time += cost
        elif dim is Dimension.PARKING_TIME:
            parking += cost
        else:
            fixed += cost
    subtotal = fixed + energy + time + parking + reservation
    total = _limit(subtotal, tariff.min_price, tariff.max_price, plan)
    return PricedSession(
        currency=tariff.currency,
        tariff_id=tariff.id,
        periods=tuple(periods),
        lines=tuple(lines),
        total_cost=total,
        total_fixed_cost=fixed,
        total_energy_cost=energy,
        total_time_cost=time,
        total_parking_cost=parking,
        total_reservation_cost=reservation,
        price_limit_adjustment=Cost(
            total.excl_vat - subtotal.excl_vat, total.incl_vat - subtotal.incl_vat
        ),
        total_energy=totals[_E],
        total_time=(totals[_T] + totals[_P]) / _HOUR,
        total_parking_time=totals[_P] / _HOUR,
        total_reservation_time=totals[_R] / _HOUR,
    )


def _limit(cost: Cost, low: Price | None, high: Price | None, plan: TariffPlan) -> Cost:
    """min_price and max_price bound excl. and incl. VAT each on its own (OCPI notes).

    A bound that gives only excl_vat gets its incl. VAT from the session's own VAT mix: the
    bound times the session's incl/excl ratio, as if every part of the session were scaled to
    the bound, each keeping its VAT. A session that cost nothing has no mix: the ratio is then
    the highest 1 + vat/100 of the tariff's components (1 when none has VAT). So incl. VAT is
    never below excl. VAT, and a one-rate tariff gets exactly that rate on the bound.
    """
    excl, incl = cost.excl_vat, cost.incl_vat
    if (low is None or low.incl_vat is not None) and (high is None or high.incl_vat is not None):
        ratio = _ZERO  # not needed
    elif excl > 0:
        ratio = incl / excl
    else:
        ratio = max((c.vat_factor for c in plan.components), default=Decimal(1))
    if low is not None:
        excl = max(excl, low.excl_vat)
        incl = max(incl, low.excl_vat * ratio if low.incl_vat is None else low.incl_vat)
    if high is not None:
        excl = min(excl, high.excl_vat)
        incl = min(incl, high.excl_vat * ratio if high.incl_vat is None else high.incl_vat)
    return cost if (excl, incl) == (cost.excl_vat, cost.incl_vat) else Cost(excl, incl)
