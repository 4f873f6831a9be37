"""VersionPricer: the fast paths on stored totals give the trace's price (hypothesis), and the
reviewer's cases are priced for their energy where it charged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.pricing import SessionTotals, VersionPricer
from metering import Timeline, session_timeline

PEAK = {  # 4.00/kWh 17:00-20:00 local, else 1.50/kWh + 3.60/h charging + 7.20/h parking
    "currency": "NOK",
    "min_price": {"excl_vat": "5.00"},
    "elements": [
        {
            "price_components": [{"type": "ENERGY", "price": "4.00", "step_size": 1}],
            "restrictions": {"start_time": "17:00", "end_time": "20:00"},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": "1.50", "step_size": 1},
                {"type": "TIME", "price": "3.60", "step_size": 1},
                {"type": "PARKING_TIME", "price": "7.20", "step_size": 60},
            ]
        },
    ],
}
SIMPLE = {"currency": "NOK", "elements": [PEAK["elements"][1]], "min_price": PEAK["min_price"]}
DAY = datetime(2026, 10, 24, 12, tzinfo=UTC)  # the day before the DST fall-back in Oslo
STATUSES = st.sampled_from(["Charging", "SuspendedEV", "Finishing", "Available", "Faulted"])


def oslo(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, 5, hour - 2, minute, tzinfo=UTC)  # CEST


def totals_of(timeline: Timeline, wh: int, meter_start: int) -> SessionTotals:
    return SessionTotals(
        timeline.started_at,
        timeline.stopped_at,
        wh,
        timeline.charging_s,
        timeline.parking_s,
        meter_start,
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([PEAK, SIMPLE]),
    st.integers(0, 40 * 3600),
    st.integers(60, 6 * 3600),
    st.lists(st.tuples(st.integers(-600, 6 * 3600), STATUSES), max_size=6),
    st.lists(
        st.tuples(st.integers(1, 6 * 3600), st.integers(0, 3000), st.integers(0, 7)), max_size=6
    ),
    st.integers(0, 40_000),
)
def test_a_fast_path_on_the_stored_totals_is_the_trace_price(
    obj: dict[str, object],
    offset: int,
    seconds: int,
    raw_statuses: list[tuple[int, str]],
    raw_samples: list[tuple[int, int, int]],
    wh: int,
) -> None:
    """Stored times come from the trace, so whichever path prices a session, same Decimal."""
    pricer = VersionPricer.from_ocpi(obj, "Europe/Oslo")
    start = DAY + timedelta(seconds=offset)
    statuses = sorted((start + timedelta(seconds=s), v) for s, v in raw_statuses)
    samples, register = [], 500_000_000
    for s, delta, w in sorted(raw_samples):
        register += delta * 1000
        samples.append((start + timedelta(seconds=s), register, w * 1000))
    timeline = session_timeline(
        start,
        start + timedelta(seconds=seconds),
        meter_start_wh=500_000,
        energy_wh=wh,
        samples=samples,
        statuses=statuses,
    )
    fast = pricer.net_of_totals(totals_of(timeline, wh, 500_000))
    if fast is not None:
        assert fast == pricer.net_of(timeline)


def test_energy_without_samples_or_statuses_is_priced() -> None:
    """9 kWh, 16:30-18:00, nothing but start and stop: not the minimum price only."""
    pricer = VersionPricer.from_ocpi(PEAK, "Europe/Oslo")
    timeline = session_timeline(oslo(16, 30), oslo(18), meter_start_wh=0, energy_wh=9000)
    # 3 kWh x 1.50 + 6 kWh x 4.00 + 1.5 h x 3.60
    assert pricer.net_of(timeline) == Decimal("33.90")


def test_a_stale_available_does_not_make_the_session_parking() -> None:
    pricer = VersionPricer.from_ocpi(PEAK, "Europe/Oslo")
    stale = [(oslo(9), "Available")]
    timeline = session_timeline(
        oslo(16, 30), oslo(18), meter_start_wh=0, energy_wh=9000, statuses=stale
    )
    assert (timeline.charging_s, timeline.parking_s) == (5400, 0)
    assert pricer.net_of(timeline) == Decimal("33.90")


def test_statuses_without_samples_put_the_energy_where_it_charged() -> None:
    """Charging 16:00-17:00 then parking to 18:00: all 6 kWh off-peak, one hour parked."""
    pricer = VersionPricer.from_ocpi(PEAK, "Europe/Oslo")
    statuses = [(oslo(16), "Charging"), (oslo(17), "SuspendedEV")]
    timeline = session_timeline(
        oslo(16), oslo(18), meter_start_wh=0, energy_wh=6000, statuses=statuses
    )
    # 6 kWh x 1.50 + 1 h x 3.60 + 1 h x 7.20 (parking in the peak: only element 2 has parking)
    assert pricer.net_of(timeline) == Decimal("9.00") + Decimal("3.60") + Decimal("7.20")
    assert pricer.net_of_totals(totals_of(timeline, 6000, 0)) is None  # across 17:00


def test_inside_one_window_the_totals_are_enough() -> None:
    pricer = VersionPricer.from_ocpi(PEAK, "Europe/Oslo")
    statuses = [(oslo(9), "Charging"), (oslo(10), "Finishing")]
    timeline = session_timeline(
        oslo(9), oslo(10, 30), meter_start_wh=0, energy_wh=6000, statuses=statuses
    )
    totals = totals_of(timeline, 6000, 0)
    assert pricer.net_of_totals(totals) == pricer.net_of(timeline) == Decimal("16.20")
