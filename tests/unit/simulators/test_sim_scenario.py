"""Scenario files: parsing, generators, and errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulators import scenario
from simulators.clock import from_ms
from simulators.scenario import ScenarioError, parse, parse_duration, parse_range

BASE = {
    "start": "2025-03-01T00:00:00",
    "timezone": "Europe/Oslo",
    "chargers": [{"id": "WB-1", "quirks": ["kwh_units"]}, {"id": "WB-2", "max_current": 16}],
    "drivers": [
        {"name": "Kari", "tokens": ["RFID-K"], "ev": {"capacity_kwh": 77, "max_power_kw": 7.4}},
        {"name": "Ola", "token": "RFID-O"},
    ],
}


def test_durations_and_ranges() -> None:
    assert parse_duration("1h30m", "x") == 5400
    assert parse_duration("45m", "x") == 2700
    assert parse_duration(90, "x") == 90
    assert parse_duration("2d", "x") == 172_800
    assert parse_range("60-95%", "x") == (60, 95)
    assert parse_range(80, "x") == (80, 80)
    with pytest.raises(ScenarioError, match="x: 'soon' is not a duration"):
        parse_duration("soon", "x")
    with pytest.raises(ScenarioError, match="range"):
        parse_range("95-60", "x")


def test_explicit_session_in_local_time() -> None:
    data = {
        **BASE,
        "sessions": [
            {
                "charger": "WB-2",
                "driver": "Ola",
                "plug_in": "2025-03-03T08:15",
                "duration": "2h",
                "parking": "30m",
                "soc": 40,
            }
        ],
    }
    sc = parse(data)
    assert sc.chargers["WB-1"].quirks.kwh_units is True
    assert sc.chargers["WB-2"].spec.max_current_a == 16
    assert sc.drivers["Kari"].make_ev(None, 90).capacity_wh == 77_000
    assert sc.drivers["Kari"].make_ev(None, 90).max_power_w == 7_400
    (s,) = sc.sessions
    # 08:15 in Oslo in March is 07:15 UTC
    assert from_ms(s.plug_in_ms) == datetime(2025, 3, 3, 7, 15, tzinfo=UTC)
    assert (s.id_tag, s.duration_s, s.parking_s, s.soc) == ("RFID-O", 7200, 1800, 40)
    assert from_ms(sc.start_ms) == datetime(2025, 3, 1, tzinfo=ZoneInfo("Europe/Oslo"))


def test_weekday_generator_is_seeded_and_stays_in_its_window() -> None:
    gen = {
        "days": "weekdays",
        "from": "2025-03-01",
        "to": "2025-03-31",
        "arrival": "08:00-09:00",
        "target_soc": "60-95",
        "parking": "30m-3h",
        "seed": 3,
    }
    sc = parse({**BASE, "generators": [gen]})
    again = parse({**BASE, "generators": [gen]})
    assert sc.sessions == again.sessions  # deterministic
    # March 2025 has 21 weekdays, two drivers, probability 1
    assert len(sc.sessions) == 42
    oslo = ZoneInfo("Europe/Oslo")
    for s in sc.sessions:
        local = from_ms(s.plug_in_ms).astimezone(oslo)
        assert local.weekday() < 5 and local.hour == 8
        assert s.target_percent is not None and 60 <= s.target_percent <= 95
        assert 1800 <= s.parking_s <= 10_800
    # driver i charges on charger i mod n
    assert {s.charger for s in sc.sessions if s.driver == "Kari"} == {"WB-1"}
    assert {s.charger for s in sc.sessions if s.driver == "Ola"} == {"WB-2"}
    assert [s.plug_in_ms for s in sc.sessions] == sorted(s.plug_in_ms for s in sc.sessions)


def test_probability_thins_the_sessions() -> None:
    gen = {
        "days": ["mon", "wed"],
        "from": "2025-03-01",
        "to": "2025-03-31",
        "probability": 0.5,
        "drivers": ["Kari"],
        "seed": 1,
    }
    sc = parse({**BASE, "generators": [gen]})
    assert 0 < len(sc.sessions) < 9  # 9 Mondays and Wednesdays in March 2025


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chargers": []}, "chargers: at least one"),
        ({"chargers": [{"id": "A", "quirks": ["bogus"]}]}, "chargers\\[0\\].quirks: unknown quirk"),
        ({"drivers": [{"name": "X"}]}, "drivers\\[0\\]: needs tokens"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"sessions": [{"driver": "Nobody", "plug_in": "2025-03-01T08:00"}]}, "unknown driver"),
        (
            {"sessions": [{"charger": "WB-1", "driver": "Ola", "plug_in": "2025-03-01T08:00"}]},
            "target_soc or duration",
        ),
        ({"generators": [{"from": "2025-03-01", "to": "2025-03-02", "arrival": "9-8"}]}, "arrival"),
    ],
)
def test_errors_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse({**BASE, **change})


def test_example_file_in_the_repo_parses() -> None:
    path = Path(__file__).resolve().parents[3] / "simulators" / "scenarios" / "office-month.yaml"
    sc = scenario.load(path)
    assert set(sc.chargers) == {"WB-OFFICE-1", "WB-OFFICE-2"}
    assert sc.chargers["WB-OFFICE-2"].quirks.sample_after_stop
    assert len(sc.sessions) > 20
    assert all(s.plug_in_ms >= sc.start_ms for s in sc.sessions)


def test_json_scenario(tmp_path: Path) -> None:
    import json

    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                **BASE,
                "sessions": [
                    {
                        "driver": "Kari",
                        "charger": "WB-1",
                        "plug_in": "2025-03-02T10:00",
                        "target_soc": 80,
                    }
                ],
            }
        )
    )
    assert scenario.load(path).sessions[0].target_percent == 80
