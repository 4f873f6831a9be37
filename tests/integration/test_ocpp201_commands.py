"""1.6 command names and payloads sent to a 2.0.1 charger, and 2.0.1 ones to a 1.6 charger,
over real WebSockets into the real store (both engines): what the peer receives is its own
version's payload, the caller gets the charger's own answer, and the 1.6 hooks record what a
translated command's answer means as they do for a 1.6 charger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from gateway import schemas
from services.command_catalog import send_by_name
from services.context import Actor
from store.errors import Invalid
from store.firmware_schema import diagnostics_requests
from tests.integration.conftest import Env
from tests.support.ocpp201_client import Charger201
from tests.support.ocpp_client import Charger

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
