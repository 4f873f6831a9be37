"""Tariffs shaped like what real CPOs publish, with the liberties they take with OCPI 2.2.1."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from config.cli import main
from tariffs import check_tariff, parse_tariff, price_periods, tariff_to_json
from tests.unit.tariffs.tariff_testkit import laid_out, local

# A start fee and energy at 0 step (no rounding), then a per-minute idle fee after an hour;
# numbers as JSON numbers, as sent over OCPI.
REAL = """{
  "country_code": "NO",
  "party_id": "EVC",
  "id": "AC22-NOK-2024",
  "currency": "NOK",
  "type": "AD_HOC_PAYMENT",
  "tariff_alt_text": [{"language": "no", "text": "2,50 kr start, 3,20 kr/kWh"}],
  "elements": [
    {"price_components": [
      {"type": "FLAT", "price": 2.00, "vat": 25.0, "step_size": 0},
      {"type": "ENERGY", "price": 2.56, "vat": 25.0, "step_size": 0}
    ]},
    {"price_components": [{"type": "PARKING_TIME", "price": 60, "vat": 25.0, "step_size": 60}],
     "restrictions": {"min_duration": 3600}}
  ],
  "last_updated": "2024-03-01T12:00:00Z"
}"""


def test_step_size_zero_is_accepted_and_kept() -> None:
    obj = json.loads(REAL, parse_float=Decimal)
    t = parse_tariff(obj)
    assert [c.step_size for c in t.elements[0].price_components] == [0, 0]
    assert tariff_to_json(t) == obj


def test_step_size_zero_is_no_rounding() -> None:
    t = parse_tariff(json.loads(REAL, parse_float=Decimal))
    # 10.0004 kWh: priced to the mWh, not rounded up to a whole Wh
    priced = price_periods(t, laid_out(local("2024-05-02 10:00"), ("charge", 30, "10.0004")), "UTC")
    assert priced.total_energy_cost.excl_vat == Decimal("2.56") * Decimal("10.0004")
    assert priced.total_cost.excl_vat == Decimal("2.00") + Decimal("2.56") * Decimal("10.0004")
    assert [line.rounded_up for line in priced.lines] == [0, 0]


def test_check_warns_about_step_size_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warnings = check_tariff(parse_tariff(json.loads(REAL, parse_float=Decimal)))
    assert warnings == [
        "elements[0].price_components[0].step_size: 0 is not OCPI 2.2.1 (a positive integer); "
        "FLAT is never rounded, 1 says the same",
        "elements[0].price_components[1].step_size: 0 is not OCPI 2.2.1 (a positive integer); "
        "read as no rounding; 1 would round up to whole Wh or seconds",
        "PARKING_TIME: no element without restrictions; outside the restrictions of "
        "elements[1] this dimension is free",
    ]
    path = tmp_path / "t.json"
    path.write_text(REAL)
    assert main(["tariffs", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: valid OCPI 2.2.1 tariff AC22-NOK-2024 in NOK, 2 element(s)" in out
    assert "warning: elements[0].price_components[1].step_size: 0 is not OCPI" in out
