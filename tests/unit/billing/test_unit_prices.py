"""The unit prices a line keeps are those of the tariff elements that priced the session."""

from __future__ import annotations

from decimal import Decimal

from billing import unit_prices
from billing.pricing import SessionTotals, VersionPricer
from tests.unit.billing.billing_testkit import PEAK, SIMPLE, local


def test_an_unrestricted_tariff_keeps_every_dimensions_price() -> None:
    pricer = VersionPricer.from_ocpi(SIMPLE, "Europe/Oslo")
    totals = SessionTotals(local("2026-10-05 08:00"), local("2026-10-05 09:00"), 1000, 3600, 0)
    assert pricer.prices_of_totals(totals) == "E=2.50;T=60.00;P=12.00;F=5.00"
    assert unit_prices.single_energy_price(pricer.linear_prices) == Decimal("2.50")


def test_a_time_of_day_session_keeps_the_prices_it_met() -> None:
    pricer = VersionPricer.from_ocpi(PEAK, "Europe/Oslo")
    inside = SessionTotals(local("2026-10-05 18:00"), local("2026-10-05 18:30"), 1000, 1800, 0)
    assert pricer.prices_of_totals(inside) == "E=4.00"
    before = SessionTotals(local("2026-10-05 08:00"), local("2026-10-05 09:00"), 1000, 3600, 0)
    assert pricer.prices_of_totals(before) == "E=1.00"
    across = SessionTotals(local("2026-10-05 16:30"), local("2026-10-05 17:30"), 2000, 3600, 0)
    assert pricer.prices_of_totals(across) is None  # no closed form: the trace prices it
    net, prices = pricer.priced(pricer.timeline(across, [], []))
    assert prices == "E=1.00/4.00" and net == Decimal("5.00")  # 1 kWh at 1.00, 1 at 4.00
    assert unit_prices.single_energy_price(prices) is None
    assert unit_prices.decode(prices) == {"E": [Decimal("1.00"), Decimal("4.00")]}
