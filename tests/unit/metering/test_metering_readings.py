"""The pure metering core: readings, clock sanity, session energy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from metering import parse_reading, parse_timestamp, sane_timestamp, session_energy

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mv(*values: dict) -> dict:
    return {"timestamp": "2026-10-01T12:00:00Z", "sampledValue": list(values)}


def test_reading_picks_the_outlet_register_exactly() -> None:
    reading = parse_reading(
        mv(
            {"value": "10.0", "measurand": "Energy.Active.Import.Register", "phase": "L1"},
            {
                "value": "532363.9",
                "measurand": "Energy.Active.Import.Register",
                "location": "Outlet",
            },
            {"value": "99", "measurand": "Energy.Active.Import.Register", "location": "EV"},
            {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": "230", "measurand": "Voltage", "phase": "L1-N"},
        ),
        T0,
    )
    assert reading.energy_mwh == 532_363_900
    assert reading.power_w == 7400


def test_reading_defaults_and_units() -> None:
    # no measurand means the import register (OCPP 1.6), no unit means Wh
    assert parse_reading(mv({"value": "1500"}), T0).energy_mwh == 1_500_000
    assert parse_reading(mv({"value": "1.2345", "unit": "kWh"}), T0).energy_mwh == 1_234_500
    assert parse_reading(mv({"value": "not-a-number"}), T0).energy_mwh is None
    assert parse_reading(mv({"value": "NaN"}), T0).energy_mwh is None
    assert parse_reading(mv({"value": "12", "measurand": "SoC"}), T0).energy_mwh is None


def test_a_value_past_decimals_exponent_reads_as_no_value() -> None:
    # 9E+999999 kWh overflows Decimal when scaled: no register, not an exception
    assert parse_reading(mv({"value": "9E+999999", "unit": "kWh"}), T0).energy_mwh is None
    power = {"value": "9E+999999", "measurand": "Power.Active.Import", "unit": "kW"}
    assert parse_reading(mv(power), T0).power_w is None


def test_timestamps() -> None:
    assert parse_timestamp("2026-10-01T12:00:00Z") == T0
    assert parse_timestamp("2026-10-01T14:00:00+02:00") == T0
    assert parse_timestamp("2026-10-01T12:00:00") == T0
    now = T0
    assert sane_timestamp(datetime(1970, 1, 1, tzinfo=UTC), now) == (now, True)
    assert sane_timestamp(now + timedelta(days=2), now) == (now, True)
    assert sane_timestamp(now - timedelta(days=30), now) == (now - timedelta(days=30), False)


def test_energy_is_stop_minus_start() -> None:
    result = session_energy(1000, 5000, [(t(10), 2_000_000)], t(0), t(60), 22000)
    assert (result.energy_wh, result.flags) == (4000, ())


def test_missing_stop_uses_the_last_sample() -> None:
    result = session_energy(
        1000, None, [(t(10), 2_000_000), (t(20), 2_600_700)], t(0), t(60), 22000
    )
    assert result.energy_wh == 1600 and result.flags == ("meter_stop_missing",)


def test_samples_after_the_stop_are_ignored_for_energy() -> None:
    result = session_energy(
        1000, 3000, [(t(10), 2_000_000), (t(61), 3_004_000)], t(0), t(60), 22000
    )
    assert result.energy_wh == 2000 and result.flags == ()


def test_stop_below_a_sample_is_replaced() -> None:
    result = session_energy(1000, 1500, [(t(30), 4_000_000)], t(0), t(60), 22000)
    assert result.energy_wh == 3000 and "meter_stop_replaced" in result.flags


def test_negative_delta_is_flagged_and_not_billed() -> None:
    result = session_energy(5000, 4000, [], t(0), t(60), 22000)
    assert result.energy_wh == 0 and "negative_energy" in result.flags


def test_implausible_delta_is_flagged() -> None:
    # 22 kW for 1 h is 22 kWh at most; 40 kWh cannot be
    assert "implausible_energy" in session_energy(0, 40_000, [], t(0), t(60), 22000).flags
    assert session_energy(0, 22_000, [], t(0), t(60), 22000).flags == ()


def test_per_session_register_mismatch_is_flagged() -> None:
    # meterStart from the lifetime register, samples from a register that restarted at 0
    result = session_energy(500_000, 503_000, [(t(10), 1_000_000)], t(0), t(60), 22000)
    assert "register_mismatch" in result.flags


@given(
    start=st.integers(0, 10**9),
    deltas=st.lists(st.integers(0, 5_000_000), max_size=8),
    extra=st.integers(0, 5000),
)
def test_energy_of_a_monotone_register_is_exact(start: int, deltas: list[int], extra: int) -> None:
    """A well-behaved lifetime register always yields exactly stop - start, unflagged."""
    samples, register = [], start * 1000
    for i, d in enumerate(deltas):
        register += d // 10  # at most 0.5 kWh per minute: 30 kW, within 22 kW x 1.1 + slack
        samples.append((t(i + 1), register))
    stop = register // 1000 + extra // 100
    minutes = len(deltas) + 10
    result = session_energy(start, stop, samples, t(0), t(minutes), 50_000)
    assert result.energy_wh == stop - start
    assert result.flags == ()
