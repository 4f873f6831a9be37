"""OCTT-style Remote Trigger cases: TriggerMessage for every requestedMessage of OCPP 1.6."""

from __future__ import annotations

import asyncio

import pytest

from services import command_catalog
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api

# every requestedMessage the official TriggerMessage schema allows
MESSAGES = command_catalog.find("trigger-message").schema()["properties"]["requestedMessage"][
    "enum"
]


async def _sent(cp: object, action: str, more_than: int) -> None:
    async def wait() -> None:
        while cp.stats.link.answered[action] <= more_than:  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), 10)


@pytest.mark.parametrize("message", MESSAGES)
async def test_tc_054_trigger_message(api: Api, sim: SimFactory, message: str) -> None:
    """Accepted, and then the charger sends the message asked for (and we answer it)."""
    cp = await sim()
    before = cp.stats.link.answered[message]
    payload = {"requestedMessage": message, "connectorId": 1}
    if message in ("BootNotification", "Heartbeat"):
        payload = {"requestedMessage": message}
    answered = await command(api, "trigger-message", payload)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "Accepted"
    assert ("TriggerMessage", payload) in cp.received
    await _sent(cp, message, before)
    audited = await last_audit(api)
    assert audited["action"] == "command.trigger-message"
    assert audited["before"] == {"action": "TriggerMessage", "payload": payload}


async def test_tc_055_trigger_message_rejected(api: Api, sim: SimFactory) -> None:
    cp = await sim(refuse={"TriggerMessage": "Rejected"})
    before = cp.stats.link.answered["Heartbeat"]
    answered = await command(api, "trigger-message", {"requestedMessage": "Heartbeat"})
    assert answered.status_code == 200 and answered.json()["status"] == "Rejected"
    assert cp.received[-1] == ("TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert cp.stats.link.answered["Heartbeat"] == before
    assert (await last_audit(api))["after"] == {"status": "Rejected"}


async def test_trigger_message_not_implemented(api: Api, sim: SimFactory) -> None:
    """Named by behaviour: a charger without the profile answers NotImplemented."""
    await sim(refuse={"TriggerMessage": "NotImplemented"})
    answered = await command(api, "trigger-message", {"requestedMessage": "MeterValues"})
    assert answered.status_code == 200 and answered.json()["status"] == "NotImplemented"
