"""OCPI tariff JSON: exact round trip, and errors that name the bad field."""

from __future__ import annotations

import json
from datetime import time
from decimal import Decimal
from typing import Any

import pytest

from tariffs import DayOfWeek, Dimension, TariffError, dumps, parse_tariff, tariff_to_json

FULL = """{
  "country_code": "DE",
  "party_id": "ALL",
  "id": "14",
  "currency": "EUR",
  "type": "REGULAR",
  "tariff_alt_text": [{"language": "en", "text": "2.50 start, then by the hour."}],
  "tariff_alt_url": "https://company.com/tariffs/14",
  "min_price": {"excl_vat": 0.50, "incl_vat": 0.55},
  "max_price": {"excl_vat": 25.00},
  "elements": [
    {"price_components": [{"type": "FLAT", "price": 2.50, "vat": 15.0, "step_size": 1}]},
    {"price_components": [{"type": "TIME", "price": 1.00, "vat": 20.0, "step_size": 900}],
     "restrictions": {"max_current": 32.00}},
    {"price_components": [{"type": "PARKING_TIME", "price": 5.00, "vat": 10.0, "step_size": 300}],
     "restrictions": {"start_time": "09:00", "end_time": "18:00", "start_date": "2024-01-01",
                      "end_date": "2025-01-01", "min_kwh": 0, "max_kwh": 50.5,
                      "min_power": 0, "max_power": 22, "min_current": 6, "max_current": 64,
                      "min_duration": 0, "max_duration": 7200,
                      "day_of_week": ["MONDAY", "FRIDAY"]}},
    {"price_components": [{"type": "TIME", "price": 5, "vat": 20, "step_size": 60}],
     "restrictions": {"reservation": "RESERVATION", "day_of_week": []}}
  ],
  "start_date_time": "2024-01-01T00:00:00Z",
  "end_date_time": "2025-01-01T00:00:00Z",
  "energy_mix": {"is_green_energy": true},
  "tax_included": "NO",
  "last_updated": "2015-06-29T20:39:09Z"
}"""


def load(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def test_round_trip_is_exact() -> None:
    obj = load(FULL)
    t = parse_tariff(obj)
    assert tariff_to_json(t) == obj
    assert parse_tariff(tariff_to_json(t)) == t
    # and as text: the digits written are the digits read
    assert json.loads(dumps(tariff_to_json(t)), parse_float=str)["min_price"] == {
        "excl_vat": "0.50",
        "incl_vat": "0.55",
    }


def test_model_holds_typed_values() -> None:
    t = parse_tariff(load(FULL))
    r = t.elements[2].restrictions
    assert r is not None
    assert r.start_time == time(9, 0)
    assert r.day_of_week == (DayOfWeek.MONDAY, DayOfWeek.FRIDAY)
    assert r.max_kwh == Decimal("50.5")
    assert t.elements[0].price_components[0].type is Dimension.FLAT
    assert t.extra == (("tax_included", "NO"),)
    assert t.elements[3].restrictions is not None
    assert t.elements[3].restrictions.day_of_week == ()


def test_plain_json_floats_are_read_through_their_text() -> None:
    t = parse_tariff(
        json.loads('{"currency": "EUR", "elements": [{"price_components": '
                   '[{"type": "ENERGY", "price": 0.1, "vat": 21.0, "step_size": 1}]}]}')
    )  # fmt: skip
    assert t.elements[0].price_components[0].price == Decimal("0.1")


def minimal(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "currency": "EUR",
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}]},
            {"price_components": [{"type": "TIME", "price": "2", "step_size": 60}]},
        ],
    }
    obj.update(changes)
    return obj


def with_component(**fields: Any) -> dict[str, Any]:
    obj = minimal()
    obj["elements"][1]["price_components"][0].update(fields)
    return obj


def with_restrictions(**fields: Any) -> dict[str, Any]:
    obj = minimal()
    obj["elements"][1]["restrictions"] = fields
    return obj


@pytest.mark.parametrize(
    ("obj", "path", "words"),
    [
        (with_component(step_size=-1), "elements[1].price_components[0].step_size", "non-neg"),
        (with_component(step_size=1.5), "elements[1].price_components[0].step_size", "non-neg"),
        (with_component(step_size=True), "elements[1].price_components[0].step_size", "non-neg"),
        (with_component(price="abc"), "elements[1].price_components[0].price", "number"),
        (with_component(price=-1), "elements[1].price_components[0].price", "at least 0"),
        (with_component(vat="NaN"), "elements[1].price_components[0].vat", "finite"),
        (with_component(type="KWH"), "elements[1].price_components[0].type", "one of ENERGY"),
        (with_component(extra=1), "elements[1].price_components[0].extra", "unknown field"),
        (with_restrictions(start_time="24:00"), "elements[1].restrictions.start_time", "HH:MM"),
        (with_restrictions(start_time="9:00"), "elements[1].restrictions.start_time", "HH:MM"),
        (with_restrictions(end_date="2024-02-30"), "elements[1].restrictions.end_date", "date"),
        (with_restrictions(day_of_week=["MON"]), "elements[1].restrictions.day_of_week[0]", "one"),
        (
            with_restrictions(day_of_week=["MONDAY", "MONDAY"]),
            "elements[1].restrictions.day_of_week",
            "twice",
        ),
        (with_restrictions(min_kwh=5, max_kwh=5), "elements[1].restrictions.max_kwh", "greater"),
        (with_restrictions(max_duration=1.5), "elements[1].restrictions.max_duration", "integer"),
        (with_restrictions(max_kwhs=5), "elements[1].restrictions.max_kwhs", "unknown field"),
        (with_restrictions(reservation="SOON"), "elements[1].restrictions.reservation", "one of"),
        (minimal(currency="euro"), "currency", "ISO 4217"),
        (minimal(elements=[]), "elements", "not be empty"),
        (minimal(elements=[{"price_components": []}]), "elements[0].price_components", "empty"),
        (minimal(elements=[{}]), "elements[0].price_components", "required"),
        (minimal(min_price={"incl_vat": 1}), "min_price.excl_vat", "required"),
        (minimal(min_price={"excl_vat": 1, "incl_vat": "0.5"}), "min_price.incl_vat", "lower"),
        (
            minimal(min_price={"excl_vat": 5}, max_price={"excl_vat": 4}),
            "max_price.excl_vat",
            "lower",
        ),
        (minimal(last_updated="yesterday"), "last_updated", "DateTime"),
        (minimal(type="CHEAP"), "type", "one of"),
        (minimal(id="x" * 37), "id", "36"),
    ],
)
def test_invalid_field_is_named(obj: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(TariffError) as err:
        parse_tariff(obj)
    assert err.value.path == path
    assert str(err.value).startswith(f"{path}: ")
    assert words in str(err.value)


def test_reservation_element_takes_only_flat_and_time() -> None:
    obj = minimal()
    obj["elements"][0]["restrictions"] = {"reservation": "RESERVATION"}
    with pytest.raises(TariffError, match=r"^elements\[0\]\.price_components\[0\]\.type: "):
        parse_tariff(obj)


def test_not_an_object() -> None:
    with pytest.raises(TariffError, match="^tariff: must be a JSON object$"):
        parse_tariff([1, 2])
