"""SimCharger201's reservation, local list, smart charging and firmware/log profiles against a
recording 2.0.1 CSMS (the `ocpp` library validates every call and every answer against the
official 2.0.1 schemas); each answer is checked, then the charger's follow-up messages."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.exceptions import NotSupportedError

sys.path.insert(0, str(Path(__file__).parent))
from sim_central201 import Csms, call  # noqa: E402

from simulators import EV, VirtualClock  # noqa: E402
from simulators.charger201 import SimCharger201  # noqa: E402
from simulators.physics import ChargerSpec  # noqa: E402

SPEED = 600
CID = "WB-201"


@pytest.fixture
async def cs() -> AsyncIterator[Csms]:
    central = Csms()
    await central.start()
    yield central
    await central.stop()


def make(cs: Csms, **kw: Any) -> SimCharger201:
    kw.setdefault("clock", VirtualClock(SPEED))
    kw.setdefault("backoff", (0.05, 0.5))
    return SimCharger201(cs.url, CID, **kw)


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def token(tag: str) -> dict[str, str]:
    return {"id_token": tag, "type": "ISO14443"}


def statuses(cs: Csms, evse: int) -> list[str]:
    return [s["connectorStatus"] for s in cs.state.of("StatusNotification") if s["evseId"] == evse]


# ---------------------------------------------------------------- reservations


async def test_a_reservation_holds_the_evse_is_used_at_the_start_and_expires(cs: Csms) -> None:
    sim = make(cs, spec=ChargerSpec(connectors=2))
    await sim.start()
    later = stamp(sim.clock.now() + timedelta(hours=1))
    ok = await cs.send(
        CID, call.ReserveNow(id=11, expiry_date_time=later, id_token=token("R-1"), evse_id=1)
    )
    assert ok.status == "Accepted"
    taken = await cs.send(
        CID, call.ReserveNow(id=12, expiry_date_time=later, id_token=token("X"), evse_id=1)
    )
    assert taken.status == "Occupied"
    unknown = await cs.send(
        CID, call.ReserveNow(id=13, expiry_date_time=later, id_token=token("X"), evse_id=9)
    )
    assert unknown.status == "Rejected"
    await cs.wait_for(lambda: statuses(cs, 1)[-1:] == ["Reserved"])
    # another token may not start on the reserved EVSE; the reservation's token may
    assert await sim.plug_in(1, "OTHER", EV()) is None
    await sim.unplug(1)
    rec = await sim.plug_in(1, "R-1", EV())
    assert rec is not None
    await cs.wait_for(lambda: cs.state.of("TransactionEvent"))
    (started,) = cs.state.of("TransactionEvent")
    assert started["eventType"] == "Started" and started["reservationId"] == 11
    assert "reservationId" not in started["transactionInfo"]
    used = await cs.send(CID, call.CancelReservation(reservation_id=11))
    assert used.status == "Rejected"  # the start ended it
    # cancelled: Available again, and no ReservationStatusUpdate (the CSMS asked for it)
    again = await cs.send(
        CID, call.ReserveNow(id=14, expiry_date_time=later, id_token=token("R-2"), evse_id=2)
    )
    assert again.status == "Accepted"
    assert (await cs.send(CID, call.CancelReservation(reservation_id=14))).status == "Accepted"
    await cs.wait_for(lambda: statuses(cs, 2)[-2:] == ["Reserved", "Available"])
    # any EVSE (no evseId), expiring a virtual minute from now
    soon = stamp(sim.clock.now() + timedelta(seconds=60))
    anywhere = await cs.send(
        CID, call.ReserveNow(id=15, expiry_date_time=soon, id_token=token("R-3"))
    )
    assert anywhere.status == "Accepted"
    await cs.wait_for(lambda: cs.state.of("ReservationStatusUpdate"), timeout=5)
    assert cs.state.of("ReservationStatusUpdate") == [
        {"reservationId": 15, "reservationUpdateStatus": "Expired"}
    ]
    assert 15 not in sim.reservations.held
    await sim.stop()
    assert statuses(cs, 2)[-2:] == ["Reserved", "Available"]  # the one free EVSE showed it
    assert sim.stats.link.call_errors == 0


async def test_a_reservation_dropped_at_the_charger_is_reported_removed(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    later = stamp(sim.clock.now() + timedelta(hours=1))
    group = {"id_token": "FLEET", "type": "Central"}
    ok = await cs.send(
        CID,
        call.ReserveNow(
            id=21, expiry_date_time=later, id_token=token("R-1"), evse_id=1, group_id_token=group
        ),
    )
    assert ok.status == "Accepted"
    assert sim.reservations.held[21].parent_id_tag == "FLEET"
    sim.reservations.forget(21)
    await cs.wait_for(lambda: cs.state.of("ReservationStatusUpdate"))
    assert cs.state.of("ReservationStatusUpdate") == [
        {"reservationId": 21, "reservationUpdateStatus": "Removed"}
    ]
    assert (await cs.send(CID, call.CancelReservation(reservation_id=21))).status == "Rejected"
    await sim.stop()


# ---------------------------------------------------------------- local list


def entry(tag: str, status: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"id_token": token(tag)}
    if status is not None:
        item["id_token_info"] = {"status": status}
    return item


async def test_the_local_list_is_versioned_and_decides_offline(cs: Csms) -> None:
    sim = make(cs, spec=ChargerSpec(connectors=2))
    await sim.start()
    assert (await cs.send(CID, call.GetLocalListVersion())).version_number == 0
    full = await cs.send(
        CID,
        call.SendLocalList(
            version_number=3,
            update_type="Full",
            local_authorization_list=[entry("LISTED", "Accepted"), entry("BLOCKED", "Blocked")],
        ),
    )
    assert full.status == "Accepted"
    assert (await cs.send(CID, call.GetLocalListVersion())).version_number == 3
    stale = await cs.send(
        CID,
        call.SendLocalList(version_number=2, update_type="Differential"),
    )
    assert stale.status == "VersionMismatch"
    diff = await cs.send(
        CID,
        call.SendLocalList(
            version_number=4,
            update_type="Differential",
            local_authorization_list=[entry("GONE", None), entry("NEW", "Accepted")],
        ),
    )
    assert diff.status == "Accepted"
    assert sim.local_list.version == 4
    assert {t: i["status"] for t, i in sim.local_list.entries.items()} == {
        "LISTED": "Accepted",
        "BLOCKED": "Blocked",
        "NEW": "Accepted",
    }
    assert (await cs.send(CID, call.ClearCache())).status == "Accepted"
    await sim.set_network(False)
    assert await sim.plug_in(1, "BLOCKED", EV()) is None  # offline: the list says no
    assert await sim.plug_in(2, "LISTED", EV()) is not None
    await sim.set_network(True)
    await sim.wait_ready()
    await sim.drained()
    (started,) = cs.state.of("TransactionEvent")
    assert started["idToken"]["idToken"] == "LISTED" and started["offline"] is True
    assert started["evse"]["id"] == 2
    enabled = {"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"}}
    got = await cs.send(CID, call.GetVariables(get_variable_data=[enabled]))
    assert got.get_variable_result[0]["attribute_value"] == "true"
    put = await cs.send(
        CID, call.SetVariables(set_variable_data=[{**enabled, "attribute_value": "false"}])
    )
    assert put.set_variable_result[0]["attribute_status"] == "Accepted"
    assert not sim.local_list.enabled(sim.config)
    assert (await cs.send(CID, call.GetLocalListVersion())).version_number == 0
    off = await cs.send(CID, call.SendLocalList(version_number=5, update_type="Full"))
    assert off.status == "Failed"
    await sim.stop()


async def test_a_charger_without_a_local_list(cs: Csms) -> None:
    sim = make(cs, local_list=False)
    await sim.start()
    assert (await cs.send(CID, call.GetLocalListVersion())).version_number == 0
    enabled = {"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"}}
    got = await cs.send(CID, call.GetVariables(get_variable_data=[enabled]))
    assert got.get_variable_result[0]["attribute_status"] == "UnknownComponent"
    with pytest.raises(NotSupportedError):
        await cs.send(CID, call.SendLocalList(version_number=1, update_type="Full"))
    await sim.stop()


# ---------------------------------------------------------------- smart charging


def profile(
    pid: int, purpose: str, limit: int | float, unit: str = "A", **kw: Any
) -> dict[str, Any]:
    return {
        "id": pid,
        "stack_level": kw.pop("stack_level", 0),
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kw.pop(
            "kind", "Absolute" if purpose != "TxProfile" else "Relative"
        ),
        "charging_schedule": [
            {
                "id": pid,
                "charging_rate_unit": unit,
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
                **({"start_schedule": kw.pop("start")} if "start" in kw else {}),
            }
        ],
        **kw,
    }


def offered(event: dict[str, Any]) -> int:
    (value,) = [
        sv["value"]
        for sv in event["meterValue"][0]["sampledValue"]
        if sv["measurand"] == "Current.Offered"
    ]
    return int(value)


async def test_profiles_limit_the_power_and_make_the_composite_schedule(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    got = await cs.send(
        CID,
        call.GetVariables(
            get_variable_data=[
                {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": n}}
                for n in ("Enabled", "RateUnit", "ProfileStackLevel")
            ]
            + [{"component": {"name": "ReservationCtrlr"}, "variable": {"name": "NonEvseSpecific"}}]
        ),
    )
    assert [r["attribute_value"] for r in got.get_variable_result] == ["true", "A,W", "10", "true"]
    await sim.plug_in(1, "RFID-1", EV(capacity_wh=100_000, soc_percent=10))
    conn = sim.connectors[1]
    assert conn.tx is not None and conn.tx.flow.power_w == 11_000  # the car's own limit
    tx_id = conn.tx.record.transaction_id
    start = stamp(sim.clock.now() - timedelta(minutes=1))
    wrong_evse = await cs.send(
        CID,
        call.SetChargingProfile(
            evse_id=1, charging_profile=profile(1, "ChargingStationMaxProfile", 10, start=start)
        ),
    )
    assert wrong_evse.status == "Rejected"  # the station's maximum goes on EVSE 0
    cap = await cs.send(
        CID,
        call.SetChargingProfile(
            evse_id=0, charging_profile=profile(1, "ChargingStationMaxProfile", 10, start=start)
        ),
    )
    assert cap.status == "Accepted"
    assert conn.tx.flow.limit_a == 10 and conn.tx.flow.power_w == 10 * 3 * 230
    no_tx = await cs.send(
        CID, call.SetChargingProfile(evse_id=1, charging_profile=profile(2, "TxProfile", 6))
    )
    assert no_tx.status == "Rejected"  # a TxProfile names its transaction
    other_tx = await cs.send(
        CID,
        call.SetChargingProfile(
            evse_id=1, charging_profile=profile(2, "TxProfile", 6, transaction_id="nope")
        ),
    )
    assert other_tx.status == "Rejected"
    tx = await cs.send(
        CID,
        call.SetChargingProfile(
            evse_id=1, charging_profile=profile(2, "TxProfile", 6, transaction_id=tx_id)
        ),
    )
    assert tx.status == "Accepted"
    assert conn.tx.flow.limit_a == 6 and conn.tx.flow.power_w == 6 * 3 * 230
    external = await cs.send(
        CID,
        call.SetChargingProfile(
            evse_id=0, charging_profile=profile(3, "ChargingStationExternalConstraints", 6)
        ),
    )
    assert external.status == "Rejected"
    amps = await cs.send(CID, call.GetCompositeSchedule(duration=600, evse_id=1))
    assert amps.status == "Accepted"
    assert amps.schedule["evse_id"] == 1 and amps.schedule["duration"] == 600
    assert amps.schedule["charging_rate_unit"] == "A"
    assert amps.schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 6}]
    watts = await cs.send(
        CID, call.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="W")
    )
    assert watts.schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 4140}]
    bad = await cs.send(CID, call.GetCompositeSchedule(duration=600, evse_id=7))
    assert bad.status == "Rejected" and bad.schedule is None
    trig = await cs.send(
        CID, call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1})
    )
    assert trig.status == "Accepted"
    await cs.wait_for(
        lambda: any(e["triggerReason"] == "Trigger" for e in cs.state.of("TransactionEvent"))
    )
    (triggered,) = [e for e in cs.state.of("TransactionEvent") if e["triggerReason"] == "Trigger"]
    assert offered(triggered) == 6  # the limit is what the charger offers on the wire
    cleared = await cs.send(CID, call.ClearChargingProfile(charging_profile_id=2))
    assert cleared.status == "Accepted"
    assert conn.tx.flow.limit_a == 10  # back to the station's maximum
    gone = await cs.send(CID, call.ClearChargingProfile(charging_profile_id=2))
    assert gone.status == "Unknown"
    by_purpose = await cs.send(
        CID,
        call.ClearChargingProfile(
            charging_profile_criteria={"charging_profile_purpose": "ChargingStationMaxProfile"}
        ),
    )
    assert by_purpose.status == "Accepted"
    assert conn.tx.flow.limit_a is None and conn.tx.flow.power_w == 11_000
    await sim.stop()
    assert sim.stats.link.call_errors == 0


async def test_a_remote_start_applies_its_tx_profile(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    await sim.plug_in(1, None, EV(capacity_wh=100_000, soc_percent=10))
    answer = await cs.send(
        CID,
        call.RequestStartTransaction(
            id_token={"id_token": "APP-1", "type": "Central"},
            remote_start_id=3,
            evse_id=1,
            charging_profile=profile(5, "TxProfile", 8),
        ),
    )
    assert answer.status == "Accepted"
    await cs.wait_for(lambda: sim.connectors[1].tx is not None)
    tx = sim.connectors[1].tx
    assert tx is not None and tx.flow.limit_a == 8 and tx.flow.power_w == 8 * 3 * 230
    await sim.unplug(1)
    default = await cs.send(
        CID,
        call.RequestStartTransaction(
            id_token={"id_token": "APP-2", "type": "Central"},
            remote_start_id=4,
            charging_profile=profile(6, "TxDefaultProfile", 8),
        ),
    )
    assert default.status == "Rejected"  # only a TxProfile may come with a start
    await sim.stop()


# ---------------------------------------------------------------- firmware and logs


def fw_statuses(cs: Csms) -> list[tuple[str, int | None]]:
    return [(f["status"], f.get("requestId")) for f in cs.state.of("FirmwareStatusNotification")]


async def test_update_firmware_reports_each_step_with_its_request_id(cs: Csms) -> None:
    sim = make(cs)
    await sim.start()
    far = stamp(sim.clock.now() + timedelta(days=1))
    first = await cs.send(
        CID,
        call.UpdateFirmware(
            request_id=1,
            firmware={"location": "https://fw.test/wallbox-6.5.0.bin", "retrieve_date_time": far},
        ),
    )
    assert first.status == "Accepted"
    await cs.wait_for(lambda: fw_statuses(cs) == [("DownloadScheduled", 1)])
    trig = await cs.send(CID, call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert trig.status == "Accepted"
    await cs.wait_for(lambda: len(fw_statuses(cs)) == 2)
    assert fw_statuses(cs)[1] == ("DownloadScheduled", 1)
    now = stamp(sim.clock.now())
    second = await cs.send(
        CID,
        call.UpdateFirmware(
            request_id=2,
            firmware={
                "location": "https://fw.test/wallbox-6.6.0.bin",
                "retrieve_date_time": now,
                "signature": "c2lnbmF0dXJl",
                "signing_certificate": "-----BEGIN CERTIFICATE-----",
            },
        ),
    )
    assert second.status == "AcceptedCanceled"  # the one waiting is dropped
    await cs.wait_for(lambda: fw_statuses(cs)[-1:] == [("Installed", 2)], timeout=10)
    assert fw_statuses(cs)[2:] == [
        ("Downloading", 2),
        ("Downloaded", 2),
        ("SignatureVerified", 2),
        ("Installing", 2),
        ("InstallRebooting", 2),
        ("Installed", 2),
    ]
    boots = cs.state.of("BootNotification")
    assert [b["reason"] for b in boots] == ["PowerUp", "FirmwareUpdate"]
    assert boots[1]["chargingStation"]["firmwareVersion"] == "6.6.0"
    # Installed comes after the boot of the new firmware
    actions = [
        r.action
        for r in cs.state.received
        if r.action in ("BootNotification", "FirmwareStatusNotification")
    ]
    assert actions[-2:] == ["BootNotification", "FirmwareStatusNotification"]
    assert sim.firmware.installed == ["6.6.0"]
    idle = await cs.send(CID, call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert idle.status == "Accepted"
    await cs.wait_for(lambda: fw_statuses(cs)[-1] == ("Idle", None))
    await sim.stop()
    assert sim.stats.link.call_errors == 0


class Uploads:
    """A tiny HTTP server on loopback that keeps every PUT body (the log's destination)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ")
        length = next(
            int(x.split(":")[1]) for x in lines[1:] if x.lower().startswith("content-length")
        )
        body = await reader.readexactly(length)
        self.bodies.append((f"{method} {path}", body))
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def log_statuses(cs: Csms) -> list[tuple[str, int | None]]:
    return [(f["status"], f.get("requestId")) for f in cs.state.of("LogStatusNotification")]


async def test_get_log_uploads_the_log_and_reports_with_its_request_id(cs: Csms) -> None:
    uploads = Uploads()
    base = await uploads.start()
    sim = make(cs)
    try:
        await sim.start()
        answer = await cs.send(
            CID,
            call.GetLog(
                log={
                    "remote_location": f"{base}/logs/wb",
                    "oldest_timestamp": "2026-12-01T00:00:00Z",
                },
                log_type="DiagnosticsLog",
                request_id=7,
            ),
        )
        assert answer.status == "Accepted" and answer.filename.startswith("WB-201-diagnostics-")
        await cs.wait_for(lambda: log_statuses(cs) == [("Uploading", 7), ("Uploaded", 7)])
        ((what, body),) = uploads.bodies
        assert what == "PUT /logs/wb"
        assert body.startswith(b"charger WB-201") and b"window 2026-12-01T00:00:00Z" in body
        failed = await cs.send(
            CID,
            call.GetLog(
                log={"remote_location": "ftp://logs.test/wb"}, log_type="SecurityLog", request_id=8
            ),
        )
        assert failed.status == "Accepted"
        await cs.wait_for(lambda: log_statuses(cs)[2:] == [("Uploading", 8), ("UploadFailure", 8)])
        idle = await cs.send(CID, call.TriggerMessage(requested_message="LogStatusNotification"))
        assert idle.status == "Accepted"
        await cs.wait_for(lambda: log_statuses(cs)[-1] == ("Idle", None))
        sim.firmware.switches.no_diagnostics = True
        refused = await cs.send(
            CID,
            call.GetLog(
                log={"remote_location": f"{base}/x"}, log_type="DiagnosticsLog", request_id=9
            ),
        )
        assert refused.status == "Rejected"
        await sim.stop()
        assert sim.stats.link.call_errors == 0
    finally:
        await uploads.stop()
