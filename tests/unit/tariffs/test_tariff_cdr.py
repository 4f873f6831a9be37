"""CDR export of a priced session and import of a CDR's charging periods."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tariffs import (
    SessionTrace,
    TariffError,
    cdr_to_json,
    dumps,
    parse_simple_tariff,
    periods_from_cdr,
    price_periods,
    price_session,
)
from tests.unit.tariffs.tariff_testkit import component, element, local, tariff

START = local("2024-05-02 16:00", "Europe/Oslo")


def priced_session() -> Any:
    t = tariff(
        element(component("FLAT", "0.50", 1, "25")),
        element(component("ENERGY", "0.30", 1, "25"), start_time="17:00"),
        element(
            component("ENERGY", "0.20", 1, "25"),
            component("TIME", "0.60", 60, "25"),
            component("PARKING_TIME", "1.20", 300, "25"),
        ),
        id="T1",
        last_updated="2024-01-01T00:00:00Z",
    )
    trace = SessionTrace(
        START,
        START + timedelta(minutes=100),
        meter=[(START, "532363.9"), (START + timedelta(minutes=80), "552363.9")],
        states=[(START + timedelta(minutes=80), "parking")],
    )
    return t, price_session(t, trace, "Europe/Oslo")


def test_cdr_has_4_decimal_totals_and_periods() -> None:
    t, priced = priced_session()
    cdr = cdr_to_json(priced, t, cdr_id="CDR-1", extra={"country_code": "NO", "party_id": "EVG"})
    assert cdr["id"] == "CDR-1"
    assert cdr["start_date_time"] == "2024-05-02T14:00:00Z"
    assert cdr["end_date_time"] == "2024-05-02T15:40:00Z"
    assert cdr["tariffs"][0]["id"] == "T1"
    # 20 kWh over 80 min: 15 kWh before 17:00 at 0.20, 5 kWh after at 0.30
    assert cdr["total_energy_cost"] == {
        "excl_vat": Decimal("4.5000"),
        "incl_vat": Decimal("5.6250"),
    }
    assert cdr["total_time_cost"] == {"excl_vat": Decimal("0.8000"), "incl_vat": Decimal("1.0000")}
    assert cdr["total_parking_cost"] == {
        "excl_vat": Decimal("0.4000"),
        "incl_vat": Decimal("0.5000"),
    }
    assert cdr["total_fixed_cost"]["excl_vat"] == Decimal("0.5000")
    assert cdr["total_cost"] == {"excl_vat": Decimal("6.2000"), "incl_vat": Decimal("7.7500")}
    assert cdr["total_energy"] == Decimal(20)
    assert cdr["total_time"] == Decimal("1.666666667")  # 100 minutes
    assert cdr["total_parking_time"] == Decimal("0.333333333")
    assert cdr["country_code"] == "NO"
    dims = [[(d["type"], d["volume"]) for d in p["dimensions"]] for p in cdr["charging_periods"]]
    assert dims[0][:2] == [("ENERGY", Decimal(15)), ("TIME", Decimal(1))]
    assert dims[1][:2] == [("ENERGY", Decimal(5)), ("TIME", Decimal("0.333333333"))]
    assert dims[2][0] == ("PARKING_TIME", Decimal("0.333333333"))
    text = dumps(cdr)
    assert '"excl_vat": 6.2000' in text
    assert json.loads(text)["total_cost"]["incl_vat"] == 7.75


def test_exported_cdr_reprices_to_the_same_totals() -> None:
    t, priced = priced_session()
    cdr = json.loads(dumps(cdr_to_json(priced, t)), parse_float=Decimal)
    again = price_periods(t, periods_from_cdr(cdr), "Europe/Oslo")
    assert again.total_cost.excl_vat.quantize(Decimal("0.0001")) == Decimal("6.2000")
    assert again.total_cost.incl_vat.quantize(Decimal("0.0001")) == Decimal("7.7500")
    assert again.total_energy == Decimal(20)


def test_import_reads_power_current_reservation_and_ignores_session_only_dimensions() -> None:
    cdr = {
        "end_date_time": "2024-05-02T12:00:00Z",
        "charging_periods": [
            {
                "start_date_time": "2024-05-02T10:00:00Z",
                "dimensions": [{"type": "RESERVATION_TIME", "volume": 0.25}],
            },
            {
                "start_date_time": "2024-05-02T10:15:00",
                "tariff_id": "T9",
                "dimensions": [
                    {"type": "ENERGY", "volume": "12.5"},
                    {"type": "TIME", "volume": 1.75},
                    {"type": "MAX_POWER", "volume": 11},
                    {"type": "MAX_CURRENT", "volume": 16},
                    {"type": "STATE_OF_CHARGE", "volume": 80},
                ],
            },
        ],
    }
    first, second = periods_from_cdr(cdr)
    assert first.reservation_s == Decimal(900)
    assert first.end == second.start
    assert second.charging_s == Decimal(6300)
    assert (second.energy_kwh, second.max_power_kw, second.max_current_a) == (
        Decimal("12.5"),
        Decimal(11),
        Decimal(16),
    )
    assert second.tariff_id == "T9"
    reservation = tariff(
        element(
            component("FLAT", "2.00", 1), component("TIME", "5.00", 300), reservation="RESERVATION"
        ),
        element(component("ENERGY", "0.25", 1)),
    )
    priced = price_periods(reservation, [first, second], "UTC")
    assert priced.total_reservation_cost.excl_vat == Decimal("3.25")  # 2.00 + 15 min at 5.00/h
    assert priced.total_energy_cost.excl_vat == Decimal("3.125")
    assert priced.total_fixed_cost.excl_vat == 0


@pytest.mark.parametrize(
    ("cdr", "path"),
    [
        ({"end_date_time": "2024-05-02T12:00:00Z"}, "charging_periods"),
        ({"charging_periods": [{"start_date_time": "2024-05-02T10:00:00Z"}]}, "end_date_time"),
        (
            {"end_date_time": "2024-05-02T12:00:00Z", "charging_periods": [{"dimensions": []}]},
            "charging_periods[0].start_date_time",
        ),
        (
            {
                "end_date_time": "2024-05-02T12:00:00Z",
                "charging_periods": [
                    {
                        "start_date_time": "2024-05-02T10:00:00Z",
                        "dimensions": [
                            {"type": "TIME", "volume": 1},
                            {"type": "ENERGYY", "volume": 1},
                        ],
                    }
                ],
            },
            "charging_periods[0].dimensions[1].type",
        ),
        (
            {
                "end_date_time": "2024-05-02T12:00:00Z",
                "charging_periods": [
                    {
                        "start_date_time": "2024-05-02T10:00:00Z",
                        "dimensions": [{"type": "TIME", "volume": "-1"}],
                    }
                ],
            },
            "charging_periods[0].dimensions[0].volume",
        ),
        (
            {
                "end_date_time": "2024-05-02T09:00:00Z",
                "charging_periods": [
                    {
                        "start_date_time": "2024-05-02T10:00:00Z",
                        "dimensions": [{"type": "TIME", "volume": 1}],
                    }
                ],
            },
            "end_date_time",
        ),
    ],
)
def test_bad_cdr_names_the_field(cdr: dict[str, Any], path: str) -> None:
    with pytest.raises(TariffError) as err:
        periods_from_cdr(cdr)
    assert err.value.path == path


def test_simple_tariff_cdr_without_tariff() -> None:
    t = parse_simple_tariff("0.25 per kWh", "EUR", vat=Decimal(10))
    trace = SessionTrace(
        START, START + timedelta(hours=1), meter=[(START, 0), (START + timedelta(hours=1), 20000)]
    )
    cdr = cdr_to_json(price_session(t, trace, "UTC"))
    assert "tariffs" not in cdr and "id" not in cdr
    assert cdr["total_cost"] == {"excl_vat": Decimal("5.0000"), "incl_vat": Decimal("5.5000")}
