"""Values the OCPP schema allows but no meter, connector or clock can mean.

Each gets a CallError that says what is wrong, or is accepted and flagged; never an
InternalError (which asks the charger to send it again, for ever), and the connection carries on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Env
from tests.support.ocpp_client import Charger

BIG = 2**63
START = {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": "2026-10-01T08:00:00Z"}


async def _answer(cp: Charger, action: str, payload: dict[str, Any], mid: str) -> list[Any]:
    answer = await cp.send_raw(json.dumps([2, mid, action, payload]), mid)
    assert answer is not None, f"{action} {payload} got no answer"
    return answer


def _not_internal(answer: list[Any]) -> None:
    assert answer[0] == 3 or answer[2] != "InternalError", answer


BAD_CALLS = [
    ("BootNotification", {"chargePointVendor": "\u0000", "chargePointModel": "PLP1"}),
    ("StartTransaction", {**START, "idTag": "TAG\u0000"}),
    ("DataTransfer", {"vendorId": "com.wallbox", "data": "a\u0000b"}),
    ("StartTransaction", {**START, "connectorId": BIG}),
    ("StartTransaction", {**START, "connectorId": 2**31}),
    ("StartTransaction", {**START, "meterStart": BIG}),
    ("StartTransaction", {**START, "reservationId": BIG}),
    ("StartTransaction", {**START, "timestamp": "0001-01-01T00:00:00+14:00"}),
    ("StartTransaction", {**START, "timestamp": "9999-12-31T23:59:59-14:00"}),
    ("StatusNotification", {"connectorId": BIG, "errorCode": "NoError", "status": "Available"}),
    (
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": "9999-12-31T23:59:59-14:00",
        },
    ),
    (
        "StopTransaction",
        {"transactionId": BIG, "meterStop": 5, "timestamp": "2026-10-01T09:00:00Z"},
    ),
    ("MeterValues", {"connectorId": 1, "transactionId": BIG, "meterValue": []}),
    (
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {"timestamp": "0001-01-01T00:00:00+14:00", "sampledValue": [{"value": "1"}]}
            ],
        },
    ),
]


@pytest.mark.parametrize(("action", "payload"), BAD_CALLS, ids=lambda v: str(v)[:40])
async def test_values_storage_cannot_hold_get_a_clear_answer(
    env: Env, action: str, payload: dict[str, Any]
) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    answer = await _answer(cp, action, payload, "bad")
    _not_internal(answer)
    if answer[0] == 4:
        assert answer[3], answer  # a description saying what is wrong
    assert "currentTime" in await cp.call("Heartbeat", {})
    await cp.close()


@pytest.mark.parametrize("value", ["1e16", "1e30", "1e400", "9" * 30, "-1e30"])
async def test_absurd_register_values_are_answered_and_the_session_goes_on(
    env: Env, value: str
) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    started = await cp.call("StartTransaction", START)
    tx = started["transactionId"]
    mv = {
        "connectorId": 1,
        "transactionId": tx,
        "meterValue": [{"timestamp": "2026-10-01T08:30:00Z", "sampledValue": [{"value": value}]}],
    }
    _not_internal(await _answer(cp, "MeterValues", mv, "mv"))
    stop = {
        "transactionId": tx,
        "meterStop": 3000,
        "timestamp": "2026-10-01T09:00:00Z",
        "transactionData": mv["meterValue"],
    }
    _not_internal(await _answer(cp, "StopTransaction", stop, "stop"))
    (session,) = await env.sessions()
    assert session["stopped_at"] is not None and session["energy_wh"] == 2000
    await cp.close()
