"""Simple tariff texts become the equivalent OCPI tariffs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tariffs import (
    Dimension,
    Price,
    PriceComponent,
    TariffError,
    parse_simple_tariff,
    parse_tariff,
    price_periods,
    tariff_to_json,
)
from tests.unit.tariffs.tariff_testkit import laid_out, local


@pytest.mark.parametrize(
    ("text", "dimension", "price"),
    [
        ("0.25 per kWh", Dimension.ENERGY, "0.25"),
        ("2.00 per hour charging", Dimension.TIME, "2.00"),
        ("2.00 per hour", Dimension.TIME, "2.00"),
        ("0.05 per minute", Dimension.TIME, "3.00"),
        ("1.00 per hour parking", Dimension.PARKING_TIME, "1.00"),
        ("0.10 per minute parking", Dimension.PARKING_TIME, "6.00"),
        ("0.50 start fee", Dimension.FLAT, "0.50"),
        ("EUR 0.25 per kWh", Dimension.ENERGY, "0.25"),
        ("0.25 EUR per kWh", Dimension.ENERGY, "0.25"),
        ("0.25 eur/kWh", Dimension.ENERGY, "0.25"),
        ("  0.25   PER   KWH ", Dimension.ENERGY, "0.25"),
    ],
)
def test_single_forms(text: str, dimension: Dimension, price: str) -> None:
    t = parse_simple_tariff(text, "EUR")
    assert t.elements[0].price_components == (PriceComponent(dimension, Decimal(price), 1, None),)
    assert t.elements[0].restrictions is None


def test_combination_with_vat_and_bounds_prices_like_the_spec() -> None:
    t = parse_simple_tariff("0.25 per kWh + 0.50 start fee + max 10", "EUR", vat=Decimal(10))
    assert [c.type for c in t.elements[0].price_components] == [Dimension.ENERGY, Dimension.FLAT]
    assert t.max_price == Price(Decimal(10), Decimal(11))
    start = local("2024-05-02 10:00")
    priced = price_periods(t, laid_out(start, ("charge", 60, 20)), "UTC")
    assert priced.total_cost.excl_vat == Decimal("5.50")
    assert priced.total_cost.incl_vat == Decimal("6.050")
    capped = price_periods(t, laid_out(start, ("charge", 60, 50)), "UTC")
    assert (capped.total_cost.excl_vat, capped.total_cost.incl_vat) == (10, 11)


def test_simple_tariff_is_a_valid_ocpi_tariff() -> None:
    t = parse_simple_tariff("2.00 per hour charging + 1.00 per hour parking", "NOK")
    assert parse_tariff(tariff_to_json(t)) == t
    start = local("2024-05-02 10:00")
    priced = price_periods(t, laid_out(start, ("charge", 90, 20), ("park", 30)), "UTC")
    assert priced.total_cost.excl_vat == Decimal("3.50")
    assert priced.total_time == Decimal("2")
    assert start + timedelta(minutes=120) == priced.end


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("0.25 per kWhh", "no known unit"),
        ("cheap", "cannot read term 1"),
        ("0.25 per kWh + ", "cannot read term 2"),
        ("USD 0.25 per kWh", "not in EUR"),
        ("0.25 per kWh + 0.30 per kWh", "priced twice"),
        ("min 0.50", "only bounds"),
        ("0.25 per kWh + min 5 + max 4", "above the maximum"),
        ("0,25 per kWh", "no known unit"),
    ],
)
def test_unreadable_text_is_refused(text: str, words: str) -> None:
    with pytest.raises(TariffError) as err:
        parse_simple_tariff(text, "EUR")
    assert err.value.path == "text"
    assert words in str(err.value)


def test_bad_currency_and_vat() -> None:
    with pytest.raises(TariffError, match="^currency: "):
        parse_simple_tariff("0.25 per kWh", "eur")
    with pytest.raises(TariffError, match="^vat: "):
        parse_simple_tariff("0.25 per kWh", "EUR", vat=Decimal(-1))
