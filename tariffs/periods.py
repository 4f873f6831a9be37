"""From a metered session to OCPI charging periods, cut wherever the tariff could change price.

A period never straddles a change of active tariff element, so the pricer may look at each
period's start only. Energy inside a period is interpolated linearly between meter readings.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tariffs.errors import TariffError
from tariffs.model import Tariff
from tariffs.numbers import to_decimal
from tariffs.plan import TariffPlan, plan_for

CHARGING = "charging"
PARKING = "parking"
IDLE = "idle"  # neither charging nor parking (e.g. the connector Faulted): time not priced
STATES = frozenset({CHARGING, PARKING, IDLE})
_ZERO = Decimal(0)
_THOUSAND = Decimal(1000)
_HOUR = Decimal(3600)
_MICRO = Decimal("0.000001")
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    """One OCPI charging period, from ``start`` to ``end`` (aware datetimes).

    Durations are kept in seconds (exact); the OCPI volumes in hours are properties. Power and
    current are the period's maxima (None when unknown: a power or current restriction then
    does not match).
    """

    start: datetime
    end: datetime
    energy_kwh: Decimal = _ZERO
    charging_s: Decimal = _ZERO
    parking_s: Decimal = _ZERO
    reservation_s: Decimal = _ZERO
    max_power_kw: Decimal | None = None
    max_current_a: Decimal | None = None
    min_power_kw: Decimal | None = None
    min_current_a: Decimal | None = None
    tariff_id: str | None = None

    @property
    def time_h(self) -> Decimal:
        """OCPI TIME: hours charging."""
        return self.charging_s / _HOUR

    @property
    def parking_time_h(self) -> Decimal:
        """OCPI PARKING_TIME: hours connected but not charging."""
        return self.parking_s / _HOUR


@dataclass(frozen=True, slots=True)
class SessionTrace:
    """The plain input of a metered session, as billing builds it from stored samples.

    ``meter``: energy register readings in Wh (non-decreasing); ``states``: ``"charging"``,
    ``"parking"`` or ``"idle"`` (time that is neither, priced by no time dimension) from that
    instant on (charging before the first entry); ``power`` in W and
    ``current`` in A, each value holding from its instant on. When ``power`` is absent it is
    derived from the meter (average power between readings). Numbers may be int, str or Decimal.
    """

    started_at: datetime
    stopped_at: datetime
    meter: Sequence[tuple[datetime, Decimal | int | str]]
    states: Sequence[tuple[datetime, str]] = ()
    power: Sequence[tuple[datetime, Decimal | int | str]] | None = None
    current: Sequence[tuple[datetime, Decimal | int | str]] | None = None


def zone_for(tz: str) -> ZoneInfo:
    """The IANA zone, or a TariffError naming it."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise TariffError("tz", f"unknown time zone {tz!r}") from None


def build_periods(trace: SessionTrace, tariff: Tariff, tz: str) -> list[ChargingPeriod]:
    """Cut the session at every instant where the tariff could switch element, then measure."""
    zone = zone_for(tz)
    plan = plan_for(tariff)
    start, stop = _aware(trace.started_at, "started_at"), _aware(trace.stopped_at, "stopped_at")
    if stop < start:
        raise TariffError("stopped_at", "must not be before started_at")
    meter = _Series(trace.meter, "meter", monotone=True)
    states = _states(trace.states)
    power = (
        _Series(trace.power, "power", monotone=False).steps()
        if trace.power is not None
        else meter.average_power()
    )
    current = (
        _Series(trace.current, "current", monotone=False).steps()
        if trace.current is not None
        else None
    )
    if start == stop:
        return [ChargingPeriod(start, stop, tariff_id=tariff.id)]

    cuts = {start, stop}
    cuts.update(t for t, _ in states if start < t < stop)
    if plan.times_of_day:
        cuts.update(_local_cuts(plan, zone, start, stop))
    cuts.update(start + d for d in plan.durations if start + d < stop)
    if plan.energy_wh and meter.points:
        cuts.update(meter.crossings(start, stop, plan.energy_wh))
    if plan.power_w and power:
        cuts.update(_tier_changes(power, plan.power_w, start, stop))
    if plan.current_a and current:
        cuts.update(_tier_changes(current, plan.current_a, start, stop))

    edges = sorted(cuts)
    energy_at = [meter.value_at(t) for t in edges] if meter.points else [_ZERO] * len(edges)
    periods = []
    for i in range(len(edges) - 1):
        a, b = edges[i], edges[i + 1]
        seconds = _seconds(b - a)
        state = _state_at(states, a)
        max_w = _max_over(power, a, b) if power else None
        max_amps = _max_over(current, a, b) if current else None
        periods.append(
            ChargingPeriod(
                start=a,
                end=b,
                energy_kwh=(energy_at[i + 1] - energy_at[i]) / _THOUSAND,
                charging_s=seconds if state == CHARGING else _ZERO,
                parking_s=seconds if state == PARKING else _ZERO,
                max_power_kw=None if max_w is None else max_w / _THOUSAND,
                max_current_a=max_amps,
                tariff_id=tariff.id,
            )
        )
    return periods


# --- helpers ---------------------------------------------------------------------------------

Steps = list[tuple[datetime, Decimal]]  # a value holding from each instant on


class _Series:
    """Timestamped readings, validated and sorted by time."""

    def __init__(
        self, raw: Sequence[tuple[datetime, Decimal | int | str]], name: str, monotone: bool
    ) -> None:
        points: list[tuple[datetime, Decimal]] = []
        for i, item in enumerate(raw):
            try:
                t, v = item
            except (TypeError, ValueError):
                raise TariffError(f"{name}[{i}]", "must be a (datetime, value) pair") from None
            t = _aware(t, f"{name}[{i}]")
            value = to_decimal(v, f"{name}[{i}]", minimum=None if not monotone else Decimal(0))
            if points and t < points[-1][0]:
                raise TariffError(f"{name}[{i}]", "is earlier than the reading before it")
            if monotone and points and value < points[-1][1]:
                raise TariffError(f"{name}[{i}]", "the register went down; clean the readings")
            points.append((t, value))
        self.points = points
        self.times = [t for t, _ in points]

    def steps(self) -> Steps:
        return self.points

    def value_at(self, t: datetime) -> Decimal:
        """Linear interpolation, held constant outside the readings; kept to the micro-Wh."""
        pts, i = self.points, bisect_right(self.times, t)
        if i == 0:
            return pts[0][1]
        if i == len(pts):
            return pts[-1][1]
        (t0, v0), (t1, v1) = pts[i - 1], pts[i]
        frac = Decimal((t - t0) // _ONE_US) / Decimal((t1 - t0) // _ONE_US)
        return (v0 + (v1 - v0) * frac).quantize(_MICRO)

    def average_power(self) -> Steps:
        """Power in W between consecutive readings (constant under linear interpolation)."""
        out: Steps = []
        for (t0, v0), (t1, v1) in zip(self.points, self.points[1:], strict=False):
            if t1 > t0:
                out.append((t0, (v1 - v0) * _HOUR / _seconds(t1 - t0)))
        if self.points:
            out.append((self.points[-1][0], _ZERO))
        return out

    def crossings(
        self, start: datetime, stop: datetime, thresholds: Sequence[Decimal]
    ) -> list[datetime]:
        """First instants at which the session's energy reaches each threshold (rounded up to
        the microsecond, so the period that starts there has reached it)."""
        base = self.value_at(start)
        out = []
        for th in thresholds:
            target = base + th
            if self.value_at(stop) < target:
                continue
            i = bisect_left([v for _, v in self.points], target)
            if i == 0:
                continue
            (t0, v0), (t1, v1) = self.points[i - 1], self.points[i]
            span = (t1 - t0) // _ONE_US
            offset = ((target - v0) * span / (v1 - v0)).to_integral_value(ROUND_CEILING)
            t = t0 + int(offset) * _ONE_US
            if start < t < stop:
                out.append(t)
        return out


def _states(raw: Sequence[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    out: list[tuple[datetime, str]] = []
    for i, item in enumerate(raw):
        t, state = item
        t = _aware(t, f"states[{i}]")
        if state not in STATES:
            raise TariffError(
                f"states[{i}]", f"must be 'charging', 'parking' or 'idle', not {state!r}"
            )
        if out and t < out[-1][0]:
            raise TariffError(f"states[{i}]", "is earlier than the state before it")
        out.append((t, state))
    return out


def _state_at(states: list[tuple[datetime, str]], t: datetime) -> str:
    state = CHARGING
    for when, value in states:
        if when > t:
            break
        state = value
    return state


def _local_cuts(plan: TariffPlan, zone: ZoneInfo, start: datetime, stop: datetime) -> set[datetime]:
    """Every local wall-clock boundary between start and stop, both folds on a DST fall-back."""
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = stop.astimezone(zone).date() + timedelta(days=1)
    out: set[datetime] = set()
    day = first
    while day <= last:
        for tod in plan.times_of_day:
            out.update(_instants(day, tod, zone))
        day += timedelta(days=1)
    return {t for t in out if start < t < stop}


def _instants(day: date, tod: int, zone: ZoneInfo) -> set[datetime]:
    wall = datetime.combine(day, time(tod // 3600, tod % 3600 // 60), tzinfo=zone)
    return {wall.replace(fold=f).astimezone(UTC) for f in (0, 1)}


def _tier_changes(
    steps: Steps, thresholds: Sequence[Decimal], start: datetime, stop: datetime
) -> list[datetime]:
    out = []
    tier = -1
    for t, v in steps:
        new = bisect_right(thresholds, v)
        if new != tier and start < t < stop:
            out.append(t)
        tier = new
    return out


def _max_over(steps: Steps, a: datetime, b: datetime) -> Decimal | None:
    """Largest value holding at some instant of [a, b)."""
    best: Decimal | None = None
    for t, v in steps:
        if t >= b:
            break
        if t <= a:
            best = v  # the value holding at a (latest reading at or before it)
        elif best is None or v > best:
            best = v
    return best


def _aware(t: object, path: str) -> datetime:
    if not isinstance(t, datetime):
        raise TariffError(path, "must be a datetime")
    if t.tzinfo is None or t.utcoffset() is None:
        raise TariffError(path, "must be an aware datetime (UTC)")
    return t


def _seconds(d: timedelta) -> Decimal:
    return Decimal(d // _ONE_US) / 1000000
