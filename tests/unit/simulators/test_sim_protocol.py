"""The simulator against a recording OCPP 1.6 central system (schema validation on)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ocpp.exceptions import OCPPError

sys.path.insert(0, str(Path(__file__).parent))
from sim_central import CentralSystem, call  # noqa: E402

from simulators import EV, Quirks, SimCharger, VirtualClock  # noqa: E402
from simulators.clock import iso_seconds  # noqa: E402

SPEED = 600  # ten virtual minutes a second


@pytest.fixture
async def cs() -> AsyncIterator[CentralSystem]:
    central = CentralSystem()
    await central.start()
    yield central
    await central.stop()


def make(cs: CentralSystem, cid: str = "WB-001", **kw: Any) -> SimCharger:
    kw.setdefault("clock", VirtualClock(SPEED))
    kw.setdefault("sample_interval_s", 60)
    return SimCharger(cs.url, cid, **kw)


def small_ev(**kw: Any) -> EV:
    """10 kWh at 50 %: 1 kWh to 60 % takes 327 virtual s at 11 kW (about 0.5 s here)."""
    return EV(capacity_wh=10_000, soc_percent=50, max_power_w=11_000, **kw)


def statuses(cs: CentralSystem, cid: str = "WB-001") -> list[str]:
    return [p["status"] for p in cs.state.of("StatusNotification", cid)]


def register_values(cs: CentralSystem, cid: str = "WB-001") -> list[str]:
    return [
        sv["value"]
        for p in cs.state.of("MeterValues", cid)
        for mv in p["meterValue"]
        for sv in mv["sampledValue"]
        if sv["measurand"] == "Energy.Active.Import.Register"
    ]


async def test_full_session_matches_what_the_central_system_received(cs: CentralSystem) -> None:
    sim = make(cs)
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=60, parking_s=120)
    await sim.stop()
    assert rec is not None and rec.completed
    assert rec.energy_wh == 1_000  # exactly 10 % of 10 kWh
    (start,) = cs.state.of("StartTransaction")
    (stop,) = cs.state.of("StopTransaction")
    assert start["meterStart"] == rec.meter_start == 532_363
    assert stop["meterStop"] == rec.meter_stop == 533_363
    assert stop["transactionId"] == rec.transaction_id == 1001
    assert stop["reason"] == "Local"
    assert stop["transactionData"][0]["sampledValue"][0]["context"] == "Transaction.End"
    assert cs.state.actions()[:3] == ["BootNotification", "StatusNotification", "Authorize"]
    states = statuses(cs)
    assert states == ["Available", "Preparing", "Charging", "SuspendedEV", "Finishing", "Available"]
    assert all(p["vendorId"] == "com.wallbox" for p in cs.state.of("StatusNotification"))
    # the Wallbox sample set, with the transaction id, on the outlet, periodic
    samples = cs.state.of("MeterValues")
    assert samples and all(p["transactionId"] == 1001 for p in samples)
    values = samples[0]["meterValue"][0]["sampledValue"]
    assert [(v["measurand"], v.get("phase")) for v in values] == [
        ("Energy.Active.Import.Register", None),
        ("Power.Active.Import", None),
        ("Current.Import", "L1"),
        ("Current.Import", "L2"),
        ("Current.Import", "L3"),
        ("Voltage", "L1-N"),
        ("Voltage", "L2-N"),
        ("Voltage", "L3-N"),
        ("Current.Offered", None),
        ("Power.Offered", None),
    ]
    assert {v["location"] for v in values} == {"Outlet"}
    assert {v["context"] for v in values} == {"Sample.Periodic"}
    regs = [Decimal(v) for v in register_values(cs)]
    assert regs == sorted(regs) and rec.meter_start <= regs[0] <= rec.meter_stop
    # charging and parking time: what the status timestamps say
    assert rec.charging_s + rec.parking_s == (rec.stop_ms - rec.start_ms) // 1000
    assert 320 <= rec.charging_s <= 330  # 1 kWh at 11 kW = 327 s, stamped in whole seconds
    assert rec.parking_s >= 120
    charging_at = next(
        p["timestamp"] for p in cs.state.of("StatusNotification") if p["status"] == "Charging"
    )
    assert charging_at == start["timestamp"] == iso_seconds(rec.start_ms)
    assert stop["timestamp"] == iso_seconds(rec.stop_ms)


async def test_invalid_tag_starts_nothing(cs: CentralSystem) -> None:
    cs.state.valid_tags = {"RFID-GOOD"}
    sim = make(cs)
    await sim.start()
    assert await sim.charge(1, "RFID-BAD", small_ev(), target_percent=60) is None
    await sim.stop()
    assert cs.state.of("StartTransaction") == []
    assert statuses(cs) == ["Available", "Preparing", "Available"]


async def test_password_is_sent_as_basic_auth_unless_empty_password(cs: CentralSystem) -> None:
    a = make(cs, "WB-A", password="s3cret")
    b = make(cs, "WB-B", password="s3cret", quirks=Quirks(empty_password=True))
    await a.start()
    await b.start()
    await a.stop()
    await b.stop()
    assert cs.state.auth_headers == {"WB-A": "WB-A:s3cret", "WB-B": None}


async def test_no_boot_until_trigger_message(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(no_boot=True))
    await sim.start()
    await cs.wait_for(lambda: "StatusNotification" in cs.state.actions())
    assert "BootNotification" not in cs.state.actions()
    answer = await cs.send("WB-001", call.TriggerMessage(requested_message="BootNotification"))
    assert answer.status == "Accepted"
    await cs.wait_for(lambda: "BootNotification" in cs.state.actions())
    await sim.disconnect()  # firmware 6.x does not boot after a reconnect either
    await cs.wait_for(lambda: cs.connects.get("WB-001") == 2 and sim.connected)
    await sim.stop()
    assert cs.state.actions().count("BootNotification") == 1


async def test_sample_after_stop_reads_a_few_wh_above_meter_stop(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(sample_after_stop=True))
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=60)
    await sim.stop()
    assert rec is not None and rec.meter_stop is not None
    actions = [a for a in cs.state.actions() if a in ("StopTransaction", "MeterValues")]
    assert actions[-2:] == ["StopTransaction", "MeterValues"]
    last = cs.state.of("MeterValues")[-1]
    assert "transactionId" not in last
    after = Decimal(last["meterValue"][0]["sampledValue"][0]["value"])
    assert rec.meter_stop + 1 <= after <= rec.meter_stop + 10
    assert rec.energy_wh == 1_000  # the session is what was metered until the stop


async def test_per_session_register_restarts_at_zero(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(per_session_register=True))
    await sim.start()
    first = await sim.charge(1, "RFID-1", small_ev(), target_percent=55)
    second = await sim.charge(1, "RFID-1", small_ev(), target_percent=58)
    await sim.stop()
    assert first is not None and second is not None
    assert [p["meterStart"] for p in cs.state.of("StartTransaction")] == [0, 0]
    assert [p["meterStop"] for p in cs.state.of("StopTransaction")] == [500, 800]
    assert (first.energy_wh, second.energy_wh) == (500, 800)


async def test_kwh_units(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(kwh_units=True))
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=60)
    await sim.stop()
    assert rec is not None
    units = {
        sv["unit"]
        for p in cs.state.of("MeterValues")
        for mv in p["meterValue"]
        for sv in mv["sampledValue"]
        if sv["measurand"] == "Energy.Active.Import.Register"
    }
    assert units == {"kWh"}
    kwh = [Decimal(v) for v in register_values(cs)]
    assert all(Decimal("532.363") <= v <= Decimal("533.364") for v in kwh)
    assert cs.state.of("StopTransaction")[0]["meterStop"] == rec.meter_stop  # still integer Wh


async def test_zero_power_while_charging(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(zero_power=True))
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=60)
    await sim.stop()
    powers = {
        sv["value"]
        for p in cs.state.of("MeterValues")
        for mv in p["meterValue"]
        for sv in mv["sampledValue"]
        if sv["measurand"] == "Power.Active.Import"
    }
    assert powers == {"0"}
    assert rec is not None and rec.energy_wh == 1_000 and rec.charging_s > 300


async def test_wrong_clock_sends_1970(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(wrong_clock=True))
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=55)
    await sim.stop()
    stamps = [p["timestamp"] for p in cs.state.of("StatusNotification")]
    stamps.append(cs.state.of("StartTransaction")[0]["timestamp"])
    assert all(s.startswith("1970-01-01T") for s in stamps)
    assert rec is not None and rec.started_at.year >= 2024  # the record keeps true time


async def test_empty_transaction_data(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(empty_transaction_data=True))
    await sim.start()
    await sim.charge(1, "RFID-1", small_ev(), target_percent=55)
    await sim.stop()
    assert cs.state.of("StopTransaction")[0]["transactionData"] == []


async def test_frequent_reconnects_lose_and_duplicate_nothing(cs: CentralSystem) -> None:
    quirks = Quirks(frequent_reconnects=True, reconnect_every_s=(0.15, 0.25))
    sim = make(cs, quirks=quirks, backoff=(0.02, 0.1))
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=70, parking_s=60)
    await sim.stop()
    assert cs.connects["WB-001"] >= 3
    assert rec is not None and rec.energy_wh == 2_000
    assert len(cs.state.of("StartTransaction")) == 1
    (stop,) = cs.state.of("StopTransaction")
    assert stop["transactionId"] == rec.transaction_id
    stamps = [p["meterValue"][0]["timestamp"] for p in cs.state.of("MeterValues")]
    assert len(set(stamps)) == rec.samples  # nothing lost
    # delivery is at least once: only a frame in flight when a socket died may come twice
    assert len(stamps) - len(set(stamps)) <= cs.connects["WB-001"] - 1


async def test_remote_start_and_suspended_quirk_then_remote_stop(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(suspended_after_remote_start=True, suspended_for_s=60))
    await sim.start()
    await sim.plug_in(1, None, small_ev(target_percent=90))
    answer = await cs.send("WB-001", call.RemoteStartTransaction(id_tag="APP-7", connector_id=1))
    assert answer.status == "Accepted"
    await sim.wait_status(1, "Charging")
    rec = sim.connectors[1].tx.record  # type: ignore[union-attr]
    await cs.wait_for(lambda: rec.transaction_id is not None)
    answer = await cs.send("WB-001", call.RemoteStopTransaction(transaction_id=rec.transaction_id))
    assert answer.status == "Accepted"
    await sim.wait_status(1, "Finishing")
    wrong = await cs.send("WB-001", call.RemoteStopTransaction(transaction_id=9))
    assert wrong.status == "Rejected"
    await sim.unplug(1)
    await sim.stop()
    assert "Authorize" not in cs.state.actions()  # AuthorizeRemoteTxRequests is false
    assert statuses(cs)[1:5] == ["Preparing", "SuspendedEV", "Charging", "Finishing"]
    (stop,) = cs.state.of("StopTransaction")
    assert (stop["reason"], stop["idTag"]) == ("Remote", "APP-7")
    assert rec.parking_s == 60 and rec.energy_wh and rec.energy_wh > 0


async def test_remote_start_before_the_cable(cs: CentralSystem) -> None:
    sim = make(cs)
    await sim.start()
    answer = await cs.send("WB-001", call.RemoteStartTransaction(id_tag="APP-1"))
    assert answer.status == "Accepted"
    rec = await sim.charge(1, None, small_ev(), target_percent=55)
    await sim.stop()
    assert rec is not None and rec.id_tag == "APP-1" and rec.energy_wh == 500


async def test_reset_soft_stops_and_reboots(cs: CentralSystem) -> None:
    sim = make(cs, backoff=(0.02, 0.1))
    await sim.start()
    await sim.plug_in(1, "RFID-1", small_ev(target_percent=90))
    assert (await cs.send("WB-001", call.Reset(type="Soft"))).status == "Accepted"
    await cs.wait_for(lambda: cs.state.actions().count("BootNotification") == 2)
    await sim.stop()
    (stop,) = cs.state.of("StopTransaction")
    assert stop["reason"] == "SoftReset"
    assert sim.completed_sessions[0].stop_reason == "SoftReset"


async def test_forget_on_reboot_never_sends_a_stop(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(forget_on_reboot=True), backoff=(0.02, 0.1))
    await sim.start()
    rec = await sim.plug_in(1, "RFID-1", small_ev(target_percent=90))
    assert rec is not None
    await cs.wait_for(lambda: len(cs.state.of("MeterValues")) >= 2)
    assert (await cs.send("WB-001", call.Reset(type="Hard"))).status == "Accepted"
    await cs.wait_for(lambda: cs.state.actions().count("BootNotification") == 2)
    await cs.wait_for(lambda: statuses(cs)[-1] == "Preparing")  # rebooted, cable still in
    await sim.unplug(1)
    await sim.stop()
    assert cs.state.of("StopTransaction") == []
    assert rec.forgotten and rec.stop_reason is None
    last = Decimal(register_values(cs)[-1])
    assert rec.meter_stop == int(last)  # closed at the last sample the central system has
    assert statuses(cs)[-2:] == ["Preparing", "Available"]


async def test_configuration_trigger_unlock_and_availability(cs: CentralSystem) -> None:
    sim = make(cs)
    await sim.start()
    conf = await cs.send("WB-001", call.GetConfiguration(key=["HeartbeatInterval", "Nope"]))
    assert conf.configuration_key == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
    ]
    assert conf.unknown_key == ["Nope"]
    change = call.ChangeConfiguration
    assert (
        await cs.send("WB-001", change(key="HeartbeatInterval", value="1"))
    ).status == "Accepted"
    assert (
        await cs.send("WB-001", change(key="NumberOfConnectors", value="2"))
    ).status == "Rejected"
    assert (await cs.send("WB-001", change(key="Bogus", value="1"))).status == "NotSupported"
    await cs.wait_for(lambda: "Heartbeat" in cs.state.actions(), timeout=5)
    trigger = call.TriggerMessage
    assert (await cs.send("WB-001", trigger(requested_message="MeterValues"))).status == "Accepted"
    await cs.wait_for(lambda: len(cs.state.of("MeterValues")) == 1)
    assert cs.state.of("MeterValues")[0]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    await sim.plug_in(1, "RFID-1", small_ev(target_percent=90))
    avail = await cs.send("WB-001", call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert avail.status == "Scheduled"  # a transaction runs
    assert (await cs.send("WB-001", call.UnlockConnector(connector_id=1))).status == "Unlocked"
    await cs.wait_for(lambda: len(cs.state.of("StopTransaction")) == 1)
    assert cs.state.of("StopTransaction")[0]["reason"] == "UnlockCommand"
    with pytest.raises(OCPPError):  # an action the charger does not implement: CallError
        await cs.send(
            "WB-001",
            call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate"),
        )
    await sim.unplug(1)
    await sim.stop()
    assert statuses(cs)[-1] == "Unavailable"  # the scheduled change took effect


async def test_charging_profiles_limit_power_and_fw5_stack_level(cs: CentralSystem) -> None:
    sim = make(cs, quirks=Quirks(fw5_profiles=True))
    await sim.start()
    await sim.plug_in(1, "RFID-1", small_ev(target_percent=90))

    def profile(level: int, limit: float) -> dict[str, Any]:
        return {
            "chargingProfileId": level + 1,
            "stackLevel": level,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        }

    set_profile = call.SetChargingProfile
    high = await cs.send("WB-001", set_profile(connector_id=1, cs_charging_profiles=profile(1, 6)))
    assert high.status == "Rejected"  # firmware 5.x: stack level 0 only
    ok = await cs.send("WB-001", set_profile(connector_id=1, cs_charging_profiles=profile(0, 6.0)))
    assert ok.status == "Accepted"
    flow = sim.connectors[1].tx.flow  # type: ignore[union-attr]
    assert flow.limit_a == 6 and flow.power_w == 6 * 3 * 230
    await cs.wait_for(
        lambda: any(
            sv["measurand"] == "Current.Offered" and sv["value"] == "6"
            for p in cs.state.of("MeterValues")
            for sv in p["meterValue"][0]["sampledValue"]
        )
    )
    await sim.unplug(1)
    await sim.stop()


async def test_offline_replay_in_order_with_the_real_transaction_id(cs: CentralSystem) -> None:
    """Central system down mid-session: samples, statuses and the Stop wait, then replay."""
    sim = make(cs, backoff=(0.05, 0.2))
    await sim.start()
    rec = await sim.plug_in(1, "RFID-1", small_ev(target_percent=60))
    assert rec is not None
    # stop the central system once the first sample was acknowledged (a frame in flight when
    # the socket dies is sent again: at-least-once, as OCPP 1.6 asks of transaction messages)
    await cs.wait_for(lambda: rec.samples >= 1 and len(sim.queue) == 0)
    await cs.stop()
    await asyncio.sleep(0.6)  # about 6 virtual minutes offline: samples pile up
    queued = len(sim.queue)
    assert queued >= 3
    record = await sim.unplug(1)
    assert record is rec and rec.completed
    await cs.start()  # same port, same recorded state
    await sim.wait_ready()
    await sim.stop()
    (start,) = cs.state.of("StartTransaction")
    (stop,) = cs.state.of("StopTransaction")
    assert stop["transactionId"] == rec.transaction_id == 1001
    stamps = [p["meterValue"][0]["timestamp"] for p in cs.state.of("MeterValues")]
    assert len(set(stamps)) == rec.samples  # nothing lost
    # delivery is at least once: only a frame in flight when a socket died may come twice
    assert len(stamps) - len(set(stamps)) <= cs.connects["WB-001"] - 1
    assert stamps == sorted(stamps)  # original timestamps, in order
    assert stamps[-1] <= stop["timestamp"] == iso_seconds(rec.stop_ms)
    assert stop["meterStop"] - start["meterStart"] == rec.energy_wh == 1_000
    assert statuses(cs).count("SuspendedEV") == 1  # the car filled up while offline


async def test_offline_from_the_start_stop_gets_the_id_once_known(cs: CentralSystem) -> None:
    """StartTransaction and StopTransaction both queued offline; the Stop learns the id."""
    sim = make(cs, backoff=(0.05, 0.2))
    await sim.start()
    await sim.set_network(False)
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=55)  # offline: local auth
    assert rec is not None and rec.transaction_id is None
    assert [p.action for p in sim.queue.items() if p.action.endswith("Transaction")] == [
        "StartTransaction",
        "StopTransaction",
    ]
    await sim.set_network(True)
    await sim.wait_ready()
    await sim.stop()
    (stop,) = cs.state.of("StopTransaction")
    assert rec.transaction_id == 1001 and stop["transactionId"] == 1001
    assert stop["meterStop"] == rec.meter_stop and rec.energy_wh == 500


async def test_transaction_message_call_error_is_retried(cs: CentralSystem) -> None:
    cs.state.error_next["StartTransaction"] = 1
    sim = make(cs)
    sim.config.change("TransactionMessageRetryInterval", "0")
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=55)
    await sim.stop()
    assert len(cs.state.of("StartTransaction")) == 1  # the refused one is not recorded
    assert (
        rec is not None and rec.transaction_id == cs.state.of("StopTransaction")[0]["transactionId"]
    )


async def test_scenario_plays_a_week_of_sessions_in_order(cs: CentralSystem) -> None:
    from simulators import scenario

    plan = scenario.parse(
        {
            "start": "-8d",
            "timezone": "Europe/Oslo",
            "speed": 86_400,
            "sample_interval": "30m",
            "chargers": [{"id": "WB-S1"}, {"id": "WB-S2", "quirks": ["per_session_register"]}],
            "drivers": [
                {"name": "A", "token": "RFID-A", "ev": {"capacity_kwh": 10, "soc": 40}},
                {"name": "B", "token": "RFID-B", "ev": {"capacity_kwh": 10, "soc": 40}},
            ],
            "generators": [
                {
                    "days": "all",
                    "from": "-7d",
                    "to": "-6d",
                    "arrival": "08:00-09:00",
                    "target_soc": 50,
                    "parking": "1h",
                }
            ],
        }
    )
    records = await scenario.run(plan, cs.url)
    assert len(records) == len(plan.sessions) == 4
    assert all(r.energy_wh == 1_000 for r in records)  # 40 % -> 50 % of 10 kWh
    assert {r.charger_id for r in records} == {"WB-S1", "WB-S2"}
    assert [p["meterStart"] for p in cs.state.of("StartTransaction", "WB-S2")] == [0, 0]
    stops = {p["transactionId"]: p["meterStop"] for p in cs.state.of("StopTransaction")}
    assert {r.transaction_id: r.meter_stop for r in records} == stops
    assert all(r.parking_s >= 3_500 for r in records)
