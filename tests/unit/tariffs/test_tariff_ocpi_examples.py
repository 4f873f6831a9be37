"""The OCPI 2.2.1 worked examples (the Tariffs module's examples section), one test each."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tariffs import (
    ChargingPeriod,
    SessionTrace,
    build_periods,
    parse_tariff,
    periods_from_cdr,
    price_periods,
    price_session,
)
from tests.unit.tariffs.tariff_testkit import (
    component,
    element,
    laid_out,
    local,
    rounded,
    tariff,
)

T0 = local("2024-05-02 10:00")  # a Thursday
ENERGY_025 = component("ENERGY", "0.25", 1, "10.0")
START_050 = component("FLAT", "0.50", 1, "20.0")


def test_1_energy_025_per_kwh() -> None:
    t = tariff(element(ENERGY_025))
    priced = price_periods(t, laid_out(T0, ("charge", 60, 20)), "UTC")
    assert rounded(priced.total_cost) == ("5.00", "5.50")
    assert priced.total_energy == Decimal(20)


def test_2_energy_plus_start_fee() -> None:
    t = tariff(element(START_050, ENERGY_025))
    priced = price_periods(t, laid_out(T0, ("charge", 60, 20)), "UTC")
    assert rounded(priced.total_cost) == ("5.50", "6.10")
    assert rounded(priced.total_fixed_cost) == ("0.50", "0.60")
    assert rounded(priced.total_energy_cost) == ("5.00", "5.50")


def test_3_min_price() -> None:
    t = tariff(element(ENERGY_025), min_price={"excl_vat": "0.50", "incl_vat": "0.55"})
    big = price_periods(t, laid_out(T0, ("charge", 60, 20)), "UTC")
    assert rounded(big.total_cost) == ("5.00", "5.50")
    small = price_periods(t, laid_out(T0, ("charge", 10, "1.5")), "UTC")
    assert rounded(small.total_cost) == ("0.50", "0.55")
    assert rounded(small.total_energy_cost, "0.0001") == ("0.3750", "0.4125")
    assert rounded(small.price_limit_adjustment, "0.0001") == ("0.1250", "0.1375")


def test_4_energy_start_fee_and_parking_in_quarters() -> None:
    t = tariff(element(START_050, ENERGY_025, component("PARKING_TIME", "2.00", 900, "20.0")))
    periods = laid_out(T0, ("charge", 90, 20), ("park", 40))
    priced = price_periods(t, periods, "UTC")
    assert rounded(priced.total_cost) == ("7.00", "7.90")
    assert rounded(priced.total_parking_cost) == ("1.50", "1.80")  # 45 minutes billed


def test_5_max_price() -> None:
    t = tariff(element(START_050, ENERGY_025), max_price={"excl_vat": "10", "incl_vat": "11"})
    capped = price_periods(t, laid_out(T0, ("charge", 120, 50)), "UTC")
    assert rounded(capped.total_cost) == ("10.00", "11.00")
    under = price_periods(t, laid_out(T0, ("charge", 90, 30)), "UTC")
    assert rounded(under.total_cost) == ("8.00", "8.85")


def test_6_two_euro_per_hour() -> None:
    t = tariff(element(component("TIME", "2.00", 60, "10.0")))
    priced = price_periods(t, laid_out(T0, ("charge", 150, 11)), "UTC")
    assert rounded(priced.total_cost) == ("5.00", "5.50")
    assert priced.total_time == Decimal("2.5")


def test_7_time_and_parking_only_parking_rounded() -> None:
    t = tariff(
        element(
            component("TIME", "3.00", 60, "10.0"), component("PARKING_TIME", "5.00", 300, "20.0")
        )
    )
    priced = price_periods(t, laid_out(T0, ("charge", 150, 20), ("park", 42)), "UTC")
    assert rounded(priced.total_cost) == ("11.25", "12.75")
    assert rounded(priced.total_parking_cost) == ("3.75", "4.50")


def test_8_ad_hoc_190_per_hour() -> None:
    t = tariff(element(component("TIME", "1.90", 300, "5.2")))
    priced = price_periods(t, laid_out(T0, ("charge", 150, 20)), "UTC")
    assert rounded(priced.total_cost) == ("4.75", "5.00")


def test_9_energy_in_100_wh_steps() -> None:
    t = tariff(element(START_050, component("ENERGY", "0.25", 100, "10.0")))
    priced = price_periods(t, laid_out(T0, ("charge", 60, "20.45")), "UTC")
    assert rounded(priced.total_energy_cost, "0.0001") == ("5.1250", "5.6375")
    assert rounded(priced.total_energy_cost) == ("5.13", "5.64")
    assert rounded(priced.total_cost) == ("5.63", "6.24")
    energy_line = next(line for line in priced.lines if line.dimension == "ENERGY")
    assert energy_line.volume == Decimal("20.5")
    assert energy_line.rounded_up == Decimal("0.05")


COMPLEX = {
    "currency": "EUR",
    "elements": [
        element(component("FLAT", "2.50", 1, "15.0")),
        element(component("TIME", "1.00", 900, "20.0"), max_current=Decimal("32.00")),
        element(
            component("TIME", "2.00", 600, "20.0"),
            min_current=Decimal("32.00"),
            day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        ),
        element(
            component("TIME", "1.25", 600, "20.0"),
            min_current=Decimal("32.00"),
            day_of_week=["SATURDAY", "SUNDAY"],
        ),
        element(
            component("PARKING_TIME", "5.00", 300, "10.0"),
            start_time="09:00",
            end_time="18:00",
            day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        ),
        element(
            component("PARKING_TIME", "6.00", 300, "10.0"),
            start_time="10:00",
            end_time="17:00",
            day_of_week=["SATURDAY"],
        ),
    ],
}


def test_11_complex_tariff_saturday() -> None:
    t = parse_tariff(COMPLEX)
    tz = "Europe/Berlin"
    start = local("2024-06-15 13:30", tz)  # a Saturday
    trace = SessionTrace(
        started_at=start,
        stopped_at=start + timedelta(minutes=114 + 71),
        meter=[(start, 0), (start + timedelta(minutes=114), 40000)],
        states=[(start, "charging"), (start + timedelta(minutes=114), "parking")],
        current=[(start, 43), (start + timedelta(minutes=114), 0)],
    )
    priced = price_session(t, trace, tz)
    assert rounded(priced.total_time_cost, "0.0001") == ("2.3750", "2.8500")  # 114 min, unrounded
    assert rounded(priced.total_parking_cost, "0.0001") == ("7.5000", "8.2500")  # 75 min
    assert rounded(priced.total_cost, "0.0001") == ("12.3750", "13.9750")


def test_12_first_kwh_and_first_parking_hour_free() -> None:
    t = tariff(
        element(component("PARKING_TIME", "0.0", 60), min_duration=0, max_duration=3600),
        element(component("PARKING_TIME", "2.0", 60), min_duration=3600, max_duration=10800),
        element(component("PARKING_TIME", "3.0", 60), min_duration=10800),
        element(component("ENERGY", "0.0", 1), max_kwh=Decimal("1.0")),
        element(component("ENERGY", "0.2", 1), min_kwh=Decimal("1.0")),
    )
    # The spec counts parking from the session start (it leaves charging time out), so the
    # energy comes in periods of no duration: the first kWh, then the other 19.
    periods = [
        ChargingPeriod(T0, T0, energy_kwh=Decimal(1)),
        ChargingPeriod(T0, T0, energy_kwh=Decimal(19)),
        *laid_out(T0, ("park", 60), ("park", 105)),
    ]
    priced = price_periods(t, periods, "UTC")
    assert priced.total_cost.excl_vat == Decimal("7.30")
    assert priced.total_cost.incl_vat == Decimal("7.30")  # no VAT given: none applies


def test_12_builder_cuts_the_first_kwh_and_the_parking_hours() -> None:
    t = tariff(
        element(component("PARKING_TIME", "0.0", 60), max_duration=3600),
        element(component("PARKING_TIME", "2.0", 60), min_duration=3600, max_duration=10800),
        element(component("PARKING_TIME", "3.0", 60), min_duration=10800),
        element(component("ENERGY", "0.0", 1), max_kwh=Decimal("1.0")),
        element(component("ENERGY", "0.2", 1), min_kwh=Decimal("1.0")),
    )
    # 20 kWh in 20 minutes, then 3 h 10 min parked: 40 min free, 2 h at 2.00, 30 min at 3.00.
    trace = SessionTrace(
        started_at=T0,
        stopped_at=T0 + timedelta(minutes=210),
        meter=[(T0, 1000), (T0 + timedelta(minutes=20), 21000)],
        states=[(T0 + timedelta(minutes=20), "parking")],
    )
    priced = price_session(t, trace, "UTC")
    assert priced.total_energy_cost.excl_vat == Decimal("3.80")
    assert priced.total_parking_cost.excl_vat == Decimal("5.50")


STEP_SIZE_TARIFF = {
    "currency": "EUR",
    "elements": [
        element(
            component("TIME", "1.20", 1800),
            component("PARKING_TIME", "1.00", 900),
            start_time="00:00",
            end_time="17:00",
        ),
        element(
            component("TIME", "2.40", 900),
            component("PARKING_TIME", "1.00", 900),
            start_time="17:00",
            end_time="20:00",
        ),
        element(component("TIME", "2.40", 900), start_time="20:00", end_time="23:59"),
    ],
}


def test_14_step_size_of_the_last_element_rounds_the_session_total() -> None:
    t = parse_tariff(STEP_SIZE_TARIFF)
    tz = "Europe/Amsterdam"
    start = local("2024-05-02 16:35", tz)
    trace = SessionTrace(start, start + timedelta(minutes=35), [(start, 0)])
    periods = build_periods(trace, t, tz)
    assert [p.charging_s for p in periods] == [Decimal(1500), Decimal(600)]
    priced = price_periods(t, periods, tz)
    assert [line.cost.excl_vat for line in priced.lines] == [Decimal("0.50"), Decimal("0.80")]
    assert priced.total_cost.excl_vat == Decimal("1.30")


def test_15_parking_turning_free_at_20_is_still_rounded_on_the_session_total() -> None:
    t = parse_tariff(STEP_SIZE_TARIFF)
    tz = "Europe/Amsterdam"
    start = local("2024-05-02 19:40", tz)
    trace = SessionTrace(
        start,
        start + timedelta(minutes=32),
        meter=[(start, 0), (start + timedelta(minutes=12), 2000)],
        states=[(start, "charging"), (start + timedelta(minutes=12), "parking")],
    )
    priced = price_session(t, trace, tz)
    assert priced.total_time_cost.excl_vat == Decimal("0.48")  # 12 min, not rounded
    # 20 min parked, rounded to 30; the 10 extra minutes go to the last priced parking.
    assert priced.total_parking_cost.excl_vat == Decimal("0.30")
    assert priced.total_cost.excl_vat == Decimal("0.78")


MAX_POWER_TARIFF = {
    "currency": "EUR",
    "elements": [
        element(component("ENERGY", "0.20", 1, "20.0"), max_power=Decimal("16.00")),
        element(component("ENERGY", "0.35", 1, "20.0"), max_power=Decimal("32.00")),
        element(component("ENERGY", "0.50", 1, "20.0")),
    ],
}


def test_16_power_tiers_from_meter_readings() -> None:
    t = parse_tariff(MAX_POWER_TARIFF)
    m = [T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=60), T0 + timedelta(minutes=67.5)]
    trace = SessionTrace(m[0], m[3], meter=list(zip(m, [0, 1000, 41000, 41500], strict=True)))
    periods = build_periods(trace, t, "UTC")
    assert [p.max_power_kw for p in periods] == [Decimal(6), Decimal(48), Decimal(4)]
    priced = price_periods(t, periods, "UTC")
    assert rounded(priced.total_cost) == ("20.30", "24.36")
    assert price_session(t, trace, "UTC").total_cost == priced.total_cost


def test_16_power_tiers_from_power_samples_cut_mid_segment() -> None:
    t = parse_tariff(MAX_POWER_TARIFF)
    end = T0 + timedelta(minutes=60)
    trace = SessionTrace(
        T0,
        end,
        meter=[(T0, 0), (end, 30000)],  # one reading at each end: energy is interpolated
        power=[(T0, 6000), (T0 + timedelta(minutes=20), 48000), (T0 + timedelta(minutes=50), 4000)],
    )
    periods = build_periods(trace, t, "UTC")
    assert [p.start for p in periods] == [
        T0,
        T0 + timedelta(minutes=20),
        T0 + timedelta(minutes=50),
    ]
    assert [p.energy_kwh for p in periods] == [Decimal(10), Decimal(15), Decimal(5)]
    priced = price_periods(t, periods, "UTC")
    assert priced.total_cost.excl_vat == Decimal("10.50")  # 10*0.20 + 15*0.50 + 5*0.20


def test_17_first_half_hour_free_then_by_duration() -> None:
    t = parse_tariff(
        {
            "currency": "EUR",
            "elements": [
                element(component("ENERGY", "0.00", 1, "20.0"), max_duration=1800),
                element(component("ENERGY", "0.25", 1, "20.0"), max_duration=3600),
                element(component("ENERGY", "0.40", 1, "20.0")),
            ],
        }
    )
    half = T0 + timedelta(minutes=30)
    stop = T0 + timedelta(minutes=40)
    trace = SessionTrace(T0, stop, meter=[(T0, 0), (half, 5000), (stop, 6200)])
    priced = price_session(t, trace, "UTC")
    assert priced.total_cost.excl_vat == Decimal("0.30")
    assert priced.total_cost.incl_vat == Decimal("0.36")


CDR_EXAMPLE = {
    "id": "12345",
    "start_date_time": "2015-06-29T21:39:09Z",
    "end_date_time": "2015-06-29T23:37:32Z",
    "currency": "EUR",
    "tariffs": [
        {
            "id": "12",
            "currency": "EUR",
            "elements": [element(component("TIME", "2.00", 300, "10.0"))],
            "last_updated": "2015-02-02T14:15:01Z",
        }
    ],
    "charging_periods": [
        {
            "start_date_time": "2015-06-29T21:39:09Z",
            "dimensions": [{"type": "TIME", "volume": Decimal("1.973")}],
            "tariff_id": "12",
        }
    ],
    "total_cost": {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")},
    "total_energy": Decimal("15.342"),
    "total_time": Decimal("1.973"),
}


def test_18_cdr_example_time_rounded_to_five_minutes() -> None:
    t = parse_tariff(CDR_EXAMPLE["tariffs"][0])  # type: ignore[index]
    periods = periods_from_cdr(CDR_EXAMPLE)
    assert periods[0].charging_s == Decimal("7102.800")
    priced = price_periods(t, periods, "Europe/Brussels")
    assert rounded(priced.total_cost) == ("4.00", "4.40")
    assert priced.total_time == Decimal("1.973")
