"""Price one billable session under its snapshotted tariff version (pure).

Choice of trace (docs/billing.md): a tariff without restrictions prices a session from its
stored totals (Wh, charging s, parking s) through the closed form in ``linear_price``; a
tariff with restrictions (time of day, dates, weekdays, kWh, duration, power, current) needs
the charging periods, so its sessions are priced from their meter samples and status history;
a session without samples falls back to a trace built from its totals (charging first, then
parking, energy linear over the charging time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from billing.linear_price import LinearPrice, linear_price
from tariffs import (
    ChargingPeriod,
    SessionTrace,
    Tariff,
    TariffElement,
    parse_tariff,
    price_periods,
    price_session,
)
from tariffs.plan import passes, plan_for

_ZERO = Decimal(0)
_THOUSAND = Decimal(1000)
_NO_TIME = timedelta(0)
_CHARGING_STATES = frozenset({"Charging"})


class SessionTotals(NamedTuple):
    """What the sessions table stores about a finished session (a NamedTuple: immutable and
    cheap to build, unlike a frozen dataclass; a run builds one per restricted session)."""

    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    charging_s: int
    parking_s: int
    meter_start_wh: int = 0


@dataclass(frozen=True, slots=True)
class Samples:
    """A session's meter samples (ts, energy in milli-Wh) and status changes (ts, status)."""

    meter: Sequence[tuple[datetime, int]]
    statuses: Sequence[tuple[datetime, str]] = ()


def totals_periods(s: SessionTotals) -> list[ChargingPeriod]:
    """Two periods from the stored totals: charging (with all the energy), then parking."""
    a = s.started_at
    b = a + timedelta(seconds=s.charging_s)
    c = b + timedelta(seconds=s.parking_s)
    kwh = Decimal(s.energy_wh) / _THOUSAND
    periods = [ChargingPeriod(a, b, energy_kwh=kwh, charging_s=Decimal(s.charging_s))]
    if s.parking_s > 0:
        periods.append(ChargingPeriod(b, c, parking_s=Decimal(s.parking_s)))
    return periods


def totals_trace(s: SessionTotals) -> SessionTrace:
    """A trace from totals alone: charging from the start (energy linear over it), then
    parking; it spans the accounted time (charging s + parking s), like the closed form."""
    charge_end = s.started_at + timedelta(seconds=s.charging_s)
    stop = charge_end + timedelta(seconds=s.parking_s)
    # no charging time: the energy is spread over the whole (parking) session
    meter = [(s.started_at, 0), (charge_end if s.charging_s else stop, s.energy_wh)]
    if s.charging_s and stop > charge_end:
        meter.append((stop, s.energy_wh))
    states = [(charge_end, "parking")] if stop > charge_end else []
    return SessionTrace(s.started_at, stop, meter, states)


def samples_trace(s: SessionTotals, samples: Samples) -> SessionTrace:
    """A trace from the stored samples (register in mWh) and the connector's status changes.

    The stored start and stop registers are the truth (they give the billed energy): the
    trace runs from one to the other, with the samples in between kept where they are
    consistent (inside the session, inside the range, never going down).
    """
    low = Decimal(s.meter_start_wh)
    high = low + s.energy_wh
    meter: list[tuple[datetime, Decimal]] = [(s.started_at, low)]
    for ts, mwh in samples.meter:
        value = Decimal(mwh) / _THOUSAND
        if s.started_at < ts < s.stopped_at and meter[-1][1] <= value <= high:
            meter.append((ts, value))
    meter.append((s.stopped_at, high))
    states = [  # the status in force at the start counts from the start
        (max(ts, s.started_at), "charging" if status in _CHARGING_STATES else "parking")
        for ts, status in samples.statuses
        if ts <= s.stopped_at
    ]
    return SessionTrace(s.started_at, s.stopped_at, meter, states)


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


class VersionPricer:
    """One tariff version, parsed and compiled once, pricing many sessions."""

    def __init__(self, tariff: Tariff, tz: str) -> None:
        self.tariff = tariff
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.linear: LinearPrice | None = linear_price(tariff)
        self.boundaries = clock_boundaries(tariff) if self.linear is None else None
        # the closed form of each set of elements found active together (see _window_price)
        self.windows: dict[tuple[int, ...], LinearPrice | None] = {}

    def _inside_one_window(self, s: SessionTotals) -> bool:
        """True when the totals' trace crosses no local boundary of a clock-only tariff (same
        local day, same UTC offset, no start/end time strictly inside): its periods are then
        just charging and parking, and building them can be skipped."""
        return self._one_window_start(s) is not None

    def _one_window_start(self, s: SessionTotals) -> datetime | None:
        """The local start of a session inside one window (``_inside_one_window``), or None."""
        if self.boundaries is None or s.charging_s == 0:
            return None
        a = s.started_at.astimezone(self.zone)
        b = (s.started_at + timedelta(seconds=s.charging_s + s.parking_s)).astimezone(self.zone)
        if a.date() != b.date() or a.utcoffset() != b.utcoffset():
            return None
        lo = a.hour * 3600 + a.minute * 60 + a.second + a.microsecond / 1e6
        hi = b.hour * 3600 + b.minute * 60 + b.second + b.microsecond / 1e6
        return None if any(lo < t < hi for t in self.boundaries) else a

    def _active(self, local: datetime) -> tuple[int, ...]:
        """The elements whose restrictions pass for a period starting at ``local``, as the
        pricer tests them (a clock-only tariff's tests look at nothing else)."""
        return tuple(
            e.index
            for e in plan_for(self.tariff).elements
            if passes(e.checks, local, _ZERO, _NO_TIME, None, None)
        )

    def _window_price(self, s: SessionTotals) -> LinearPrice | None:
        """The closed form that prices a session inside one window, or None.

        Inside one window the same elements are active for the charging and the parking
        period (tested at both starts, as the pricer does), so the general pricer on those
        two periods is the pricer of a tariff made of the active elements, unrestricted:
        ``linear_price``'s closed form, Decimal for Decimal (35 µs -> a few µs a session).
        """
        a = self._one_window_start(s)
        if a is None:
            return None
        active = self._active(a)
        if s.parking_s > 0:
            b = (s.started_at + timedelta(seconds=s.charging_s)).astimezone(self.zone)
            if self._active(b) != active:
                return None
        if active not in self.windows:
            components = (self.tariff.elements[i].price_components for i in active)
            window = replace(self.tariff, elements=tuple(map(TariffElement, components)))
            self.windows[active] = linear_price(window)
        return self.windows[active]

    @classmethod
    def from_ocpi(cls, ocpi: str | dict[str, Any], tz: str) -> VersionPricer:
        import json

        obj = json.loads(ocpi, parse_float=Decimal) if isinstance(ocpi, str) else ocpi
        return cls(parse_tariff(obj), tz)

    @property
    def needs_samples(self) -> bool:
        """True when the price can depend on when energy flowed, not only on totals."""
        return self.linear is None

    def net(self, s: SessionTotals, samples: Samples | None = None) -> Decimal:
        """The session's price excl. VAT, full precision (rounding is the invoice's job)."""
        if self.linear is not None:
            return self.linear.net(s.energy_wh, s.charging_s, s.parking_s)
        if samples is not None and samples.meter:
            trace = samples_trace(s, samples)
        elif (window := self._window_price(s)) is not None:
            return window.net(s.energy_wh, s.charging_s, s.parking_s)
        else:
            trace = totals_trace(s)
        return price_session(self.tariff, trace, self.tz).total_cost.excl_vat

    def net_from_trace(self, s: SessionTotals) -> Decimal:
        """The totals' trace through the period builder (the oracle of the shortcut)."""
        return price_session(self.tariff, totals_trace(s), self.tz).total_cost.excl_vat

    def net_from_periods(self, s: SessionTotals) -> Decimal:
        """The general pricer on the totals' periods (the oracle of the closed form)."""
        return price_periods(self.tariff, totals_periods(s), self.tz).total_cost.excl_vat
