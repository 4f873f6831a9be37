"""SimCharger201 against a recording OCPP 2.0.1 CSMS (the `ocpp` library, schema validation on)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sim_central201 import Csms, call  # noqa: E402

from simulators import EV, Quirks, VirtualClock  # noqa: E402
from simulators.charger201 import SimCharger201  # noqa: E402
from simulators.rpc import TlsFiles  # noqa: E402

SPEED = 600


@pytest.fixture
async def cs() -> AsyncIterator[Csms]:
    central = Csms()
    await central.start()
    yield central
    await central.stop()


def make(cs: Csms, cid: str = "WB-201", **kw: Any) -> SimCharger201:
    kw.setdefault("clock", VirtualClock(SPEED))
    kw.setdefault("sample_interval_s", 60)
    kw.setdefault("backoff", (0.05, 0.5))
    return SimCharger201(cs.url, cid, **kw)


def small_ev() -> EV:
    return EV(capacity_wh=10_000, soc_percent=50, max_power_w=11_000)


def events(cs: Csms) -> list[dict[str, Any]]:
    return cs.state.of("TransactionEvent")


def register(event: dict[str, Any]) -> Decimal:
    (value,) = [
        Decimal(str(sv["value"]))
        for sv in event["meterValue"][0]["sampledValue"]
        if sv["measurand"] == "Energy.Active.Import.Register"
    ]
    return value


async def test_a_session_is_started_updated_and_ended_in_order(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=60, parking_s=120)
    await sim.stop()
    assert rec is not None and rec.energy_wh == 1_000
    assert sim.stats.link.call_errors == 0  # the CSMS validated every frame against its schema
    assert cs.state.actions()[:3] == ["BootNotification", "StatusNotification", "Authorize"]
    (boot,) = cs.state.of("BootNotification")
    assert boot["reason"] == "PowerUp"
    (auth,) = cs.state.of("Authorize")
    assert auth["idToken"] == {"idToken": "RFID-1", "type": "ISO14443"}
    statuses = [
        (s["evseId"], s["connectorId"], s["connectorStatus"])
        for s in cs.state.of("StatusNotification")
    ]
    assert statuses == [(1, 1, "Available"), (1, 1, "Occupied"), (1, 1, "Available")]
    assert sim.queue.dropped == []
    evs = events(cs)
    assert [e["seqNo"] for e in evs] == list(range(len(evs)))
    assert {e["transactionInfo"]["transactionId"] for e in evs} == {rec.transaction_id}
    assert isinstance(rec.transaction_id, str) and len(rec.transaction_id) <= 36
    started, ended = evs[0], evs[-1]
    assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
    assert started["transactionInfo"]["chargingState"] == "Charging"
    assert started["idToken"]["idToken"] == "RFID-1"
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
    assert register(started) == rec.meter_start == 532_363
    periodic = [e for e in evs if e["triggerReason"] == "MeterValuePeriodic"]
    assert periodic and all(e["eventType"] == "Updated" for e in periodic)
    assert {sv["context"] for e in periodic for sv in e["meterValue"][0]["sampledValue"]} == {
        "Sample.Periodic"
    }
    regs = [register(e) for e in periodic]
    assert regs == sorted(regs) and rec.meter_start <= regs[0] <= regs[-1] <= rec.meter_stop
    changes = [
        e["transactionInfo"]["chargingState"]
        for e in evs
        if e["triggerReason"] == "ChargingStateChanged"
    ]
    assert changes == ["SuspendedEV"]  # the car is full; parking from here
    assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert ended["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.End"
    assert register(ended) == rec.meter_stop == 533_363
    assert not any(e.get("offline") for e in evs)
    assert 320 <= rec.charging_s <= 330 and rec.parking_s >= 120


async def test_invalid_token_starts_nothing(cs: Csms) -> None:
    cs.state.valid_tags = {"GOOD"}
    sim = make(cs)
    await sim.start()
    assert await sim.charge(1, "BAD", small_ev(), target_percent=60) is None
    await sim.stop()
    assert events(cs) == []


async def test_events_made_offline_are_flagged_and_replayed_in_order(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    rec = await sim.plug_in(1, "RFID-1", EV(capacity_wh=10_000, soc_percent=50, target_percent=60))
    assert rec is not None
    await cs.wait_for(lambda: len(events(cs)) >= 2)
    await sim.set_network(False)
    await asyncio.sleep(0.3)  # three virtual minutes offline
    await sim.unplug(1)  # ends while offline
    queued = len(sim.queue)
    assert queued > 0
    await sim.set_network(True)
    await sim.wait_ready()
    await sim.stop()
    evs = events(cs)
    seqs = [e["seqNo"] for e in evs]
    # nothing lost or reordered; the frame in flight when the network went may come twice
    assert seqs == sorted(seqs) and list(dict.fromkeys(seqs)) == list(range(seqs[-1] + 1))
    assert evs[0].get("offline") is None
    ended = evs[-1]
    assert ended["eventType"] == "Ended" and ended["offline"] is True
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == (
        "EVDeparted",
        "EVDisconnected",
    )
    assert register(ended) == rec.meter_stop


async def test_remote_start_and_stop(cs: Csms) -> None:
    sim = make(cs, quirks=Quirks(suspended_after_remote_start=True))
    await sim.start()
    await sim.plug_in(1, None, small_ev())
    token = {"id_token": "APP-1", "type": "Central"}
    answer = await cs.send(
        "WB-201", call.RequestStartTransaction(id_token=token, remote_start_id=7, evse_id=1)
    )
    assert answer.status == "Accepted"
    await cs.wait_for(lambda: sim.connectors[1].tx is not None)
    tx_id = sim.connectors[1].tx.record.transaction_id  # type: ignore[union-attr]
    await cs.wait_for(
        lambda: any(e["transactionInfo"].get("chargingState") == "Charging" for e in events(cs)[1:])
    )
    stop = await cs.send("WB-201", call.RequestStopTransaction(transaction_id=tx_id))
    assert stop.status == "Accepted"
    await cs.wait_for(lambda: events(cs) and events(cs)[-1]["eventType"] == "Ended")
    bad = await cs.send("WB-201", call.RequestStopTransaction(transaction_id="nope"))
    assert bad.status == "Rejected"
    await sim.stop()
    evs = events(cs)
    started = evs[0]
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == 7
    assert started["transactionInfo"]["chargingState"] == "SuspendedEV"  # the Wallbox quirk
    assert sim.stats.link.call_errors == 0
    assert (evs[-1]["triggerReason"], evs[-1]["transactionInfo"]["stoppedReason"]) == (
        "RemoteStop",
        "Remote",
    )


async def test_commands_are_answered(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    cid = "WB-201"
    unlock = await cs.send(cid, call.UnlockConnector(evse_id=1, connector_id=1))
    assert unlock.status == "Unlocked"
    assert (
        await cs.send(cid, call.UnlockConnector(evse_id=9, connector_id=1))
    ).status == "UnknownConnector"
    await sim.plug_in(1, "RFID-1", small_ev())
    busy = await cs.send(cid, call.UnlockConnector(evse_id=1, connector_id=1))
    assert busy.status == "OngoingAuthorizedTransaction"
    change = await cs.send(
        cid, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1})
    )
    assert change.status == "Scheduled"  # a transaction runs
    trig = await cs.send(
        cid, call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1})
    )
    assert trig.status == "Accepted"
    await cs.wait_for(lambda: any(e["triggerReason"] == "Trigger" for e in events(cs)))
    meter = await cs.send(cid, call.TriggerMessage(requested_message="MeterValues"))
    assert meter.status == "Accepted"
    await cs.wait_for(lambda: cs.state.of("MeterValues"))
    assert cs.state.of("MeterValues")[0]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    again = await cs.send(cid, call.TriggerMessage(requested_message="BootNotification"))
    assert again.status == "Rejected"  # already accepted on this connection
    nope = await cs.send(
        cid, call.TriggerMessage(requested_message="PublishFirmwareStatusNotification")
    )
    assert nope.status == "NotImplemented"
    got = await cs.send(
        cid,
        call.GetVariables(
            get_variable_data=[
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                {"component": {"name": "Foo"}, "variable": {"name": "Bar"}},
            ]
        ),
    )
    assert [r["attribute_status"] for r in got.get_variable_result] == [
        "Accepted",
        "UnknownComponent",
    ]
    put = await cs.send(
        cid,
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "SampledDataCtrlr"},
                    "variable": {"name": "TxUpdatedInterval"},
                    "attribute_value": "120",
                }
            ]
        ),
    )
    assert put.set_variable_result[0]["attribute_status"] == "Accepted"
    assert sim.config.int("MeterValueSampleInterval") == 120
    report = await cs.send(cid, call.GetBaseReport(request_id=5, report_base="FullInventory"))
    assert report.status == "Accepted"
    await cs.wait_for(lambda: len(cs.state.of("NotifyReport")) == 3)
    pages = cs.state.of("NotifyReport")
    assert [(p["seqNo"], p["tbc"]) for p in pages] == [(0, True), (1, True), (2, False)]
    assert {p["requestId"] for p in pages} == {5}
    summary = await cs.send(cid, call.GetBaseReport(request_id=6, report_base="SummaryInventory"))
    assert summary.status == "NotSupported"
    reset = await cs.send(cid, call.Reset(type="OnIdle"))
    assert reset.status == "Scheduled"
    await sim.unplug(1)  # idle now: the reset happens, the charger boots again
    await cs.wait_for(lambda: len(cs.state.of("BootNotification")) == 2)
    assert cs.state.of("BootNotification")[1]["reason"] == "RemoteReset"
    await sim.wait_ready()
    statuses = [s["connectorStatus"] for s in cs.state.of("StatusNotification")]
    assert "Unavailable" in statuses  # the scheduled Inoperative took effect at the end
    await sim.stop()
    assert sim.stats.link.call_errors == 0


async def test_no_boot_quirk_boots_when_triggered(cs: Csms) -> None:
    sim = make(cs, quirks=Quirks(no_boot=True))
    await sim.start()
    assert cs.state.of("BootNotification") == []
    answer = await cs.send("WB-201", call.TriggerMessage(requested_message="BootNotification"))
    assert answer.status == "Accepted"
    await cs.wait_for(lambda: cs.state.of("BootNotification"))
    assert cs.state.of("BootNotification")[0]["reason"] == "Triggered"
    await sim.stop()


async def test_empty_transaction_data_quirk_ends_without_a_meter_value(cs: Csms) -> None:
    sim = make(cs, quirks=Quirks(empty_transaction_data=True, sample_after_stop=True))
    await sim.start()
    rec = await sim.charge(1, "RFID-1", small_ev(), target_percent=55, parking_s=30)
    await sim.stop()
    assert rec is not None
    ended = events(cs)[-1]
    assert ended["eventType"] == "Ended" and "meterValue" not in ended
    (after,) = cs.state.of("MeterValues")  # Copper SB: a few Wh above the stop, no transaction
    assert register(after) == rec.meter_stop + sim.quirks.after_stop_extra_wh


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all from the CA."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make test certificates")
    f = {
        n: str(tmp_path / n)
        for n in ("ca.pem", "ca.key", "srv.pem", "srv.key", "cli.pem", "cli.key", "san.ext")
    }
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
             "-keyout", f["ca.key"], "-out", f["ca.pem"])  # fmt: skip
    Path(f["san.ext"]).write_text("subjectAltName=IP:127.0.0.1\n")
    for name, cn in (("srv", "127.0.0.1"), ("cli", "WB-TLS")):
        csr = str(tmp_path / f"{name}.csr")
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={cn}",
            "-keyout",
            f[f"{name}.key"],
            "-out",
            csr,
        )
        _openssl("x509", "-req", "-in", csr, "-CA", f["ca.pem"], "-CAkey", f["ca.key"], "-CAcreateserial",
                 "-days", "1", "-extfile", f["san.ext"], "-out", f[f"{name}.pem"])  # fmt: skip
    return f


async def test_client_certificate_is_presented_over_wss(pki: dict[str, str]) -> None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki["srv.pem"], pki["srv.key"])
    server.load_verify_locations(pki["ca.pem"])
    server.verify_mode = ssl.CERT_REQUIRED  # security profile 3: no certificate, no socket
    central = Csms(ssl_context=server)
    await central.start()
    try:
        bare = SimCharger201(
            central.url, "WB-TLS", tls=TlsFiles(ca=pki["ca.pem"]), backoff=(0.05, 0.2)
        )
        with pytest.raises(TimeoutError):
            await bare.start(timeout=1)
        await bare.stop()
        assert bare.stats.connect_failures >= 1 and central.state.of("BootNotification") == []
        sim = SimCharger201(
            central.url,
            "WB-TLS",
            tls=TlsFiles(ca=pki["ca.pem"], cert=pki["cli.pem"], key=pki["cli.key"]),
        )
        await sim.start()
        await sim.stop()
        assert central.state.of("BootNotification")
        subject = dict(x[0] for x in central.peer_certs[-1]["subject"])
        assert subject["commonName"] == "WB-TLS"
        assert sim.device.fixed["SecurityProfile"] == "3"
    finally:
        await central.stop()
