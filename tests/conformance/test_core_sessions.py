"""OCTT-style Core cases about booting and charging sessions, central system side.

The simulator runs a real session over its socket (a virtual clock at 600x, so a half-hour
session takes three seconds); each case checks what the charger was told and what was stored,
read back through the public API as an operator would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from simulators import EV, VirtualClock
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def _sessions(api: Api) -> list[dict[str, Any]]:
    """CP1's sessions started by the simulator (the seed's own session has tag TAG1 at T0)."""
    rows = (await api.call("admin", "GET", "/api/v1/sessions?charger_id=CP1")).json()
    return [r for r in rows if r["id"] != api.seeded["session"]]


async def test_tc_001_cold_boot_charge_point(api: Api, sim: SimFactory) -> None:
    cp = await sim(heartbeat_s=7)
    assert cp.registration == "Accepted" and cp.stats.boots == 1
    # the simulator takes the interval from the gateway's answer
    assert cp.config.int("HeartbeatInterval") == api.env.gateway.adapter.heartbeat_interval
    charger = (await api.call("admin", "GET", "/api/v1/chargers/CP1")).json()
    assert charger["online"] is True
    assert charger["firmware"] == cp.spec.firmware


async def test_tc_003_regular_charging_session_plug_in_first(api: Api, sim: SimFactory) -> None:
    cp = await sim(clock=VirtualClock(600), sample_interval_s=60)
    record = await cp.charge(1, "TAG1", EV(), duration_s=1800)
    assert record is not None and record.transaction_id is not None
    await _until(lambda: cp.stats.link.answered["StopTransaction"] >= 1)
    [stored] = await _sessions(api)
    assert stored["id"] == record.transaction_id
    assert stored["id_tag"] == "TAG1" and stored["stopped_at"] is not None
    assert stored["energy_wh"] == record.meter_stop - record.meter_start > 0


async def test_tc_004_1_regular_charging_session_identification_first(
    api: Api, sim: SimFactory
) -> None:
    cp = await sim(clock=VirtualClock(600))
    authorize = await cp._call_now("Authorize", {"idTag": "TAG1"})
    assert authorize is not None and authorize["idTagInfo"]["status"] == "Accepted"
    record = await cp.charge(1, "TAG1", EV(), duration_s=900)
    assert record is not None
    await _until(lambda: cp.stats.link.answered["StopTransaction"] >= 1)
    [stored] = await _sessions(api)
    assert stored["id_tag"] == "TAG1" and stored["energy_wh"] > 0


async def test_tc_010_remote_start_cable_plugged_in_first(api: Api, sim: SimFactory) -> None:
    cp = await sim(clock=VirtualClock(600))
    await cp.plug_in(1)
    answered = await command(api, "remote-start-transaction", {"idTag": "TAG1", "connectorId": 1})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 1})
    await cp.wait_status(1, "Charging")
    await _until(lambda: cp.stats.link.answered["StartTransaction"] >= 1)
    [stored] = await _sessions(api)
    assert stored["id_tag"] == "TAG1" and stored["stopped_at"] is None
    assert (await last_audit(api))["action"] == "command.remote-start-transaction"


async def test_tc_012_remote_stop_transaction(api: Api, sim: SimFactory) -> None:
    cp = await sim(clock=VirtualClock(600))
    record = await cp.plug_in(1, "TAG1")
    assert record is not None
    await _until(lambda: record.transaction_id is not None)
    answered = await command(
        api, "remote-stop-transaction", {"transactionId": record.transaction_id}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "Accepted"
    await _until(lambda: cp.stats.link.answered["StopTransaction"] >= 1)
    [stored] = await _sessions(api)
    assert stored["stopped_at"] is not None and stored["stop_reason"] == "Remote"


async def test_tc_014_soft_reset_without_transaction(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    boots = cp.stats.link.answered["BootNotification"]
    answered = await command(api, "reset", {"type": "Soft"})
    assert answered.status_code == 200 and answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("Reset", {"type": "Soft"})
    await _until(lambda: cp.stats.link.answered["BootNotification"] > boots)
    await cp.wait_ready()
    assert (await api.call("admin", "GET", "/api/v1/chargers/CP1")).json()["online"] is True
