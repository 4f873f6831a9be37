"""Warnings for tariffs that are valid but probably not what was meant."""

from __future__ import annotations

from decimal import Decimal

from tariffs import check_tariff, parse_simple_tariff
from tests.unit.tariffs.tariff_testkit import component, element, tariff


def test_unreachable_element_and_missing_fallback() -> None:
    t = tariff(
        element(component("ENERGY", "0.25", 1)),
        element(component("ENERGY", "0.10", 1), start_time="22:00", end_time="06:00"),
        element(component("TIME", "2.00", 60), max_power=Decimal(22)),
        element(component("TIME", "1.00", 60), start_time="08:00", end_time="08:00"),
        id="1",
        country_code="NO",
        party_id="EVG",
        last_updated="2024-01-01T00:00:00Z",
    )
    assert check_tariff(t) == [
        "elements[1]: unreachable, elements[0] has no restrictions and comes first for ENERGY",
        "elements[3].restrictions.end_time: equal to start_time, read as all day",
        "TIME: no element without restrictions; outside the restrictions of elements[2], "
        "elements[3] this dimension is free",
    ]


def test_a_clean_simple_tariff_only_lacks_its_ocpi_identity() -> None:
    warnings = check_tariff(parse_simple_tariff("0.25 per kWh + 0.50 start fee", "EUR"))
    assert [w.split(":")[0] for w in warnings] == ["id", "country_code", "party_id", "last_updated"]


def test_second_component_of_a_dimension_in_one_element() -> None:
    t = tariff(element(component("ENERGY", "0.25", 1), component("ENERGY", "0.30", 1)))
    assert "elements[0].price_components[1]: a second ENERGY component" in check_tariff(t)[-1]
