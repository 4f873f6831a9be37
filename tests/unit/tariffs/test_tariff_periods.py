"""The period builder: cuts where price can change, linear energy, local time with DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tariffs import SessionTrace, TariffError, build_periods, parse_tariff, price_session
from tests.unit.tariffs.tariff_testkit import component, element, local, tariff

OSLO = "Europe/Oslo"
DAY_NIGHT = tariff(
    element(component("TIME", "2.00", 1), start_time="08:00", end_time="20:00"),
    element(component("TIME", "1.00", 1)),
)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_energy_is_interpolated_linearly_and_cut_at_a_time_boundary() -> None:
    t = tariff(
        element(component("ENERGY", "0.30", 1), start_time="10:30"),
        element(component("ENERGY", "0.20", 1)),
    )
    start = local("2024-05-02 10:00")
    trace = SessionTrace(start, start + hours(1), meter=[(start, 1000), (start + hours(1), 7000)])
    periods = build_periods(trace, t, "UTC")
    assert [(p.start, p.energy_kwh) for p in periods] == [
        (start, Decimal(3)),
        (start + hours(0.5), Decimal(3)),
    ]
    assert price_session(t, trace, "UTC").total_cost.excl_vat == Decimal("1.50")


def test_restriction_free_tariff_cuts_only_at_state_changes() -> None:
    t = tariff(element(component("ENERGY", "0.30", 1), component("PARKING_TIME", "1", 1)))
    start = local("2024-05-02 23:00", OSLO)
    readings = [(start + timedelta(minutes=m), m * 100) for m in range(0, 121, 10)]
    trace = SessionTrace(
        start,
        start + hours(3),
        meter=readings,
        states=[(start, "charging"), (start + hours(2), "parking")],
    )
    periods = build_periods(trace, t, OSLO)
    assert [(p.charging_s, p.parking_s, p.energy_kwh) for p in periods] == [
        (Decimal(7200), Decimal(0), Decimal(12)),
        (Decimal(0), Decimal(3600), Decimal(0)),
    ]


def test_window_over_midnight() -> None:
    t = tariff(
        element(component("TIME", "1.00", 1), start_time="22:00", end_time="06:00"),
        element(component("TIME", "3.00", 1)),
    )
    start = local("2024-05-02 21:00", OSLO)
    trace = SessionTrace(start, start + hours(10), meter=[(start, 0)])
    priced = price_session(t, trace, OSLO)
    # 21-22 and 06-07 by day (2 h at 3.00), 22-06 by night (8 h at 1.00)
    assert priced.total_cost.excl_vat == Decimal("14.00")


@pytest.mark.parametrize(
    ("day", "length", "expected"),
    [
        ("2024-03-31", 23, "35.00"),  # spring forward: the night is an hour shorter
        ("2024-10-27", 25, "37.00"),  # fall back: the night is an hour longer
        ("2024-05-02", 24, "36.00"),
    ],
)
def test_whole_local_day_on_dst_days(day: str, length: int, expected: str) -> None:
    start = local(f"{day} 00:00", OSLO)
    stop = local(f"{datetime.fromisoformat(day).date() + timedelta(days=1)} 00:00", OSLO)
    assert stop - start == hours(length)
    trace = SessionTrace(start, stop, meter=[(start, 0), (stop, 50000)])
    priced = price_session(DAY_NIGHT, trace, OSLO)
    assert priced.total_time == Decimal(length)
    # 12 day hours at 2.00, the rest at 1.00
    assert priced.total_cost.excl_vat == Decimal(expected)


def test_window_inside_the_dst_gap_and_the_repeated_hour() -> None:
    t = tariff(
        element(component("TIME", "10.00", 1), start_time="02:00", end_time="03:00"),
        element(component("TIME", "0", 1)),
    )
    spring = local("2024-03-31 00:00", OSLO)
    priced = price_session(t, SessionTrace(spring, spring + hours(6), meter=[]), OSLO)
    assert priced.total_cost.excl_vat == Decimal(0)  # 02:00-03:00 does not exist that night
    autumn = local("2024-10-27 00:00", OSLO)
    priced = price_session(t, SessionTrace(autumn, autumn + hours(6), meter=[]), OSLO)
    assert priced.total_cost.excl_vat == Decimal("20.00")  # and happens twice this one


def test_day_of_week_switches_at_local_midnight() -> None:
    t = tariff(
        element(component("TIME", "6.00", 1), day_of_week=["SATURDAY"]),
        element(component("TIME", "3.00", 1)),
    )
    start = local("2024-06-14 23:30", OSLO)  # a Friday, 21:30 UTC
    trace = SessionTrace(start, start + hours(1), meter=[])
    periods = build_periods(trace, t, OSLO)
    assert [p.start for p in periods] == [start, local("2024-06-15 00:00", OSLO)]
    assert price_session(t, trace, OSLO).total_cost.excl_vat == Decimal("4.50")


def test_date_window_end_is_exclusive() -> None:
    t = tariff(
        element(component("ENERGY", "0.10", 1), start_date="2024-06-01", end_date="2024-06-02"),
        element(component("ENERGY", "0.40", 1)),
    )
    start = local("2024-06-01 23:00", OSLO)
    trace = SessionTrace(start, start + hours(2), meter=[(start, 0), (start + hours(2), 20000)])
    assert price_session(t, trace, OSLO).total_cost.excl_vat == Decimal("5.00")  # 10*0.1+10*0.4


def test_current_tiers_from_current_samples() -> None:
    t = tariff(
        element(component("TIME", "1.00", 1), max_current=Decimal(32)),
        element(component("TIME", "2.00", 1), min_current=Decimal(32)),
    )
    start = local("2024-05-02 10:00")
    trace = SessionTrace(
        start,
        start + hours(3),
        meter=[],
        current=[
            (start, 16),
            (start + hours(1), 32),
            (start + hours(1.5), "40.5"),
            (start + hours(2), 10),
        ],
    )
    periods = build_periods(trace, t, "UTC")
    assert [p.max_current_a for p in periods] == [Decimal(16), Decimal(40.5), Decimal(10)]
    # 1 h under 32 A, 1 h at 32 A and more (one period: same tier), 1 h under again
    assert price_session(t, trace, "UTC").total_cost.excl_vat == Decimal("4.00")


def test_back_to_charging_after_parking() -> None:
    t = tariff(element(component("TIME", "2.00", 1), component("PARKING_TIME", "1.00", 1)))
    s = local("2024-05-02 10:00")
    trace = SessionTrace(
        s,
        s + hours(3),
        meter=[],
        states=[(s + hours(1), "parking"), (s + hours(2), "charging")],
    )
    periods = build_periods(trace, t, "UTC")
    assert [(p.charging_s, p.parking_s) for p in periods] == [
        (Decimal(3600), Decimal(0)),
        (Decimal(0), Decimal(3600)),
        (Decimal(3600), Decimal(0)),
    ]
    assert price_session(t, trace, "UTC").total_cost.excl_vat == Decimal("5.00")


def test_zero_length_session_still_pays_the_start_fee() -> None:
    t = tariff(element(component("FLAT", "0.50", 1), component("ENERGY", "0.25", 1)))
    s = local("2024-05-02 10:00")
    priced = price_session(t, SessionTrace(s, s, meter=[(s, 100)]), "UTC")
    assert priced.total_cost.excl_vat == Decimal("0.50")


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"started_at": datetime(2024, 5, 2, 10)}, "started_at"),
        ({"stopped_at": datetime(2024, 5, 2, 9, tzinfo=UTC)}, "stopped_at"),
        (
            {
                "meter": [
                    (datetime(2024, 5, 2, 10, tzinfo=UTC), 5),
                    (datetime(2024, 5, 2, 11, tzinfo=UTC), 4),
                ]
            },
            "meter[1]",
        ),
        ({"meter": [(datetime(2024, 5, 2, 10, tzinfo=UTC), "x")]}, "meter[0]"),
        ({"states": [(datetime(2024, 5, 2, 10, tzinfo=UTC), "plugged")]}, "states[0]"),
        ({"power": [(datetime(2024, 5, 2, 10, tzinfo=UTC), None)]}, "power[0]"),
    ],
)
def test_bad_trace_names_the_field(changes: dict[str, object], path: str) -> None:
    fields: dict[str, object] = {
        "started_at": datetime(2024, 5, 2, 10, tzinfo=UTC),
        "stopped_at": datetime(2024, 5, 2, 11, tzinfo=UTC),
        "meter": [],
    }
    fields.update(changes)
    with pytest.raises(TariffError) as err:
        build_periods(SessionTrace(**fields), DAY_NIGHT, "UTC")  # type: ignore[arg-type]
    assert err.value.path == path


def test_unknown_zone() -> None:
    s = datetime(2024, 5, 2, 10, tzinfo=UTC)
    with pytest.raises(TariffError, match="^tz: unknown time zone 'Mars/Olympus'$"):
        build_periods(SessionTrace(s, s + hours(1), meter=[]), DAY_NIGHT, "Mars/Olympus")


def test_idle_time_is_neither_charging_nor_parking() -> None:
    """An "idle" state (e.g. the connector Faulted) is priced by no time dimension."""
    a = datetime(2024, 5, 2, 10, tzinfo=UTC)
    trace = SessionTrace(
        a,
        a + timedelta(hours=3),
        [(a, 0), (a + timedelta(hours=3), 3000)],
        [(a + timedelta(hours=1), "idle"), (a + timedelta(hours=2), "parking")],
    )
    energy_only = parse_tariff(
        {
            "currency": "EUR",
            "elements": [{"price_components": [{"type": "ENERGY", "price": "1", "step_size": 1}]}],
        }
    )
    periods = build_periods(trace, energy_only, "UTC")
    assert [(p.charging_s, p.parking_s) for p in periods] == [(3600, 0), (0, 0), (0, 3600)]
