"""The simulator's smart charging: which profile wins, the limit in force, the composite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulators.clock import iso_seconds, to_ms
from simulators.physics import EV, ChargerSpec, Flow
from simulators.smart_charging import SmartCharging

T0 = to_ms(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
VOLTS_3P = 3 * 230


def sc() -> SmartCharging:
    return SmartCharging(phases=3, volts=230, max_current_a=32)


def profile(
    pid: int,
    purpose: str,
    periods: list[tuple[int, Any]],
    unit: str = "A",
    level: int = 0,
    **more: Any,
) -> dict[str, Any]:
    return {
        "chargingProfileId": pid,
        "stackLevel": level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": more.pop("kind", "Absolute"),
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "startSchedule": iso_seconds(T0),
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
            **more.pop("schedule", {}),
        },
        **more,
    }


def no_tx(cid: int) -> tuple[bool, int | None]:
    return False, None


def tx_42(cid: int) -> tuple[bool, int | None]:
    return cid == 1, 42 if cid == 1 else None


def test_set_charging_profile_answers() -> None:
    s = sc()
    known = {1, 2}

    def ask(cid: int, p: dict[str, Any], tx_of: Any = no_tx) -> str:
        return s.accepts({"connectorId": cid, "csChargingProfiles": p}, tx_of, known)

    assert ask(1, profile(1, "TxDefaultProfile", [(0, 6)])) == "Accepted"
    assert ask(0, profile(1, "ChargePointMaxProfile", [(0, 16)])) == "Accepted"
    assert ask(1, profile(1, "ChargePointMaxProfile", [(0, 16)])) == "Rejected"
    assert ask(9, profile(1, "TxDefaultProfile", [(0, 6)])) == "Rejected"  # no connector 9
    tx = profile(1, "TxProfile", [(0, 6)], transactionId=42)
    assert ask(1, tx) == "Rejected"  # no transaction
    assert ask(1, tx, tx_42) == "Accepted"
    assert ask(1, {**tx, "transactionId": 7}, tx_42) == "Rejected"  # not its transaction
    assert ask(0, tx, tx_42) == "Rejected"


def test_highest_stack_level_wins_within_a_purpose_and_the_lowest_across() -> None:
    s = sc()
    s.install(1, profile(1, "TxDefaultProfile", [(0, 6)], level=0))
    s.install(1, profile(2, "TxDefaultProfile", [(0, 20)], level=3))
    assert s.limits(1, T0, None) == (20, None)  # stack 3 over stack 0, though higher
    s.install(0, profile(3, "ChargePointMaxProfile", [(0, 16)]))
    assert s.limits(1, T0, None) == (16, None)  # the charger's maximum caps it
    s.install(1, profile(4, "TxProfile", [(0, 4000)], unit="W"))
    assert s.limits(1, T0, T0) == (None, 4000)  # a transaction's own profile, in W
    assert s.limits(1, T0, None) == (16, None)  # ...only while it runs
    s.drop_tx_profiles(1)
    assert s.limits(1, T0, T0) == (16, None)
    assert s.limits(2, T0, None) == (16, None)  # connector 2: only the maximum


def test_a_profile_with_no_period_now_falls_through_to_the_next_stack_level() -> None:
    s = sc()
    s.install(1, profile(1, "TxDefaultProfile", [(0, 6)], level=0))
    s.install(1, profile(2, "TxDefaultProfile", [(0, 10)], level=1, schedule={"duration": 60}))
    assert s.limits(1, T0 + 30_000, None) == (10, None)
    assert s.limits(1, T0 + 60_000, None) == (6, None)  # stack 1 has ended


def test_same_id_or_same_slot_replaces_and_clear_matches() -> None:
    s = sc()
    s.install(1, profile(1, "TxDefaultProfile", [(0, 6)]))
    s.install(1, profile(2, "TxDefaultProfile", [(0, 8)]))  # same connector/purpose/level
    assert [p.id for p in s.profiles] == [2]
    s.install(2, profile(2, "TxDefaultProfile", [(0, 9)], level=4))  # same id elsewhere
    assert [(p.id, p.connector_id) for p in s.profiles] == [(2, 2)]
    s.install(1, profile(5, "TxDefaultProfile", [(0, 6)], level=1))
    assert s.clear({"id": 99}) is False
    assert s.clear({"connectorId": 1}) is True
    assert [p.id for p in s.profiles] == [2]
    assert s.clear({}) is True and s.profiles == []


def test_a_decimal_amp_limit_is_exact_and_a_watt_limit_is_followed_by_the_physics() -> None:
    s = sc()
    s.install(1, profile(1, "TxDefaultProfile", [(0, 6.7)]))
    found = s.limit(1, T0, None)
    assert found is not None and str(found.value) == "6.7" and found.watts == 4623
    assert s.limits(1, T0, None) == (6, None)  # whole amps on the wire
    flow = Flow(ChargerSpec(), EV(capacity_wh=200_000, soc_percent=10), 0, T0, None, limit_w=5000)
    flow.advance(T0 + 3_600_000)
    assert flow.power_w == 5000 and flow.register_mj == 5000 * 3_600_000  # 5 kWh in an hour


def test_composite_schedule_period_by_period_in_a_and_in_w() -> None:
    s = sc()
    s.install(0, profile(1, "ChargePointMaxProfile", [(0, 10)]))
    s.install(1, profile(2, "TxDefaultProfile", [(0, 8), (120, 12), (240, 6.5)], level=1))
    s.install(1, profile(3, "TxDefaultProfile", [(0, 6)], level=0))
    answer = s.composite({"connectorId": 1, "duration": 300}, T0 + 20_000, None, {1})
    assert answer["status"] == "Accepted" and answer["connectorId"] == 1
    schedule = answer["chargingSchedule"]
    assert schedule["startSchedule"] == iso_seconds(T0 + 20_000)
    assert schedule["duration"] == 300 and schedule["chargingRateUnit"] == "A"
    assert schedule["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 8},
        {"startPeriod": 100, "limit": 10},  # 12 A capped at 10 A
        {"startPeriod": 220, "limit": 6.5},
    ]
    limits = [p["limit"] for p in schedule["chargingSchedulePeriod"]]
    assert [type(x) for x in limits] == [int, int, float]  # JSON numbers, never Decimal
    in_w = s.composite(
        {"connectorId": 1, "duration": 300, "chargingRateUnit": "W"}, T0 + 20_000, None, {1}
    )
    assert [p["limit"] for p in in_w["chargingSchedule"]["chargingSchedulePeriod"]] == [
        8 * VOLTS_3P,
        10 * VOLTS_3P,
        4485,
    ]
    charger = s.composite({"connectorId": 0, "duration": 60}, T0, None, {1})
    assert charger["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 10}
    ]


def test_composite_without_profiles_is_the_chargers_maximum_and_rejects_what_it_cannot() -> None:
    s = sc()
    answer = s.composite({"connectorId": 1, "duration": 60, "chargingRateUnit": "W"}, T0, None, {1})
    assert answer["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 32 * VOLTS_3P}
    ]
    assert s.composite({"connectorId": 3, "duration": 60}, T0, None, {1}) == {"status": "Rejected"}
    assert s.composite({"connectorId": 1, "duration": 0}, T0, None, {1}) == {"status": "Rejected"}


def test_a_daily_recurring_profile_repeats_in_the_composite() -> None:
    s = sc()
    day = profile(
        1,
        "TxDefaultProfile",
        [(0, 16), (3_600, 6)],
        kind="Recurring",
        recurrencyKind="Daily",
    )
    s.install(1, day)
    start = T0 + 86_400_000 + 1_800_000  # the next day, half an hour in
    answer = s.composite({"connectorId": 1, "duration": 7_200}, start, None, {1})
    assert answer["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16},
        {"startPeriod": 1_800, "limit": 6},
    ]
