"""min_price / max_price that give only excl_vat: the bound gets the session's own VAT mix."""

from __future__ import annotations

from decimal import Decimal

from tariffs import Cost, price_periods
from tests.unit.tariffs.tariff_testkit import component, element, laid_out, local, tariff

T0 = local("2024-05-02 10:00")
ENERGY_25 = component("ENERGY", "0.25", 1, "25")


def test_min_price_without_incl_vat_gets_the_sessions_vat() -> None:
    t = tariff(element(ENERGY_25), min_price={"excl_vat": "0.50"})
    small = price_periods(t, laid_out(T0, ("charge", 10, 1)), "UTC")  # 0.25 excl, 0.3125 incl
    assert small.total_cost == Cost(Decimal("0.50"), Decimal("0.625"))
    assert small.price_limit_adjustment == Cost(Decimal("0.25"), Decimal("0.3125"))
    big = price_periods(t, laid_out(T0, ("charge", 60, 20)), "UTC")
    assert big.total_cost == Cost(Decimal("5.00"), Decimal("6.25"))  # above the bound: as is


def test_min_price_on_a_mixed_rate_session_scales_each_part() -> None:
    flat_20 = component("FLAT", "0.10", 1, "20")
    t = tariff(element(flat_20, component("ENERGY", "0.25", 1, "10")), min_price={"excl_vat": "1"})
    priced = price_periods(t, laid_out(T0, ("charge", 10, "0.4")), "UTC")
    # 0.10 at 20 % + 0.10 at 10 %: 0.20 excl, 0.23 incl; scaled to 1.00: 1.15
    assert priced.total_cost == Cost(Decimal(1), Decimal("1.15"))


def test_min_price_on_a_session_that_cost_nothing_takes_the_highest_rate() -> None:
    t = tariff(
        element(component("ENERGY", "0.25", 1, "10"), component("TIME", "0", 1, "25")),
        min_price={"excl_vat": "0.50"},
    )
    priced = price_periods(t, laid_out(T0, ("park", 10)), "UTC")
    assert priced.total_cost == Cost(Decimal("0.50"), Decimal("0.625"))
    no_vat = tariff(element(component("ENERGY", "0.25")), min_price={"excl_vat": "0.50"})
    assert price_periods(no_vat, laid_out(T0, ("park", 10)), "UTC").total_cost == Cost(
        Decimal("0.50"), Decimal("0.50")
    )


def test_max_price_without_incl_vat_caps_incl_vat_at_the_sessions_rate() -> None:
    t = tariff(element(ENERGY_25), max_price={"excl_vat": "10"})
    capped = price_periods(t, laid_out(T0, ("charge", 120, 50)), "UTC")  # 12.50 / 15.625
    assert capped.total_cost == Cost(Decimal(10), Decimal("12.5"))


def test_a_bound_that_gives_incl_vat_is_kept_as_given() -> None:
    t = tariff(element(ENERGY_25), min_price={"excl_vat": "0.50", "incl_vat": "0.60"})
    small = price_periods(t, laid_out(T0, ("charge", 10, 1)), "UTC")
    assert small.total_cost == Cost(Decimal("0.50"), Decimal("0.60"))
