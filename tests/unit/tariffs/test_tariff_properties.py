"""Properties of the pricer that must hold for every tariff and session (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs import (
    ChargingPeriod,
    Cost,
    SessionTrace,
    Tariff,
    TariffError,
    parse_tariff,
    price_periods,
    price_session,
)
from tests.unit.tariffs.tariff_testkit import component, element, tariff

T0 = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
OSLO = "Europe/Oslo"

TINY = Decimal("1E-30")  # relative: the pricer keeps 34 significant digits
prices = st.decimals(min_value=0, max_value=10, places=4)
vats = st.one_of(st.none(), st.decimals(min_value=0, max_value=30, places=1))
steps = st.sampled_from([0, 1, 60, 100, 300, 900, 1000, 3600])  # 0: no rounding


@st.composite
def free_tariffs(
    draw: st.DrawFn, with_limits: bool = False, excl_only: bool = False, one_rate: bool = False
) -> Tariff:
    """A tariff without restrictions: some of ENERGY, TIME, PARKING_TIME, FLAT.

    ``excl_only``: the limits may give excl_vat alone; ``one_rate``: every component the same VAT.
    """
    kinds = draw(
        st.lists(
            st.sampled_from(["ENERGY", "TIME", "PARKING_TIME", "FLAT"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    rate = draw(vats)
    comps = [
        {"type": k, "price": draw(prices), "step_size": draw(steps)}
        | ({} if (v := rate if one_rate else draw(vats)) is None else {"vat": v})
        for k in kinds
    ]
    top: dict[str, Any] = {"currency": "EUR", "elements": [{"price_components": comps}]}
    if with_limits:
        low = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=5, places=2)))
        high = draw(st.one_of(st.none(), st.decimals(min_value=5, max_value=50, places=2)))
        if low is not None:
            top["min_price"] = {"excl_vat": low, "incl_vat": low * Decimal("1.1")}
        if high is not None:
            top["max_price"] = {"excl_vat": high, "incl_vat": high * Decimal("1.25")}
        for bound in ("min_price", "max_price"):
            if excl_only and bound in top and draw(st.booleans()):
                del top[bound]["incl_vat"]
    return parse_tariff(top)


part = st.tuples(
    st.booleans(),  # charging?
    st.integers(min_value=0, max_value=20000),  # seconds
    st.decimals(min_value=0, max_value=50, places=3),  # kWh
)


def periods_of(parts: list[tuple[bool, int, Decimal]]) -> list[ChargingPeriod]:
    out, t = [], T0
    for charging, seconds, kwh in parts:
        end = t + timedelta(seconds=seconds)
        s = Decimal(seconds)
        out.append(
            ChargingPeriod(
                t,
                end,
                energy_kwh=kwh if charging else Decimal(0),
                charging_s=s if charging else Decimal(0),
                parking_s=Decimal(0) if charging else s,
            )
        )
        t = end
    return out


def split(p: ChargingPeriod, fraction: Decimal, energy_share: Decimal) -> list[ChargingPeriod]:
    seconds = p.charging_s + p.parking_s
    first_s = (seconds * fraction).to_integral_value()
    mid = p.start + timedelta(seconds=int(first_s))
    e1 = (p.energy_kwh * energy_share).quantize(Decimal("0.001"))
    charging = p.charging_s > 0
    first = ChargingPeriod(
        p.start,
        mid,
        energy_kwh=e1,
        charging_s=first_s if charging else Decimal(0),
        parking_s=Decimal(0) if charging else first_s,
    )
    rest = seconds - first_s
    second = ChargingPeriod(
        mid,
        p.end,
        energy_kwh=p.energy_kwh - e1,
        charging_s=rest if charging else Decimal(0),
        parking_s=Decimal(0) if charging else rest,
    )
    return [first, second]


fractions = st.decimals(min_value=0, max_value=1, places=3)


@given(
    free_tariffs(with_limits=True),
    st.lists(part, min_size=1, max_size=5),
    st.data(),
    fractions,
    fractions,
)
def test_cutting_a_period_never_changes_the_price(
    t: Tariff, parts: list[Any], data: st.DataObject, fraction: Decimal, share: Decimal
) -> None:
    periods = periods_of(parts)
    i = data.draw(st.integers(min_value=0, max_value=len(periods) - 1))
    cut = periods[:i] + split(periods[i], fraction, share) + periods[i + 1 :]
    whole, pieces = price_periods(t, periods, "UTC"), price_periods(t, cut, "UTC")
    assert pieces.total_cost == whole.total_cost
    for name in ("fixed", "energy", "time", "parking"):
        assert getattr(pieces, f"total_{name}_cost") == getattr(whole, f"total_{name}_cost")
    assert (pieces.total_energy, pieces.total_time) == (whole.total_energy, whole.total_time)


@given(
    free_tariffs(with_limits=True),
    st.lists(part, min_size=1, max_size=5),
    st.data(),
    st.integers(min_value=0, max_value=5000),
    st.decimals(min_value=0, max_value=20, places=3),
)
def test_price_is_monotone_in_energy_and_time(
    t: Tariff, parts: list[Any], data: st.DataObject, more_s: int, more_kwh: Decimal
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(parts) - 1))
    charging, seconds, kwh = parts[i]
    bigger = [*parts]
    bigger[i] = (charging, seconds + more_s, kwh + more_kwh)
    before = price_periods(t, periods_of(parts), "UTC").total_cost
    after = price_periods(t, periods_of(bigger), "UTC").total_cost
    assert after.excl_vat >= before.excl_vat
    assert after.incl_vat >= before.incl_vat


@given(free_tariffs(with_limits=True), st.lists(part, min_size=0, max_size=5))
def test_incl_vat_is_never_below_excl_vat_and_limits_hold(t: Tariff, parts: list[Any]) -> None:
    priced = price_periods(t, periods_of(parts), "UTC")
    total = priced.total_cost
    assert total.incl_vat >= total.excl_vat
    for line in priced.lines:
        assert line.cost.incl_vat >= line.cost.excl_vat >= 0
    if t.min_price is not None:
        assert total.excl_vat >= t.min_price.excl_vat
        assert t.min_price.incl_vat is not None and total.incl_vat >= t.min_price.incl_vat
    if t.max_price is not None:
        assert total.excl_vat <= t.max_price.excl_vat
        assert t.max_price.incl_vat is not None and total.incl_vat <= t.max_price.incl_vat


@given(free_tariffs(with_limits=True, excl_only=True), st.lists(part, min_size=0, max_size=5))
def test_limits_without_incl_vat_never_put_incl_below_excl(t: Tariff, parts: list[Any]) -> None:
    priced = price_periods(t, periods_of(parts), "UTC")
    total, adjustment = priced.total_cost, priced.price_limit_adjustment
    with localcontext(Context(prec=80)):  # the pricer's 34 digits, back exactly
        subtotal = Cost(total.excl_vat - adjustment.excl_vat, total.incl_vat - adjustment.incl_vat)
    assert total.incl_vat >= total.excl_vat
    if t.min_price is not None:
        assert total.excl_vat >= t.min_price.excl_vat
    if t.max_price is not None:
        assert total.excl_vat <= t.max_price.excl_vat
    if subtotal.excl_vat > 0 and total.excl_vat != subtotal.excl_vat:
        bounds = [b for b in (t.min_price, t.max_price) if b is not None]
        if all(b.incl_vat is None for b in bounds):  # both derived: the session's own mix
            with localcontext(Context(prec=80)):
                ratio = subtotal.incl_vat / subtotal.excl_vat
                assert abs(total.incl_vat - total.excl_vat * ratio) <= total.incl_vat * TINY


@given(
    free_tariffs(with_limits=True, excl_only=True, one_rate=True),
    st.lists(part, min_size=0, max_size=5),
)
def test_a_one_rate_tariff_bounds_at_that_rate(t: Tariff, parts: list[Any]) -> None:
    """Every component at one VAT rate: a derived bound carries exactly that rate."""
    total = price_periods(t, periods_of(parts), "UTC").total_cost
    if any(b is not None and b.incl_vat is not None for b in (t.min_price, t.max_price)):
        return
    vat = t.elements[0].price_components[0].vat
    with localcontext(Context(prec=80)):
        expected = total.excl_vat * (1 + (vat or 0) / Decimal(100))
        assert abs(total.incl_vat - expected) <= expected * TINY


DAY_NIGHT = tariff(
    element(component("TIME", "2.00", 1), start_time="08:00", end_time="20:00"),
    element(component("TIME", "0.60", 1)),
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["2024-03-30", "2024-03-31", "2024-10-26", "2024-10-27"]),
    st.integers(min_value=0, max_value=26 * 60),
    st.integers(min_value=0, max_value=26 * 60),
)
def test_dst_days_priced_minute_by_minute(day: str, offset_min: int, length_min: int) -> None:
    """Against a naive oracle: walk the session minute by minute in local time."""
    zone = ZoneInfo(OSLO)
    midnight = datetime.fromisoformat(day).replace(tzinfo=zone).astimezone(UTC)
    start = midnight + timedelta(minutes=offset_min)
    stop = start + timedelta(minutes=length_min)
    expected = Decimal(0)
    for m in range(length_min):
        hour = (start + timedelta(minutes=m)).astimezone(zone).hour
        expected += Decimal("2.00" if 8 <= hour < 20 else "0.60") / 60
    priced = price_session(DAY_NIGHT, SessionTrace(start, stop, meter=[]), OSLO)
    assert priced.total_cost.excl_vat.quantize(Decimal("1E-20")) == expected.quantize(
        Decimal("1E-20")
    )
    assert priced.total_time * 60 == length_min


CORRUPTIONS: list[tuple[str, Any]] = [
    ("price", "ten"),
    ("price", -1),
    ("step_size", -1),
    ("step_size", "60"),
    ("vat", True),
    ("type", "KWH"),
]
RESTRICTION_CORRUPTIONS: list[tuple[str, Any]] = [
    ("start_time", "25:00"),
    ("end_date", "2024-13-01"),
    ("min_power", "lots"),
    ("max_duration", -5),
    ("day_of_week", ["SOMEDAY"]),
    ("min_kwhh", 1),
]


@given(
    st.integers(min_value=1, max_value=4),
    st.data(),
)
def test_invalid_tariffs_are_rejected_with_the_field_path(n: int, data: st.DataObject) -> None:
    elements = [
        element(component("ENERGY", "0.25", 1), component("TIME", "1.00", 60)) for _ in range(n)
    ]
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    if data.draw(st.booleans()):
        j = data.draw(st.integers(min_value=0, max_value=1))
        name, bad = data.draw(st.sampled_from(CORRUPTIONS))
        elements[i]["price_components"][j][name] = bad
        path = f"elements[{i}].price_components[{j}].{name}"
    else:
        name, bad = data.draw(st.sampled_from(RESTRICTION_CORRUPTIONS))
        elements[i]["restrictions"] = {name: bad}
        path = f"elements[{i}].restrictions.{name}"
        if name == "day_of_week":
            path += "[0]"
    with pytest.raises(TariffError) as err:
        parse_tariff({"currency": "EUR", "elements": elements})
    assert err.value.path == path
    assert str(err.value).startswith(path + ": ")
