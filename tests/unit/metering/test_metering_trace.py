"""The one trace of a session: states, times and where the energy went (metering.trace)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from metering import session_timeline
from tariffs import build_periods, parse_tariff

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FLAT = parse_tariff(
    {
        "currency": "NOK",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "1", "step_size": 1}]}],
    }
)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def times(
    start: datetime,
    stop: datetime,
    statuses: Sequence[tuple[datetime, str]] = (),
    samples: Sequence[tuple[datetime, int | None, int | None]] = (),
    energy: int = 0,
) -> tuple[int, int]:
    tl = session_timeline(
        start, stop, meter_start_wh=0, energy_wh=energy, samples=samples, statuses=statuses
    )
    return tl.charging_s, tl.parking_s


def test_the_connector_state_decides() -> None:
    statuses = [
        (t(-1), "Preparing"),
        (t(1), "Charging"),
        (t(40), "SuspendedEV"),
        (t(45), "Charging"),
        (t(50), "Finishing"),
    ]
    assert times(t(0), t(60), statuses) == (44 * 60, 16 * 60)


def test_zero_watts_while_charging_is_charging() -> None:
    """Copper SB: Charging with 0 W is still charging time."""
    samples = [(t(10), None, 0), (t(20), None, 0)]
    assert times(t(0), t(30), [(t(0), "Charging")], samples) == (1800, 0)


def test_power_above_zero_makes_charging_until_the_next_status() -> None:
    statuses = [(t(0), "SuspendedEVSE"), (t(30), "SuspendedEV")]
    samples = [(t(10), None, 3000), (t(20), None, 0)]
    assert times(t(0), t(40), statuses, samples) == (600, 1800)


def test_a_status_at_the_instant_of_a_power_sample_wins() -> None:
    statuses = [(t(0), "Charging"), (t(10), "SuspendedEV")]
    samples = [(t(10), None, 7000)]
    assert times(t(0), t(20), statuses, samples) == (600, 600)


def test_no_status_at_all_is_charging() -> None:
    assert times(t(0), t(10)) == (600, 0)
    assert times(t(10), t(0)) == (0, 0)


def test_a_stale_available_before_the_start_does_not_make_the_session_idle() -> None:
    """The previous session left Available; no StatusNotification until the stop."""
    assert times(t(0), t(90), [(t(-300), "Available")]) == (5400, 0)
    # ... while a parking state in force at the start holds
    assert times(t(0), t(90), [(t(-1), "SuspendedEV")]) == (0, 5400)


def test_available_inside_the_session_is_neither() -> None:
    statuses = [(t(-5), "Available"), (t(10), "Faulted"), (t(20), "Charging")]
    assert times(t(0), t(30), statuses) == (1200, 0)


def test_statuses_and_samples_after_the_stop_change_nothing() -> None:
    statuses = [(t(0), "Charging"), (t(30), "SuspendedEV")]
    samples = [(t(31), 9_000_000, 7000)]
    tl = session_timeline(
        t(0), t(30), meter_start_wh=0, energy_wh=2000, samples=samples, statuses=statuses
    )
    assert (tl.charging_s, tl.parking_s) == (1800, 0)
    assert tl.meter == ((t(0), Decimal(0)), (t(30), Decimal(2000)))
    assert tl.power is None


def test_energy_without_samples_goes_where_it_charged() -> None:
    """Parking, then charging, then parking: all 9 kWh in the charging hour."""
    statuses = [(t(-1), "Preparing"), (t(30), "Charging"), (t(90), "Finishing")]
    tl = session_timeline(t(0), t(120), meter_start_wh=100, energy_wh=9000, statuses=statuses)
    assert (tl.charging_s, tl.parking_s) == (3600, 3600)
    assert tl.states == ((t(0), "parking"), (t(30), "charging"), (t(90), "parking"))
    periods = build_periods(tl.trace(), FLAT, "UTC")
    assert [(p.energy_kwh, p.charging_s, p.parking_s) for p in periods] == [
        (Decimal(0), 0, 1800),
        (Decimal(9), 3600, 0),
        (Decimal(0), 0, 1800),
    ]


def test_without_charging_time_the_energy_is_spread_over_the_span() -> None:
    tl = session_timeline(
        t(0), t(60), meter_start_wh=0, energy_wh=600, statuses=[(t(0), "SuspendedEV")]
    )
    assert tl.meter == ((t(0), Decimal(0)), (t(60), Decimal(600)))


def test_inconsistent_readings_are_dropped() -> None:
    samples = [
        (t(-1), 50_000, None),  # before the start
        (t(10), 1_500_500, 7400),
        (t(20), 900_000, 7400),  # below the reading before
        (t(30), 9_000_000, None),  # above the stop register
        (t(40), 2_000_000, None),
    ]
    tl = session_timeline(t(0), t(60), meter_start_wh=1000, energy_wh=2000, samples=samples)
    assert [wh for _, wh in tl.meter] == [1000, Decimal("1500.5"), 2000, 3000]
    assert tl.power == ((t(10), 7400), (t(20), 7400))


def test_an_open_session_ends_at_its_last_reading() -> None:
    samples = [(t(10), 2_000_000, None)]
    tl = session_timeline(t(0), t(10), meter_start_wh=1000, energy_wh=None, samples=samples)
    assert tl.meter[-1] == (t(10), Decimal(2000))


STATUSES = st.sampled_from(
    ["Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing", "Available", "Faulted"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-100, 3700), STATUSES), max_size=10),
    st.lists(
        st.tuples(st.integers(-10, 3700), st.integers(0, 40_000), st.sampled_from([None, 0, 7])),
        max_size=10,
    ),
    st.integers(0, 30_000),
)
def test_the_periods_carry_the_stored_times_and_the_energy(
    raw_statuses: list[tuple[int, str]], raw_samples: list[tuple[int, int, int | None]], wh: int
) -> None:
    """What is stored (seconds) is what the tariff engine's periods contain; all the energy is
    there, and energy only where the session charged whenever it charged between readings."""
    start, stop = T0, T0 + timedelta(seconds=3600)
    statuses = sorted((T0 + timedelta(seconds=s), v) for s, v in raw_statuses)
    samples, register = [], 1000 * 1000
    for s, e, w in sorted(raw_samples, key=lambda r: r[0]):
        register += e // 3  # mostly consistent readings; some above the stop register
        samples.append((T0 + timedelta(seconds=s), register, w))
    tl = session_timeline(
        start, stop, meter_start_wh=1000, energy_wh=wh, samples=samples, statuses=statuses
    )
    assert tl.charging_s + tl.parking_s <= 3600
    periods = build_periods(tl.trace(), FLAT, "UTC")
    assert sum(p.charging_s for p in periods) == tl.charging_s
    assert sum(p.parking_s for p in periods) == tl.parking_s
    assert sum(p.energy_kwh for p in periods) * 1000 == wh
    readings = [ts for ts, mwh, _ in samples if start < ts < stop and mwh is not None]
    if tl.charging_s and not readings:  # start and stop registers only: all where it charged
        assert all(p.energy_kwh == 0 for p in periods if p.charging_s == 0)
