"""The closed-form fast path prices exactly like the general OCPI pricer (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.linear_price import linear_price
from billing.pricing import SessionTotals, VersionPricer
from tariffs import parse_tariff

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def component(kind: str, price: str, step: int) -> dict[str, object]:
    return {"type": kind, "price": Decimal(price), "step_size": step, "vat": Decimal(25)}


prices = st.decimals(min_value=0, max_value=50, places=3).map(str)
steps = st.sampled_from([1, 60, 300, 900, 1000])
components = st.lists(
    st.tuples(st.sampled_from(["ENERGY", "TIME", "PARKING_TIME", "FLAT"]), prices, steps),
    min_size=1,
    max_size=5,
)


@st.composite
def tariffs(draw: st.DrawFn) -> dict[str, object]:
    elements = [
        {"price_components": [component(*c) for c in draw(components)]}
        for _ in range(draw(st.integers(1, 2)))
    ]
    obj: dict[str, object] = {"currency": "NOK", "elements": elements}
    low = Decimal(draw(prices))
    if draw(st.booleans()):
        obj["min_price"] = {"excl_vat": low}
    if draw(st.booleans()):
        obj["max_price"] = {"excl_vat": low + Decimal(draw(prices))}
    return obj


@settings(max_examples=300, deadline=None)
@given(
    tariffs(),
    st.integers(0, 200_000),
    st.integers(0, 40_000),
    st.integers(0, 40_000),
)
def test_closed_form_equals_the_pricer(obj: dict[str, object], wh: int, cs: int, ps: int) -> None:
    pricer = VersionPricer(parse_tariff(obj), "Europe/Oslo")
    assert pricer.linear is not None
    s = SessionTotals(T0, T0 + timedelta(seconds=cs + ps), wh, cs, ps)
    assert pricer.net(s) == pricer.net_from_periods(s)


# small totals, so that sessions share them and the closed form's caches are hit
SMALL = st.tuples(st.integers(0, 3000), st.integers(0, 900), st.integers(0, 900))


@settings(max_examples=100, deadline=None)
@given(tariffs(), st.lists(SMALL, min_size=2, max_size=20))
def test_the_per_total_caches_change_no_price(
    obj: dict[str, object], totals: list[tuple[int, int, int]]
) -> None:
    """One closed form prices many sessions: each price, from its caches or not, is the very
    Decimal a fresh closed form gives, and the general pricer's value."""
    shared = VersionPricer(parse_tariff(obj), "Europe/Oslo")
    for wh, cs, ps in totals + totals:  # the second pass: all from the caches
        fresh = VersionPricer(parse_tariff(obj), "Europe/Oslo")
        s = SessionTotals(T0, T0 + timedelta(seconds=cs + ps), wh, cs, ps)
        assert shared.net(s).as_tuple() == fresh.net(s).as_tuple()
        assert shared.net(s) == shared.net_from_periods(s)


def test_restricted_tariffs_take_the_general_path() -> None:
    tod = parse_tariff(
        {
            "currency": "NOK",
            "elements": [
                {
                    "price_components": [component("ENERGY", "3.00", 1)],
                    "restrictions": {"start_time": "17:00", "end_time": "20:00"},
                },
                {"price_components": [component("ENERGY", "1.00", 1)]},
            ],
        }
    )
    assert linear_price(tod) is None
    pricer = VersionPricer(tod, "Europe/Oslo")
    assert pricer.needs_samples
    # 16:00-18:00 local (CEST, +2), 2 kWh spread evenly: 1 kWh at 1.00 then 1 kWh at 3.00
    start = datetime(2026, 10, 5, 14, tzinfo=UTC)
    s = SessionTotals(start, start + timedelta(hours=2), 2000, 7200, 0)
    assert pricer.net(s) == Decimal("4.00")


CLOCKS = st.sampled_from(["00:00", "06:00", "07:30", "17:00", "20:00", "22:00", "02:30"])


@st.composite
def clock_tariffs(draw: st.DrawFn) -> dict[str, object]:
    elements = []
    for _ in range(draw(st.integers(1, 3))):
        restrictions: dict[str, object] = {
            "start_time": draw(CLOCKS),
            "end_time": draw(CLOCKS),
        }
        if draw(st.booleans()):
            restrictions["day_of_week"] = draw(
                st.lists(st.sampled_from(["MONDAY", "SATURDAY", "SUNDAY"]), min_size=1, unique=True)
            )
        elements.append(
            {
                "price_components": [component(*c) for c in draw(components)],
                "restrictions": restrictions,
            }
        )
    elements.append({"price_components": [component("ENERGY", "1.00", 1)]})
    return {"currency": "NOK", "elements": elements}


# around the DST changes in Oslo (29 March and 25 October 2026) and an ordinary week
STARTS = st.sampled_from(
    [
        datetime(2026, 3, 28, tzinfo=UTC),
        datetime(2026, 10, 24, tzinfo=UTC),
        datetime(2026, 10, 5, tzinfo=UTC),
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    clock_tariffs(),
    STARTS,
    st.integers(0, 3 * 86400),
    st.integers(0, 60_000),
    st.integers(0, 6 * 3600),
    st.integers(0, 3 * 3600),
)
def test_the_one_window_shortcut_equals_the_period_builder(
    obj: dict[str, object], day: datetime, offset: int, wh: int, cs: int, ps: int
) -> None:
    pricer = VersionPricer(parse_tariff(obj), "Europe/Oslo")
    start = day + timedelta(seconds=offset)
    s = SessionTotals(start, start + timedelta(seconds=cs + ps), wh, cs, ps)
    assert pricer.net(s) == pricer.net_from_trace(s)
    if pricer._window_price(s) is not None:  # the closed form of the elements active there
        assert pricer.net(s) == pricer.net_from_periods(s)


def test_the_shortcut_is_taken_inside_a_window_only() -> None:
    pricer = VersionPricer(parse_tariff(PEAK_OBJ), "Europe/Oslo")
    inside = SessionTotals(T_MORNING, T_MORNING + timedelta(hours=2), 5000, 5400, 1800)
    across = SessionTotals(T_EVENING, T_EVENING + timedelta(hours=2), 5000, 7200, 0)
    assert pricer._inside_one_window(inside) and not pricer._inside_one_window(across)
    assert pricer.net(inside) == Decimal("5.00")  # 5 kWh off-peak at 1.00
    assert pricer.net(across) == Decimal("12.50")  # 16:30-18:30: 1.25 kWh x 1 + 3.75 x 3


PEAK_OBJ = {
    "currency": "NOK",
    "elements": [
        {
            "price_components": [component("ENERGY", "3.00", 1)],
            "restrictions": {"start_time": "17:00", "end_time": "20:00"},
        },
        {"price_components": [component("ENERGY", "1.00", 1)]},
    ],
}
T_MORNING = datetime(2026, 10, 5, 7, tzinfo=UTC)  # 09:00 in Oslo
T_EVENING = datetime(2026, 10, 5, 14, 30, tzinfo=UTC)  # 16:30 in Oslo
