"""Physics: the register is the exact integral of the simulated power; limits and taper."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.physics import (
    EV,
    MJ_PER_WH,
    STEP_MS,
    ChargerSpec,
    Flow,
    offered_power_w,
    power_w,
    register_text,
    register_wh,
)


def test_constant_power_hour_is_exact_wh() -> None:
    ev = EV(capacity_wh=100_000, soc_percent=10, max_power_w=11_000)
    flow = Flow(ChargerSpec(), ev, register_mj=532_363 * MJ_PER_WH, at_ms=0)
    assert flow.power_w == 11_000
    flow.advance(3_600_000)
    assert register_wh(flow.register_mj) == 532_363 + 11_000
    assert flow.register_mj - 532_363 * MJ_PER_WH == 11_000 * 3_600_000


def test_register_text_is_floored_decimal_wh_and_kwh() -> None:
    mj = 532_363 * MJ_PER_WH + 9 * MJ_PER_WH // 10 + 5  # 532363.9 Wh and a hair
    assert register_text(mj) == "532363.9"
    assert register_text(mj, kwh=True) == "532.3639"
    assert register_wh(mj) == 532_363


def test_limits_charger_current_phases_and_ev() -> None:
    spec = ChargerSpec(max_current_a=16, phases=3, voltage_v=230)
    assert offered_power_w(spec, ev_phases=3, limit_a=None) == 16 * 3 * 230
    assert offered_power_w(spec, ev_phases=1, limit_a=None) == 16 * 230  # single-phase car
    assert offered_power_w(spec, ev_phases=3, limit_a=6) == 6 * 3 * 230  # profile limit
    small_car = EV(max_power_w=7_400, phases=3, soc_percent=20)
    assert power_w(ChargerSpec(max_current_a=32), small_car, None) == 7_400


def test_taper_reduces_power_near_full_and_stops_at_target() -> None:
    ev = EV(capacity_wh=10_000, soc_percent=79, max_power_w=11_000, taper_from_percent=80)
    flow = Flow(ChargerSpec(), ev, register_mj=0, at_ms=0)
    assert flow.power_w == 11_000
    flow.advance(10 * 60_000)  # ten minutes well into the taper
    assert 1_400 <= flow.power_w < 11_000
    flow.advance(24 * 3_600_000)
    assert ev.full and flow.power_w == 0
    assert flow.register_mj == 21 * 100 * MJ_PER_WH  # exactly the 21 % that was missing
    assert flow.full_at_ms is not None and 0 < flow.full_at_ms < 24 * 3_600_000


def test_target_reached_at_the_exact_millisecond() -> None:
    ev = EV(capacity_wh=10_000, soc_percent=50, target_percent=60, max_power_w=3_600)
    flow = Flow(ChargerSpec(), ev, register_mj=0, at_ms=0)
    flow.advance(2 * 3_600_000)
    # 1,000 Wh at 3,600 W take exactly 1,000 s
    assert flow.full_at_ms == 1_000_000
    assert flow.register_mj == 1_000 * MJ_PER_WH
    assert ev.soc == Decimal("60.0")


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=7_200_000), min_size=1, max_size=30),
    start=st.integers(min_value=0, max_value=STEP_MS * 5),
    soc=st.integers(min_value=0, max_value=99),
)
def test_register_does_not_depend_on_how_often_it_is_read(
    cuts: list[int], start: int, soc: int
) -> None:
    """Exact integer integration on a fixed grid: many small advances == one big one."""
    end = start + 7_200_000

    def make() -> Flow:
        ev = EV(capacity_wh=30_000, soc_percent=soc, max_power_w=11_000)
        return Flow(ChargerSpec(), ev, register_mj=123 * MJ_PER_WH, at_ms=start)

    once, pieces = make(), make()
    once.advance(end)
    for cut in sorted(cuts):
        pieces.advance(start + cut)
    pieces.advance(end)
    assert pieces.register_mj == once.register_mj
    assert pieces.ev.energy_mj == once.ev.energy_mj
    # energy conservation: what the meter counted went into the battery
    assert once.register_mj - 123 * MJ_PER_WH == once.ev.energy_mj - make().ev.energy_mj
