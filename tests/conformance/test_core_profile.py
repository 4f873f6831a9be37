"""OCTT-style Core profile cases, central system side: the API sends, the simulator answers.

Each case checks what the charger received, what the API answered and what was audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select

from store.schema import data_transfers
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger


async def test_tc_019_1_retrieve_all_configuration_keys(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    answered = await command(api, "get-configuration", {})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["charger_id"] == "CP1" and body["command"] == "get-configuration"
    keys = {k["key"]: k for k in body["answer"]["configurationKey"]}
    assert "Core" in keys["SupportedFeatureProfiles"]["value"].split(",")
    assert keys["SupportedFeatureProfiles"]["readonly"] is True
    assert keys["HeartbeatInterval"]["readonly"] is False
    assert "unknownKey" not in body["answer"]
    assert cp.received[-1] == ("GetConfiguration", {})
    audited = await last_audit(api)
    assert audited["action"] == "command.get-configuration"
    assert audited["after"] == body["answer"]


async def test_tc_019_2_retrieve_specific_configuration_key(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    wanted = {"key": ["HeartbeatInterval", "NoSuchKey"]}
    answer = (await command(api, "get-configuration", wanted)).json()["answer"]
    assert [k["key"] for k in answer["configurationKey"]] == ["HeartbeatInterval"]
    assert answer["unknownKey"] == ["NoSuchKey"]
    assert cp.received[-1] == ("GetConfiguration", wanted)


async def test_tc_021_change_configuration(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    changes = {
        ("MeterValueSampleInterval", "30"): "Accepted",
        ("NumberOfConnectors", "4"): "Rejected",  # read-only
        ("WebSocketPingInterval", "60"): "RebootRequired",
        ("NoSuchKey", "1"): "NotSupported",
    }
    for (key, value), expected in changes.items():
        answered = await command(api, "change-configuration", {"key": key, "value": value})
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == expected, key
        assert cp.received[-1] == ("ChangeConfiguration", {"key": key, "value": value})
        audited = await last_audit(api)
        assert audited["action"] == "command.change-configuration"
        assert audited["before"]["payload"] == {"key": key, "value": value}
        assert audited["after"] == {"status": expected}
    read = (await command(api, "get-configuration", {"key": ["MeterValueSampleInterval"]})).json()
    assert read["answer"]["configurationKey"][0]["value"] == "30"


async def test_tc_061_clear_authorization_cache(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    answered = await command(api, "clear-cache", {})
    assert answered.status_code == 200 and answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("ClearCache", {})
    assert (await last_audit(api))["action"] == "command.clear-cache"


async def test_clear_cache_rejected_by_the_charger(api: Api, sim: SimFactory) -> None:
    """Not an OCTT case: the Rejected answer comes back as the charger gave it."""
    await sim(refuse={"ClearCache": "Rejected"})
    answered = await command(api, "clear-cache", {})
    assert answered.status_code == 200 and answered.json()["answer"] == {"status": "Rejected"}


async def test_data_transfer_to_the_charge_point(api: Api, sim: SimFactory) -> None:
    """Named by behaviour: the central system's own DataTransfer.req to a charger."""
    cp = await sim()
    known = {"vendorId": "com.wallbox", "messageId": "ping", "data": "42"}
    answered = (await command(api, "data-transfer", known)).json()
    assert answered["answer"] == {"status": "Accepted", "data": "42"}
    unknown = (await command(api, "data-transfer", {"vendorId": "org.other"})).json()
    assert unknown["status"] == "UnknownVendorId"
    assert cp.received[-1] == ("DataTransfer", {"vendorId": "org.other"})


async def test_tc_064_data_transfer_to_a_central_system(api: Api) -> None:
    """A vendor the central system does not know is answered UnknownVendorId (and kept)."""
    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    unknown = await cp.call("DataTransfer", {"vendorId": "org.unknown", "messageId": "x"})
    assert unknown["status"] == "UnknownVendorId"
    known = await cp.call("DataTransfer", {"vendorId": "com.wallbox", "data": "{}"})
    assert known["status"] == "Accepted"
    async with api.env.engine.connect() as conn:
        vendors = (await conn.execute(select(data_transfers.c.vendor_id))).scalars()
        assert sorted(vendors) == ["com.wallbox", "org.unknown"]
    await cp.close()


async def test_tc_013_hard_reset_without_transaction(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    boots = cp.stats.link.answered["BootNotification"]
    answered = await command(api, "reset", {"type": "Hard"})
    assert answered.status_code == 200 and answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("Reset", {"type": "Hard"})
    await cp.wait_ready()
    await _until(lambda: cp.stats.link.answered["BootNotification"] > boots)


async def test_tc_017_unlock_connector_by_name(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    answered = await command(api, "unlock-connector", {"connectorId": 1})
    assert answered.json()["status"] == "Unlocked"
    assert cp.received[-1] == ("UnlockConnector", {"connectorId": 1})
    assert (await last_audit(api))["action"] == "command.unlock-connector"


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)
