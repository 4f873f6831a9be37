"""The closed forms (tariffs.closed_form) price exactly like the general OCPI pricer.

The oracles are the general pricer on the same session: ``price_periods`` on the totals'
periods for the unrestricted closed form, ``price_session`` on a generated trace (any
charging/parking/idle timeline, any readings) for the one-window closed form.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs import (
    ChargingPeriod,
    OneWindow,
    SessionTrace,
    Tariff,
    build_periods,
    closed_form,
    parse_tariff,
    price_periods,
    price_session,
)

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
_THOUSAND = Decimal(1000)


def totals_periods(start: datetime, wh: int, cs: int, ps: int) -> list[ChargingPeriod]:
    """Two periods from totals: charging (with all the energy), then parking."""
    b = start + timedelta(seconds=cs)
    periods = [ChargingPeriod(start, b, energy_kwh=Decimal(wh) / _THOUSAND, charging_s=Decimal(cs))]
    if ps > 0:
        periods.append(ChargingPeriod(b, b + timedelta(seconds=ps), parking_s=Decimal(ps)))
    return periods


def net_from_periods(tariff: Tariff, wh: int, cs: int, ps: int) -> Decimal:
    """The general pricer on the totals' periods (the oracle of the closed form)."""
    periods = totals_periods(T0, wh, cs, ps)
    return price_periods(tariff, periods, "Europe/Oslo").total_cost.excl_vat


def component(kind: str, price: str, step: int) -> dict[str, object]:
    return {"type": kind, "price": Decimal(price), "step_size": step, "vat": Decimal(25)}


prices = st.decimals(min_value=0, max_value=50, places=3).map(str)
steps = st.sampled_from([0, 1, 60, 300, 900, 1000])  # 0: no rounding
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
    tariff = parse_tariff(obj)
    form = closed_form(tariff)
    assert form is not None
    assert form.net(wh, cs, ps) == net_from_periods(tariff, wh, cs, ps)


# small totals, so that sessions share them and the closed form's caches are hit
SMALL = st.tuples(st.integers(0, 3000), st.integers(0, 900), st.integers(0, 900))


@settings(max_examples=100, deadline=None)
@given(tariffs(), st.lists(SMALL, min_size=2, max_size=20))
def test_the_per_total_caches_change_no_price(
    obj: dict[str, object], totals: list[tuple[int, int, int]]
) -> None:
    """One closed form prices many sessions: each price, from its caches or not, is the very
    Decimal a fresh closed form gives, and the general pricer's value."""
    tariff = parse_tariff(obj)
    shared = closed_form(tariff)
    assert shared is not None
    for wh, cs, ps in totals + totals:  # the second pass: all from the caches
        fresh = closed_form(parse_tariff(obj))
        assert fresh is not None
        assert shared.net(wh, cs, ps).as_tuple() == fresh.net(wh, cs, ps).as_tuple()
        assert shared.net(wh, cs, ps) == net_from_periods(tariff, wh, cs, ps)


def test_restricted_tariffs_have_no_closed_form() -> None:
    assert closed_form(parse_tariff(PEAK_OBJ)) is None


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


STATES = st.sampled_from(["charging", "parking", "idle"])


@st.composite
def traces(draw: st.DrawFn, start: datetime, seconds: int) -> SessionTrace:
    """Any timeline from ``start`` for ``seconds``: states and readings (Wh, fractions inside,
    whole Wh from the start register to the stop register, as a stored session has)."""
    stop = start + timedelta(seconds=seconds)
    inside = st.lists(st.integers(1, max(seconds - 1, 1)), max_size=4)
    cuts = sorted(c for c in set(draw(inside)) if c < seconds)
    states = [(start, draw(STATES))] + [(start + timedelta(seconds=c), draw(STATES)) for c in cuts]
    first = Decimal(draw(st.integers(0, 10**6)))
    meter: list[tuple[datetime, Decimal]] = [(start, first)]
    for c in sorted(c for c in set(draw(inside)) if c < seconds):
        wh = meter[-1][1] + Decimal(draw(st.integers(0, 20_000))) / 7
        meter.append((start + timedelta(seconds=c), wh.quantize(Decimal("0.001"))))
    whole = int((meter[-1][1] - first).to_integral_value(ROUND_CEILING))
    meter.append((stop, first + whole + draw(st.integers(0, 20_000))))
    return SessionTrace(start, stop, meter, states)


@settings(max_examples=400, deadline=None)
@given(clock_tariffs(), STARTS, st.integers(0, 3 * 86400), st.integers(0, 8 * 3600), st.data())
def test_the_one_window_closed_form_equals_the_pricer(
    obj: dict[str, object], day: datetime, offset: int, seconds: int, data: st.DataObject
) -> None:
    """Inside one window the closed form on the trace's totals is the general pricer's price
    of the trace, whatever its timeline and readings."""
    tariff = parse_tariff(obj)
    start = day + timedelta(seconds=offset)
    trace = data.draw(traces(start, seconds))
    periods = build_periods(trace, tariff, "Europe/Oslo")
    wh = sum(p.energy_kwh for p in periods) * _THOUSAND
    cs = sum(p.charging_s for p in periods)
    ps = sum(p.parking_s for p in periods)
    window = OneWindow(tariff, "Europe/Oslo")
    got = window.net(trace.started_at, trace.stopped_at, int(wh), int(cs), int(ps))
    if got is not None:
        assert got == price_session(tariff, trace, "Europe/Oslo").total_cost.excl_vat


@settings(max_examples=200, deadline=None)
@given(clock_tariffs(), STARTS, st.integers(0, 3 * 86400), st.integers(1, 8 * 3600))
def test_a_session_across_a_boundary_gets_no_window_price(
    obj: dict[str, object], day: datetime, offset: int, seconds: int
) -> None:
    tariff = parse_tariff(obj)
    start = day + timedelta(seconds=offset)
    stop = start + timedelta(seconds=seconds)
    window = OneWindow(tariff, "Europe/Oslo")
    trace = SessionTrace(start, stop, [(start, 0), (stop, 1000)])
    periods = build_periods(trace, tariff, "Europe/Oslo")
    if window.net(start, stop, 1000, seconds, 0) is not None:
        assert len(periods) == 1  # one window: no boundary of the tariff cut the session


def test_the_window_is_found_inside_a_window_only() -> None:
    window = OneWindow(parse_tariff(PEAK_OBJ), "Europe/Oslo")
    assert window.net(T_MORNING, T_MORNING + timedelta(hours=2), 5000, 5400, 1800) == Decimal(
        "5.00"
    )  # 5 kWh off-peak at 1.00
    assert window.net(T_EVENING, T_EVENING + timedelta(hours=2), 5000, 7200, 0) is None
    # the pricer on 16:30-18:30, energy even: 1.25 kWh x 1 + 3.75 x 3
    trace = SessionTrace(
        T_EVENING,
        T_EVENING + timedelta(hours=2),
        [(T_EVENING, 0), (T_EVENING + timedelta(hours=2), 5000)],
    )
    assert price_session(
        parse_tariff(PEAK_OBJ), trace, "Europe/Oslo"
    ).total_cost.excl_vat == Decimal("12.50")


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
