"""OCTT-style Smart Charging cases, central system side: the API sends profiles, the
simulator applies them, and the metered power follows.

Each case checks what the charger received, what the API answered, what was audited, which
profiles the API lists in force, and (where a limit changes charging) the power in the meter
samples the gateway stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.site_power import SiteSharer
from simulators.charger import SimCharger
from simulators.clock import VirtualClock
from simulators.physics import EV
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api

VOLTS_3P = 3 * 230


def profile(
    pid: int,
    purpose: str,
    limit: float | int,
    unit: str = "A",
    level: int = 0,
    **more: Any,
) -> dict[str, Any]:
    periods = more.pop("periods", [{"startPeriod": 0, "limit": limit}])
    schedule = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    schedule.update(more.pop("schedule", {}))
    return {
        "chargingProfileId": pid,
        "stackLevel": level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": more.pop("kind", "Relative"),
        "chargingSchedule": schedule,
        **more,
    }


def big_ev() -> EV:
    return EV(capacity_wh=200_000, soc_percent=10)


async def until(condition: Callable[[], Any], timeout: float = 15.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def fast_sim(sim: SimFactory, charger: str = "CP1", **options: Any) -> SimCharger:
    """A simulator whose minute of charging takes two wall seconds (a sample each)."""
    charger_sim: SimCharger = await sim(
        charger, clock=VirtualClock(speed=30), sample_interval_s=60, **options
    )
    return charger_sim


async def listed(api: Api, charger: str = "CP1", history: bool = False) -> list[dict[str, Any]]:
    path = f"/api/v1/chargers/{charger}/charging-profiles" + ("?history=true" if history else "")
    answered = await api.call("admin", "GET", path)
    assert answered.status_code == 200, answered.text
    rows: list[dict[str, Any]] = answered.json()
    return rows


async def powers(api: Api, session_id: int) -> list[int]:
    """The power of each stored periodic sample of a session, in order."""
    return [
        s["power_w"]
        for s in await api.env.samples()
        if s["session_id"] == session_id and s["context"] == "Sample.Periodic"
    ]


async def energy_steps(api: Api, session_id: int) -> list[int]:
    """mWh between consecutive stored periodic samples of a session."""
    rows = [
        s["energy_mwh"]
        for s in await api.env.samples()
        if s["session_id"] == session_id and s["context"] == "Sample.Periodic"
    ]
    return [b - a for a, b in zip(rows, rows[1:], strict=False)]


async def running_session(api: Api, charger: str = "CP1") -> int:
    for _ in range(500):
        rows = [
            s
            for s in await api.env.sessions()
            if s["charger_id"] == charger and not s["stopped_at"]
        ]
        if rows:
            return int(rows[-1]["id"])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no running session on {charger}")


async def test_tc_056_central_smart_charging_txdefault_profile(api: Api, sim: SimFactory) -> None:
    """A TxDefaultProfile (10.5 A) set before a transaction limits the next one."""
    cp = await fast_sim(sim)
    body = {"connectorId": 1, "csChargingProfiles": profile(7, "TxDefaultProfile", 10.5)}
    answered = await command(api, "set-charging-profile", body)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("SetChargingProfile", body)
    audited = await last_audit(api)
    assert audited["action"] == "command.set-charging-profile"
    assert audited["before"]["payload"] == body and audited["after"] == {"status": "Accepted"}
    rows = await listed(api)
    assert [(r["charging_profile_id"], r["purpose"], r["connector_id"]) for r in rows] == [
        (7, "TxDefaultProfile", 1)
    ]
    limit = rows[0]["profile"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    assert limit == 10.5 and rows[0]["status"] == "Accepted" and not rows[0]["site_share"]

    await cp.plug_in(1, "TAG1", big_ev())
    sid = await running_session(api)
    flow = cp.connectors[1].tx.flow  # type: ignore[union-attr]
    assert flow.limit_a == 10 and flow.power_w == 10 * VOLTS_3P  # whole amps on the wire
    await until(lambda: cp.connectors[1].tx is not None and cp.connectors[1].tx.record.samples >= 3)
    await cp.drained()
    assert set(await powers(api, sid)) == {10 * VOLTS_3P}
    # a TxDefaultProfile outlives the transaction
    await cp.unplug(1)
    await cp.drained()
    assert [r["charging_profile_id"] for r in await listed(api)] == [7]


async def test_tc_057_central_smart_charging_tx_profile(api: Api, sim: SimFactory) -> None:
    """A TxProfile in W on the running transaction: the metered power follows it."""
    cp = await fast_sim(sim)
    before = await api.audit_count()
    # no transaction yet: refused before anything is sent
    body = {
        "connectorId": 1,
        "csChargingProfiles": profile(3, "TxProfile", 4000, "W", transactionId=999),
    }
    refused = await command(api, "set-charging-profile", body)
    assert refused.status_code == 422
    assert "transactionId 999" in refused.json()["detail"]
    assert not any(a == "SetChargingProfile" for a, _ in cp.received)
    assert await api.audit_count() == before

    await cp.plug_in(1, "TAG1", big_ev())
    sid = await running_session(api)
    await until(lambda: cp.connectors[1].tx.record.samples >= 1)  # type: ignore[union-attr]
    body["csChargingProfiles"]["transactionId"] = sid
    answered = await command(api, "set-charging-profile", body)
    assert answered.status_code == 200 and answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("SetChargingProfile", body)
    flow = cp.connectors[1].tx.flow  # type: ignore[union-attr]
    assert flow.limit_w == 4000 and flow.power_w == 4000
    rows = await listed(api)
    assert [(r["purpose"], r["transaction_id"]) for r in rows] == [("TxProfile", sid)]

    samples_at_set = cp.connectors[1].tx.record.samples  # type: ignore[union-attr]
    await until(
        lambda: cp.connectors[1].tx.record.samples >= samples_at_set + 3  # type: ignore[union-attr]
    )
    await cp.drained()
    tail = (await powers(api, sid))[-2:]
    assert tail == [4000, 4000]
    # a minute at 4000 W is 66.7 Wh: the last step (whole minutes at the limit) shows it
    step = (await energy_steps(api, sid))[-1]
    assert abs(step - 4000 * 60 * 1000 // 3600) <= 4000 * 1000 // 3600  # within a second

    # the wrong connector for the transaction, and a TxProfile on connector 0: 422
    wrong = {**body, "connectorId": 2}
    assert (await command(api, "set-charging-profile", wrong)).status_code == 422
    zero = {**body, "connectorId": 0}
    assert (await command(api, "set-charging-profile", zero)).status_code == 422

    # the profile ends with its transaction
    await cp.unplug(1)
    await cp.drained()
    assert await listed(api) == []
    history = await listed(api, history=True)
    assert [(r["transaction_id"], r["in_force"]) for r in history] == [(sid, False)]


async def test_tx_profile_rejected_by_the_charger_is_kept_not_in_force(
    api: Api, sim: SimFactory
) -> None:
    """Named by behaviour: the charger's Rejected comes back and is stored, not in force."""
    await sim(refuse={"SetChargingProfile": "Rejected"})
    body = {"connectorId": 0, "csChargingProfiles": profile(1, "ChargePointMaxProfile", 16)}
    answered = await command(api, "set-charging-profile", body)
    assert answered.status_code == 200 and answered.json()["status"] == "Rejected"
    assert await listed(api) == []
    history = await listed(api, history=True)
    assert [(r["status"], r["in_force"]) for r in history] == [("Rejected", False)]


async def test_profiles_the_schema_allows_but_no_charger_could_apply_are_422(
    api: Api, sim: SimFactory
) -> None:
    """Named by behaviour: what the schema cannot say, refused before sending, naming the field."""
    cp = await sim()
    before = await api.audit_count()
    cases = {
        "stackLevel": profile(1, "TxDefaultProfile", 6, level=-1),
        "startPeriod must be 0": profile(
            1, "TxDefaultProfile", 6, periods=[{"startPeriod": 5, "limit": 6}]
        ),
        "after the period before": profile(
            1,
            "TxDefaultProfile",
            6,
            periods=[{"startPeriod": 0, "limit": 6}, {"startPeriod": 0, "limit": 8}],
        ),
        "limit must be between": profile(1, "TxDefaultProfile", -1),
        "numberPhases": profile(
            1, "TxDefaultProfile", 6, periods=[{"startPeriod": 0, "limit": 6, "numberPhases": 4}]
        ),
        "recurrencyKind": profile(1, "TxDefaultProfile", 6, kind="Recurring"),
        "transactionId is only for a TxProfile": profile(1, "TxDefaultProfile", 6, transactionId=1),
    }
    for needle, bad in cases.items():
        answered = await command(
            api, "set-charging-profile", {"connectorId": 1, "csChargingProfiles": bad}
        )
        assert answered.status_code == 422, needle
        assert needle in answered.json()["detail"], answered.json()["detail"]
    max_on_1 = {"connectorId": 1, "csChargingProfiles": profile(1, "ChargePointMaxProfile", 16)}
    assert (await command(api, "set-charging-profile", max_on_1)).status_code == 422
    unit = profile(1, "TxDefaultProfile", 6, unit="kW")
    schema = await command(
        api, "set-charging-profile", {"connectorId": 1, "csChargingProfiles": unit}
    )
    assert schema.status_code == 422 and "chargingRateUnit" in schema.json()["detail"]
    assert not any(a == "SetChargingProfile" for a, _ in cp.received)
    assert await api.audit_count() == before


async def test_tc_059_remote_start_with_charging_profile(api: Api, sim: SimFactory) -> None:
    """RemoteStartTransaction carrying a TxProfile (6.0 A): the session starts limited."""
    cp = await fast_sim(sim)
    await cp.plug_in(1, None, big_ev())
    tx_profile = profile(11, "TxProfile", 6.0)
    body = {"idTag": "TAG1", "connectorId": 1, "chargingProfile": tx_profile}
    answered = await command(api, "remote-start-transaction", body)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("RemoteStartTransaction", body)
    sid = await running_session(api)
    flow = cp.connectors[1].tx.flow  # type: ignore[union-attr]
    assert flow.limit_a == 6 and flow.power_w == 6 * VOLTS_3P
    rows = await listed(api)
    assert [(r["charging_profile_id"], r["command"], r["transaction_id"]) for r in rows] == [
        (11, "remote-start-transaction", sid)
    ]
    assert rows[0]["profile"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 6.0
    audited = await last_audit(api)
    assert audited["action"] == "command.remote-start-transaction"
    await until(lambda: cp.connectors[1].tx.record.samples >= 2)  # type: ignore[union-attr]
    await cp.drained()
    assert set(await powers(api, sid)) == {6 * VOLTS_3P}
    await cp.unplug(1)
    await cp.drained()
    assert await listed(api) == []  # ended with its transaction

    # a remote start's profile must be a TxProfile without a transactionId
    bad = {**body, "chargingProfile": profile(12, "TxDefaultProfile", 6)}
    assert (await command(api, "remote-start-transaction", bad)).status_code == 422
    with_tx = {**body, "chargingProfile": profile(12, "TxProfile", 6, transactionId=sid)}
    refused = await command(api, "remote-start-transaction", with_tx)
    assert refused.status_code == 422 and "transactionId" in refused.json()["detail"]


async def test_tc_066_get_composite_schedule(api: Api, sim: SimFactory) -> None:
    """The charger's composite: the highest stack level wins within a purpose, the lower of
    that and the ChargePointMaxProfile is the limit, period by period; in A or in W."""
    cp = await sim()
    start = (datetime.now(UTC) - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cap = profile(
        1, "ChargePointMaxProfile", 10, kind="Absolute", schedule={"startSchedule": start}
    )
    low = profile(2, "TxDefaultProfile", 6, level=0)
    stepped = profile(
        3,
        "TxDefaultProfile",
        8,
        level=1,
        kind="Absolute",
        periods=[{"startPeriod": 0, "limit": 8}, {"startPeriod": 120, "limit": 12}],
        schedule={"startSchedule": start},
    )
    for connector, p in ((0, cap), (1, low), (1, stepped)):
        body = {"connectorId": connector, "csChargingProfiles": p}
        assert (await command(api, "set-charging-profile", body)).json()["status"] == "Accepted"
    asked = {"connectorId": 1, "duration": 300}
    answered = await command(api, "get-composite-schedule", asked)
    assert answered.status_code == 200, answered.text
    answer = answered.json()["answer"]
    assert answer["status"] == "Accepted" and answer["connectorId"] == 1
    assert cp.received[-1] == ("GetCompositeSchedule", asked)
    periods = answer["chargingSchedule"]["chargingSchedulePeriod"]
    # stack 1 (8 A) over stack 0 (6 A); from 120 s into its schedule 12 A, capped at 10 A
    assert [p["limit"] for p in periods] == [8, 10]
    assert periods[0]["startPeriod"] == 0 and 100 <= periods[1]["startPeriod"] <= 112
    assert answer["chargingSchedule"]["chargingRateUnit"] == "A"
    in_watts = await command(api, "get-composite-schedule", {**asked, "chargingRateUnit": "W"})
    watt_periods = in_watts.json()["answer"]["chargingSchedule"]["chargingSchedulePeriod"]
    assert [p["limit"] for p in watt_periods] == [8 * VOLTS_3P, 10 * VOLTS_3P]
    assert (await last_audit(api))["action"] == "command.get-composite-schedule"
    # an unknown connector: the charger's Rejected; a duration of 0: 422, nothing sent
    unknown = await command(api, "get-composite-schedule", {"connectorId": 9, "duration": 60})
    assert unknown.status_code == 200 and unknown.json()["status"] == "Rejected"
    sent = len(cp.received)
    zero = await command(api, "get-composite-schedule", {"connectorId": 1, "duration": 0})
    assert zero.status_code == 422 and "duration" in zero.json()["detail"]
    assert len(cp.received) == sent


async def test_tc_067_clear_charging_profile(api: Api, sim: SimFactory) -> None:
    """ClearChargingProfile by id, then by purpose: Accepted clears the stored rows; a
    second clear of the same profile is Unknown and changes nothing."""
    cp = await sim()
    for pid, level in ((21, 0), (22, 1), (23, 2)):
        body = {
            "connectorId": 1,
            "csChargingProfiles": profile(pid, "TxDefaultProfile", 8, level=level),
        }
        assert (await command(api, "set-charging-profile", body)).json()["status"] == "Accepted"
    by_id = await command(api, "clear-charging-profile", {"id": 22})
    assert by_id.status_code == 200 and by_id.json()["status"] == "Accepted"
    assert cp.received[-1] == ("ClearChargingProfile", {"id": 22})
    assert [r["charging_profile_id"] for r in await listed(api)] == [21, 23]
    again = await command(api, "clear-charging-profile", {"id": 22})
    assert again.json()["status"] == "Unknown"
    assert [r["charging_profile_id"] for r in await listed(api)] == [21, 23]
    audited = await last_audit(api)
    assert audited["action"] == "command.clear-charging-profile"
    assert audited["after"] == {"status": "Unknown"}
    purpose = {"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile"}
    assert (await command(api, "clear-charging-profile", purpose)).json()["status"] == "Accepted"
    assert await listed(api) == []
    assert cp.profiles.profiles == []
    history = await listed(api, history=True)
    assert all(r["cleared_at"] is not None for r in history) and len(history) == 3


async def test_a_profile_with_the_same_stack_level_replaces_the_one_before(
    api: Api, sim: SimFactory
) -> None:
    """Named by behaviour: OCPP 1.6 3.13.2, the same connector, purpose and stack level (or
    the same id) replaces; the listing shows only the newer one."""
    cp = await sim()
    for pid, limit in ((31, 8), (32, 12)):
        body = {"connectorId": 1, "csChargingProfiles": profile(pid, "TxDefaultProfile", limit)}
        assert (await command(api, "set-charging-profile", body)).json()["status"] == "Accepted"
    rows = await listed(api)
    assert [r["charging_profile_id"] for r in rows] == [32]
    assert [p.id for p in cp.profiles.profiles] == [32]


async def test_site_power_limit_is_reshared_when_a_second_session_starts_and_one_stops(
    api: Api, sim: SimFactory
) -> None:
    """Named by behaviour: a 10 kW site limit is one session's alone, then halved when a
    second session starts (on another charger), then whole again when that one stops. Each
    share reaches the charger after its StartTransaction was acknowledged."""
    env = api.env
    sharer = SiteSharer(env.engine, env.gateway.registry, delay=0.05, timeout=5)
    env.gateway.service.session_hooks.append(sharer.changed)
    try:
        put = await api.call("admin", "PUT", "/api/v1/sites/S1/power-limit", {"kw": "10"})
        assert put.status_code == 200, put.text
        assert put.json() == {
            "site_id": "S1",
            "power_limit_w": 10_000,
            "power_limit_kw": "10",
            "shares": [],
        }
        cp1, cp2 = await fast_sim(sim, "CP1"), await fast_sim(sim, "CP2")
        known_at_arrival: list[tuple[int | None, int | None]] = []
        for cp in (cp1, cp2):
            original = cp._cs_SetChargingProfile

            async def spy(p: dict[str, Any], cp: SimCharger = cp, original: Any = original) -> Any:
                tx = cp.connectors[1].tx
                known = tx.record.transaction_id if tx is not None else None
                known_at_arrival.append((known, p["csChargingProfiles"].get("transactionId")))
                return await original(p)

            cp._cs_SetChargingProfile = spy  # type: ignore[method-assign]

        def limit_w(cp: SimCharger) -> int | None:
            tx = cp.connectors[1].tx
            return tx.flow.limit_w if tx is not None else None

        await cp1.plug_in(1, "TAG1", big_ev())
        s1 = await running_session(api, "CP1")
        await until(lambda: limit_w(cp1) == 10_000)
        await cp2.plug_in(1, "TAG2", big_ev())
        s2 = await running_session(api, "CP2")
        await until(lambda: limit_w(cp1) == 5_000 and limit_w(cp2) == 5_000)
        await sharer.idle()
        shares = [r for r in await listed(api, "CP1") if r["site_share"]]
        assert [(r["transaction_id"], r["purpose"]) for r in shares] == [(s1, "TxProfile")]
        schedule = shares[0]["profile"]["chargingSchedule"]
        assert schedule == {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 5000}],
        }
        # the meter follows: two samples at the halved share, stored by the gateway
        seen = cp1.connectors[1].tx.record.samples  # type: ignore[union-attr]
        await until(
            lambda: cp1.connectors[1].tx.record.samples >= seen + 2  # type: ignore[union-attr]
        )
        await cp1.drained()
        assert (await powers(api, s1))[-1] == 5_000

        await cp2.unplug(1)  # the second session stops: the first gets the whole limit again
        await until(lambda: limit_w(cp1) == 10_000)
        await sharer.idle()
        assert [r for r in await listed(api, "CP2") if r["site_share"]] == []
        # every share was sent for a transaction the charger already knew: acked first
        assert known_at_arrival and all(known == sent for known, sent in known_at_arrival)
        assert {sent for _, sent in known_at_arrival} == {s1, s2}
        audited = (await api.call("super", "GET", "/api/v1/audit?limit=20")).json()
        by_sharer = [e for e in audited if e["actor"] == "site-power-limit"]
        assert {e["action"] for e in by_sharer} == {"command.set-charging-profile"}
        assert len(by_sharer) == 4  # 10 kW to s1; 5 kW to s1 and s2; 10 kW to s1
        await cp1.unplug(1)
    finally:
        await sharer.close()
