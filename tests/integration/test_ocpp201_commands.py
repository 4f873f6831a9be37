"""1.6 command names and payloads sent to a 2.0.1 charger, and 2.0.1 ones to a 1.6 charger,
over real WebSockets into the real store (both engines): what the peer receives is its own
version's payload, the caller gets the charger's own answer, and the 1.6 hooks record what a
translated command's answer means as they do for a 1.6 charger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway import schemas
from services import local_list_job, site_power, smart_charging
from services.command_catalog import send_by_name
from services.context import CLI, Actor
from store import local_lists, reservations
from store.errors import Conflict, Invalid, NotFound
from store.firmware_schema import diagnostics_requests, firmware_requests
from tests.integration.api.conftest import Api, api
from tests.integration.conftest import Env
from tests.support.ocpp201_client import Charger201, energy, meter_value
from tests.support.ocpp_client import Charger, at

__all__ = ["api"]

ACTOR = Actor("test")


@pytest.fixture
async def pair(env: Env) -> AsyncIterator[tuple[Charger201, Charger]]:
    """CP1 speaks 2.0.1, CP2 1.6; both booted."""
    cp = await Charger201.connect201(env.url("CP1"))
    old = await Charger.connect(env.url("CP2"))
    await cp.boot()
    await old.boot()
    yield cp, old
    await cp.close()
    await old.close()


async def _send(env: Env, charger: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await send_by_name(
        env.engine,
        env.gateway.registry,
        ACTOR,
        charger,
        name,
        payload,
        public_url="https://evgate.example",
    )


def _last(cp: Charger) -> tuple[str, dict[str, Any]]:
    action, payload = cp.received_calls[-1]
    version = "v201" if isinstance(cp, Charger201) else "v16"
    schemas.check(version, schemas.request_name(version, action), payload)
    return action, payload


async def test_configuration_both_ways(env: Env, pair: tuple[Charger201, Charger]) -> None:
    cp, old = pair
    hb = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    result = {"attributeStatus": "Accepted", "attributeValue": "300", **hb}
    cp.answers["GetVariables"] = {"getVariableResult": [result]}
    cp.answers["SetVariables"] = {"setVariableResult": [{"attributeStatus": "Accepted", **hb}]}
    answer = await _send(env, "CP1", "get-configuration", {"key": ["HeartbeatInterval"]})
    assert _last(cp) == ("GetVariables", {"getVariableData": [hb]})
    assert answer == cp.answers["GetVariables"]  # the charger's own answer
    await _send(env, "CP1", "change-configuration", {"key": "HeartbeatInterval", "value": "60"})
    assert _last(cp) == ("SetVariables", {"setVariableData": [{"attributeValue": "60", **hb}]})
    with pytest.raises(Invalid, match="'SupportedFeatureProfiles'"):
        await _send(env, "CP1", "get-configuration", {"key": ["SupportedFeatureProfiles"]})
    assert len(cp.received_calls) == 2  # nothing sent for it

    old.answers["GetConfiguration"] = {"configurationKey": []}
    await _send(env, "CP2", "get-variables", {"getVariableData": [hb]})
    assert _last(old) == ("GetConfiguration", {"key": ["HeartbeatInterval"]})
    await _send(env, "CP2", "set-variables", {"setVariableData": [{"attributeValue": "60", **hb}]})
    assert _last(old) == ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"})


async def test_get_diagnostics_is_a_get_log_recorded_as_diagnostics(
    env: Env, pair: tuple[Charger201, Charger]
) -> None:
    cp, old = pair
    cp.answers["GetLog"] = {"status": "Accepted", "filename": "cp1-log.zip"}
    window = {"startTime": "2026-12-01T00:00:00Z", "stopTime": "2026-12-02T00:00:00Z"}
    await _send(env, "CP1", "get-diagnostics", window)  # evgate's own upload URL
    action, sent = _last(cp)
    assert action == "GetLog" and sent["logType"] == "DiagnosticsLog"
    assert sent["requestId"] > 0
    assert sent["log"]["remoteLocation"].startswith("https://evgate.example/upload/diagnostics/")
    assert (sent["log"]["oldestTimestamp"], sent["log"]["latestTimestamp"]) == (
        window["startTime"],
        window["stopTime"],
    )
    async with env.engine.connect() as conn:
        [row] = (await conn.execute(select(diagnostics_requests))).mappings().all()
    assert row["charger_id"] == "CP1" and row["token_digest"] is not None
    assert row["answered_at"] is not None and row["file_name"] == "cp1-log.zip"
    # the upload token is masked in the audit copy of the 2.0.1 payload too
    async with env.engine.connect() as conn:
        audited = await _audited(conn)
    assert audited["action"] == "GetLog"
    assert audited["payload"]["log"]["remoteLocation"].endswith("/upload/diagnostics/***")

    old.answers["GetDiagnostics"] = {"fileName": "cp2.zip"}
    log = {"remoteLocation": "https://logs.example/cp2", "oldestTimestamp": window["startTime"]}
    await _send(env, "CP2", "get-log", {"logType": "DiagnosticsLog", "requestId": 5, "log": log})
    assert _last(old) == (
        "GetDiagnostics",
        {"location": "https://logs.example/cp2", "startTime": window["startTime"]},
    )


async def _audited(conn: Any) -> dict[str, Any]:
    from store.schema import audit_log

    row = (
        (await conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(1)))
        .mappings()
        .one()
    )
    before = row["before"]
    assert isinstance(before, dict)
    return before


def _soon(minutes: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


async def test_reservations_both_ways_recorded(env: Env, pair: tuple[Charger201, Charger]) -> None:
    cp, old = pair
    await cp.status("Available", ts=at(0))
    await old.status("Available", ts=at(0))
    cp.answers["ReserveNow"] = {"status": "Accepted"}
    cp.answers["CancelReservation"] = {"status": "Accepted"}
    expiry = _soon()
    answer = await _send(
        env, "CP1", "reserve-now", {"connectorId": 1, "expiryDate": expiry, "idTag": "TAG1"}
    )
    assert answer == {"status": "Accepted"}
    action, sent = _last(cp)
    assert action == "ReserveNow"
    assert sent == {
        "id": 1,  # evgate's next reservationId, filled in before the translation
        "expiryDateTime": expiry,
        "idToken": {"idToken": "TAG1", "type": "ISO14443"},
        "evseId": 1,
    }
    async with env.engine.connect() as conn:
        row = await reservations.get(conn, "CP1", 1)
    assert row is not None and row["status"] == "Accepted" and row["id_tag"] == "TAG1"
    # the reservation is in force: a second one on the connector is refused before sending
    with pytest.raises(Conflict):
        await _send(
            env, "CP1", "reserve-now", {"connectorId": 1, "expiryDate": expiry, "idTag": "TAG2"}
        )
    # a blocked token is refused as for a 1.6 charger (the 1.6 row's check ran)
    with pytest.raises(Invalid, match="BLOCKED"):
        await _send(
            env, "CP1", "reserve-now", {"connectorId": 1, "expiryDate": expiry, "idTag": "BLOCKED"}
        )
    await _send(env, "CP1", "cancel-reservation", {"reservationId": 1})
    assert _last(cp) == ("CancelReservation", {"reservationId": 1})
    async with env.engine.connect() as conn:
        row = await reservations.get(conn, "CP1", 1)
    assert row is not None and row["cancel_status"] == "Accepted"
    with pytest.raises(NotFound):  # not one evgate sent: refused, as for a 1.6 charger
        await _send(env, "CP1", "cancel-reservation", {"reservationId": 99})

    old.answers["ReserveNow"] = {"status": "Accepted"}
    v201 = {"id": 4, "expiryDateTime": expiry, "idToken": {"idToken": "TAG2", "type": "ISO14443"}}
    await _send(env, "CP2", "reserve-now", v201)
    assert _last(old) == (
        "ReserveNow",
        {"connectorId": 0, "expiryDate": expiry, "idTag": "TAG2", "reservationId": 4},
    )
    async with env.engine.connect() as conn:
        row = await reservations.get(conn, "CP2", 4)
    assert row is not None and row["status"] == "Accepted"


async def test_update_firmware_recorded_and_its_status_followed(
    env: Env, pair: tuple[Charger201, Charger]
) -> None:
    cp, old = pair
    cp.answers["UpdateFirmware"] = {"status": "Accepted"}
    fw = "https://fw.example/6.6.bin"
    await _send(env, "CP1", "update-firmware", {"location": fw, "retries": 2})
    action, sent = _last(cp)
    assert action == "UpdateFirmware" and sent["firmware"]["location"] == fw
    assert sent["retries"] == 2 and sent["requestId"] > 0 and sent["firmware"]["retrieveDateTime"]
    await cp.call(
        "FirmwareStatusNotification", {"status": "Downloading", "requestId": sent["requestId"]}
    )
    async with env.engine.connect() as conn:
        [row] = (await conn.execute(select(firmware_requests))).mappings().all()
    assert (row["charger_id"], row["location"], row["retries"]) == ("CP1", fw, 2)
    assert row["answered_at"] is not None and row["status"] == "Downloading"

    old.answers["UpdateFirmware"] = {}
    when = _soon(0)
    v201 = {"requestId": 3, "firmware": {"location": fw, "retrieveDateTime": when}}
    await _send(env, "CP2", "update-firmware", v201)
    assert _last(old) == ("UpdateFirmware", {"location": fw, "retrieveDate": when})


async def test_the_local_list_job_pushes_to_a_201_charger(
    env: Env, pair: tuple[Charger201, Charger]
) -> None:
    cp, _ = pair
    enabled = {"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"}}
    cp.answers["GetVariables"] = {
        "getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "true", **enabled}]
    }
    cp.answers["SendLocalList"] = {"status": "Accepted"}
    cp.answers["GetLocalListVersion"] = {"versionNumber": 1}
    done = await local_list_job.push(env.engine, env.gateway.registry, CLI, "CP1", probe=True)
    assert done["status"] == "Accepted" and done["version"] == 1
    probe, push = cp.received_calls[-2:]
    assert probe == ("GetVariables", {"getVariableData": [enabled]})
    assert push[0] == "SendLocalList"
    schemas.check("v201", "SendLocalListRequest", push[1])
    assert (push[1]["versionNumber"], push[1]["updateType"]) == (1, "Full")
    tokens = {
        e["idToken"]["idToken"]: e.get("idTokenInfo") for e in push[1]["localAuthorizationList"]
    }
    assert tokens["TAG1"] == {"status": "Accepted"} and tokens["BLOCKED"] == {"status": "Blocked"}
    async with env.engine.connect() as conn:
        row = await local_lists.get(conn, "CP1")
    assert row is not None and row["supported"] is True and row["version"] == 1
    assert set(row["entries"]) == set(tokens) and not row["full_next"]
    # nothing changed: nothing sent
    again = await local_list_job.push(env.engine, env.gateway.registry, CLI, "CP1", probe=True)
    assert again["status"] == "UpToDate" and cp.received_calls[-1] == push
    # the charger says another version than ours: the next update is full
    cp.answers["GetLocalListVersion"] = {"versionNumber": 9}
    await _send(env, "CP1", "get-local-list-version", {})
    assert _last(cp) == ("GetLocalListVersion", {})
    async with env.engine.connect() as conn:
        row = await local_lists.get(conn, "CP1")
    assert row is not None and row["full_next"]


async def test_a_201_charger_without_a_local_list_is_left_alone(
    env: Env, pair: tuple[Charger201, Charger]
) -> None:
    cp, _ = pair
    enabled = {"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"}}
    cp.answers["GetVariables"] = {
        "getVariableResult": [{"attributeStatus": "UnknownComponent", **enabled}]
    }
    done = await local_list_job.push(env.engine, env.gateway.registry, CLI, "CP1", probe=True)
    assert done == {"charger_id": "CP1", "status": "NotSupported", "sent": False}
    assert [a for a, _ in cp.received_calls] == ["GetVariables"]


async def test_site_power_shares_reach_a_201_session(
    env: Env, pair: tuple[Charger201, Charger]
) -> None:
    cp, _ = pair
    cp.answers["SetChargingProfile"] = {"status": "Accepted"}
    cp.answers["ClearChargingProfile"] = {"status": "Accepted"}
    await cp.event(
        "Started",
        "tx-7",
        at(0),
        trigger="Authorized",
        charging_state="Charging",
        id_tag="TAG1",
        meter=[meter_value(at(0), energy(1000, "Transaction.Begin"))],
    )
    [session] = await env.sessions()
    async with env.engine.begin() as conn:
        await site_power.set_power_limit(conn, CLI, "S1", 11000)
    [share] = await site_power.reshare(env.engine, env.gateway.registry, "S1", 5)
    assert share["status"] == "Accepted" and share["limit_w"] == 11000
    action, sent = _last(cp)
    profile_id = smart_charging.share_profile_id(session["id"])
    assert action == "SetChargingProfile"
    assert sent == {
        "evseId": 1,
        "chargingProfile": {
            "id": profile_id,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "transactionId": "tx-7",  # the charger's own id of the session
            "chargingSchedule": [
                {
                    "id": profile_id,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
                }
            ],
        },
    }
    [kept] = await smart_charging.in_force(env.engine, CLI, "CP1")
    assert kept["site_share"] and kept["transaction_id"] == session["id"]
    # the same share again: nothing sent (the stored share says it is in force)
    assert await site_power.reshare(env.engine, env.gateway.registry, "S1", 5) == []
    async with env.engine.begin() as conn:
        await site_power.set_power_limit(conn, CLI, "S1", None)
    [cleared] = await site_power.reshare(env.engine, env.gateway.registry, "S1", 5)
    assert cleared["status"] == "Accepted"
    assert _last(cp) == ("ClearChargingProfile", {"chargingProfileId": profile_id})
    assert await smart_charging.in_force(env.engine, CLI, "CP1") == []
    cp.answers["GetCompositeSchedule"] = {"status": "Rejected"}
    answer = await _send(env, "CP1", "get-composite-schedule", {"connectorId": 1, "duration": 60})
    assert answer == {"status": "Rejected"}
    assert _last(cp) == ("GetCompositeSchedule", {"evseId": 1, "duration": 60})


async def test_a_201_station_max_profile_to_a_16_charger(
    env: Env, pair: tuple[Charger201, Charger]
) -> None:
    _, old = pair
    old.answers["SetChargingProfile"] = {"status": "Accepted"}
    schedule = {
        "id": 1,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
    }
    profile = {
        "id": 5,
        "stackLevel": 1,
        "chargingProfilePurpose": "ChargingStationMaxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [{**schedule, "startSchedule": "2026-12-01T00:00:00Z"}],
    }
    await _send(env, "CP2", "set-charging-profile", {"evseId": 0, "chargingProfile": profile})
    action, sent = _last(old)
    assert action == "SetChargingProfile"
    assert sent["connectorId"] == 0
    assert sent["csChargingProfiles"]["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert sent["csChargingProfiles"]["chargingSchedule"] == {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        "startSchedule": "2026-12-01T00:00:00Z",
    }
    [kept] = await smart_charging.in_force(env.engine, CLI, "CP2")
    assert (kept["profile_id"], kept["purpose"]) == (5, "ChargePointMaxProfile")


async def test_the_api_sends_16_names_and_short_routes_to_a_201_charger(api: Api) -> None:
    cp = await Charger201.connect201(api.env.url("CP1"))
    try:
        await cp.boot()
        hb = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
        got = {"attributeStatus": "Accepted", "attributeValue": "300", **hb}
        cp.answers["GetVariables"] = {"getVariableResult": [got]}
        base = "/api/v1/chargers/CP1/commands"
        answered = await api.call(
            "admin", "POST", f"{base}/get-configuration", {"key": ["HeartbeatInterval"]}
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["answer"] == {"getVariableResult": [got]}  # the charger's own
        assert cp.received_calls[-1] == ("GetVariables", {"getVariableData": [hb]})
        unknown = await api.call("admin", "POST", f"{base}/get-configuration", {"key": ["Nope"]})
        assert unknown.status_code == 422 and "'Nope'" in unknown.json()["detail"]
        # the short routes' 1.6 values reach a 2.0.1 charger in its own terms
        assert (await api.call("admin", "POST", f"{base}/reset", {"type": "Hard"})).is_success
        assert cp.received_calls[-1] == ("Reset", {"type": "Immediate"})
        unlocked = await api.call("admin", "POST", f"{base}/unlock", {"connector_id": 2})
        assert unlocked.json()["status"] == "Unlocked"
        assert cp.received_calls[-1] == ("UnlockConnector", {"evseId": 2, "connectorId": 1})
        entries = (await api.call("admin", "GET", "/api/v1/audit?limit=1")).json()
        assert entries[0]["action"] == "command.unlock"
    finally:
        await cp.close()
