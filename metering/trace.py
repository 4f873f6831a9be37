"""The one trace of a session: when it charged, when it parked, and where its energy went.

The gateway stores a session's charging and parking seconds from this trace, the billing run
prices from it, and the API shows and prices it: one definition, so a stored time, a priced
time and an invoice line's time never disagree.

The rules:

- **Charging** while the connector's status is ``Charging``, or while a power sample taken
  since the last status change reads above 0 W (some firmware says Charging late). Power alone
  never makes time parking: the Copper SB reads 0 W while it charges.
- **Parking** while the status is SuspendedEV, SuspendedEVSE, Finishing, Preparing or Reserved
  (and no power sample since says > 0 W).
- **Idle** (neither, not priced as time) while the status is anything else: Available,
  Unavailable, Faulted.
- **Before the first status change inside the session** the session charges, unless the status
  in force at the start (the last one at or before it) is a charging or parking state: then that
  one holds. A status left behind by the previous session (``Available`` when the charger sends
  no StatusNotification between start and stop) never makes a session idle or parking.
- **Energy**: the stored start and stop registers are the truth; register samples in between are
  kept where consistent (strictly inside the session, never below the reading before, never
  above the stop register), others dropped. Between two consecutive readings the energy is
  spread evenly over the *charging* time between them, or evenly over the whole span when
  there is none. Interpolated readings are inserted at the state changes, so the tariff
  engine's linear interpolation (``tariffs.build_periods``) puts the energy exactly there, in
  real time order.
- **Times**: state changes at the instants given (charger timestamps, whole seconds in
  practice); the stored seconds are the microsecond totals rounded to the second, which are
  the seconds the periods built from ``Timeline.trace()`` add up to.

Pure: plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from tariffs import SessionTrace
from tariffs.periods import CHARGING, IDLE, PARKING

# Connector statuses (OCPP 1.6) and 2.0.1 chargingStates (EVConnected, Idle; the others share
# 1.6's names) that are charging / parking time (OCPI TIME vs PARKING_TIME).
CHARGING_STATES = frozenset({"Charging"})
PARKING_STATES = frozenset(
    {"SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing", "Reserved", "EVConnected", "Idle"}
)
# 2.0.1 connector statuses that say nothing about charging (a cable is in): they change no
# state; the session's chargingState says what it does
NEUTRAL_STATES = frozenset({"Occupied"})

_THOUSAND = Decimal(1000)
_MICRO_WH = Decimal("0.000001")
_US = timedelta(microseconds=1)

Sample = tuple[datetime, int | None, int | None]  # (ts, register mWh, active power W)


@dataclass(frozen=True, slots=True)
class Timeline:
    """A session's trace: its states over time, its meter readings and its seconds.

    ``states``: (instant, "charging" | "parking" | "idle"), the first at ``started_at``, each
    holding until the next; ``meter``: (instant, register Wh) from the start register to the
    stop register, with readings interpolated at state changes (see the module docstring);
    ``power``: (instant, W) samples of the session, None when it has none.
    """

    started_at: datetime
    stopped_at: datetime
    states: tuple[tuple[datetime, str], ...]
    meter: tuple[tuple[datetime, Decimal], ...]
    power: tuple[tuple[datetime, int], ...] | None
    charging_s: int
    parking_s: int

    def trace(self) -> SessionTrace:
        """The tariff engine's input for this timeline."""
        return SessionTrace(
            started_at=self.started_at,
            stopped_at=self.stopped_at,
            meter=self.meter,
            states=self.states,
            power=self.power,
        )


def status_state(status: str | None, power_w: int | None) -> str:
    """The state of a connector status (None: not known yet, i.e. charging), given the power
    sample read since it was reported, if any."""
    if status is None or status in CHARGING_STATES or (power_w is not None and power_w > 0):
        return CHARGING
    return PARKING if status in PARKING_STATES else IDLE


def session_timeline(
    started_at: datetime,
    stopped_at: datetime,
    *,
    meter_start_wh: int,
    energy_wh: int | None,
    samples: Sequence[Sample] = (),
    statuses: Sequence[tuple[datetime, str]] = (),
) -> Timeline:
    """The one trace of a session (rules in the module docstring).

    ``energy_wh`` is the billed energy (stop register - start register); None for a session
    still open, whose last consistent reading then ends the trace. ``samples`` are the
    session's (ts, mWh, W) oldest first, those outside the session ignored; ``statuses`` the
    connector's (ts, status) oldest first: the one in force at the start and every change up
    to the stop (earlier and later ones are ignored).
    """
    stopped_at = max(stopped_at, started_at)
    states = _states(started_at, stopped_at, samples, statuses)
    charging_us = parking_us = 0
    bounds = [*(t for t, _ in states[1:]), stopped_at]
    for (t, state), end in zip(states, bounds, strict=True):
        span = (end - t) // _US
        if state == CHARGING:
            charging_us += span
        elif state == PARKING:
            parking_us += span
    readings = _readings(started_at, stopped_at, meter_start_wh, energy_wh, samples)
    power = tuple(
        (ts, w) for ts, _, w in samples if w is not None and started_at <= ts <= stopped_at
    )
    return Timeline(
        started_at=started_at,
        stopped_at=stopped_at,
        states=tuple(states),
        meter=tuple(_spread(readings, states, stopped_at)),
        power=power or None,
        charging_s=(charging_us + 500_000) // 1_000_000,
        parking_s=(parking_us + 500_000) // 1_000_000,
    )


def _states(
    start: datetime,
    stop: datetime,
    samples: Sequence[Sample],
    statuses: Sequence[tuple[datetime, str]],
) -> list[tuple[datetime, str]]:
    """(instant, state) changes, the first at ``start``, no two in a row alike."""
    status: str | None = None
    since: datetime | None = None
    if any(value in NEUTRAL_STATES for _, value in statuses):
        statuses = [(ts, value) for ts, value in statuses if value not in NEUTRAL_STATES]
    for ts, value in statuses:  # the status in force at the start: the last one at or before
        if ts <= start:
            status, since = value, ts
    if status not in CHARGING_STATES and status not in PARKING_STATES:
        status = None  # e.g. Available left by the previous session: not this session's state
    power: int | None = None
    for ts, _, w in samples:  # a power sample since that status, up to the start
        if w is not None and ts <= start and (since is None or ts > since):
            power = w
    # at equal times a status comes after a power sample: it says what holds from then on
    events: list[tuple[datetime, int, str | int]] = [
        (ts, 0, w) for ts, _, w in samples if w is not None and start < ts < stop
    ]
    events.extend((ts, 1, value) for ts, value in statuses if start < ts < stop)
    events.sort(key=lambda e: (e[0], e[1]))
    out = [(start, status_state(status, power))]
    i = 0
    while i < len(events):
        ts = events[i][0]
        while i < len(events) and events[i][0] == ts:  # every event of one instant, in order
            event = events[i][2]
            if isinstance(event, str):
                status, power = event, None  # a new state: earlier power says no more
            else:
                power = event
            i += 1
        state = status_state(status, power)
        if state != out[-1][1]:
            out.append((ts, state))
    return out


def _readings(
    start: datetime,
    stop: datetime,
    meter_start_wh: int,
    energy_wh: int | None,
    samples: Sequence[Sample],
) -> list[tuple[datetime, Decimal]]:
    """Start register, the consistent samples, stop register (Wh); never going down."""
    low = Decimal(meter_start_wh)
    high = None if energy_wh is None else low + max(energy_wh, 0)
    out: list[tuple[datetime, Decimal]] = [(start, low)]
    for ts, mwh, _ in samples:
        # an open session (no stop register) ends at its last sample, which is kept
        if mwh is None or not start < ts < stop and not (high is None and ts == stop):
            continue
        value = Decimal(mwh) / _THOUSAND
        if out[-1][1] <= value and (high is None or value <= high) and ts >= out[-1][0]:
            out.append((ts, value))
    if high is not None:
        out.append((stop, high))
    elif out[-1][0] < stop or len(out) == 1:
        out.append((stop, out[-1][1]))
    return out


def _spread(
    readings: list[tuple[datetime, Decimal]],
    states: list[tuple[datetime, str]],
    stop: datetime,
) -> list[tuple[datetime, Decimal]]:
    """The readings with interpolated ones at state changes: between two readings the energy
    goes evenly over the charging time (over the whole span when there is none)."""
    bounds = [*(t for t, _ in states[1:]), stop]
    spans = [(t, end, s == CHARGING) for (t, s), end in zip(states, bounds, strict=True)]
    changes = [t for t, _ in states[1:]]
    out = [readings[0]]
    for (t0, v0), (t1, v1) in zip(readings, readings[1:], strict=False):
        inner = [t for t in changes if t0 < t < t1]
        if inner and v1 > v0:
            total = _charging_us(spans, t0, t1)
            if total > 0:
                delta = v1 - v0
                for t in inner:
                    share = Decimal(_charging_us(spans, t0, t)) / Decimal(total)
                    value = (v0 + delta * share).quantize(_MICRO_WH, ROUND_HALF_EVEN)
                    out.append((t, value))
        out.append((t1, v1))
    return out


def _charging_us(spans: list[tuple[datetime, datetime, bool]], a: datetime, b: datetime) -> int:
    """Microseconds of charging between a and b."""
    total = 0
    for lo, hi, charging in spans:
        if charging and hi > a and lo < b:
            total += (min(hi, b) - max(lo, a)) // _US
    return total
