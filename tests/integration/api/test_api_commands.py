"""Remote commands through the API to a real test charger, and the live charger view."""

from __future__ import annotations

import asyncio

from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger, at


async def test_remote_stop_reaches_the_charger_and_ends_its_session(api: Api) -> None:
    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    await cp.status("Charging")
    tx = (await cp.start("TAG1", 100, at(0)))["transactionId"]

    live = (await api.call("viewer", "GET", "/api/v1/chargers/CP1")).json()
    assert live["online"] is True and live["last_boot_at"] is not None
    assert live["connectors"][0]["status"] == "Charging"
    assert [s["id"] for s in live["open_sessions"]] == [tx]

    stopped = await api.call("admin", "POST", "/api/v1/chargers/CP1/commands/remote-stop", {})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "Accepted"
    assert ("RemoteStopTransaction", {"transactionId": tx}) in cp.received_calls
    # the charger does what a real one does after accepting: it stops the transaction
    await cp.stop(tx, 2100, at(15), reason="Remote")

    session = (await api.call("viewer", "GET", f"/api/v1/sessions/{tx}")).json()
    assert session["stopped_at"] is not None and session["stop_reason"] == "Remote"
    assert session["energy_wh"] == 2000
    after = (await api.call("viewer", "GET", "/api/v1/chargers/CP1")).json()
    assert after["open_sessions"] == []
    nothing = await api.call("admin", "POST", "/api/v1/chargers/CP1/commands/remote-stop", {})
    assert nothing.status_code == 409 and "no running session" in nothing.json()["detail"]
    entries = (await api.call("admin", "GET", "/api/v1/audit?limit=1")).json()
    assert entries[0]["action"] == "command.remote-stop" and entries[0]["after"] == {
        "status": "Accepted"
    }
    await cp.close()


async def test_the_charger_answer_comes_back_and_silence_is_a_504(api: Api) -> None:
    offline = await api.call(
        "admin", "POST", "/api/v1/chargers/CP2/commands/reset", {"type": "Hard"}
    )
    assert offline.status_code == 409 and "not connected" in offline.json()["detail"]
    cp = await Charger.connect(api.env.url("CP2"))
    await cp.boot()
    started = await api.call(
        "admin",
        "POST",
        "/api/v1/chargers/CP2/commands/remote-start",
        {"id_tag": "TAG1", "connector_id": 1},
    )
    assert started.status_code == 200 and started.json()["status"] == "Accepted"
    assert cp.received_calls[-1] == ("RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 1})
    cp.answers["Reset"] = {"status": "Rejected"}
    refused = await api.call(
        "admin", "POST", "/api/v1/chargers/CP2/commands/reset", {"type": "Hard"}
    )
    assert refused.status_code == 200 and refused.json()["answer"] == {"status": "Rejected"}
    cp.answers["UnlockConnector"] = {"status": "Unlocked"}
    unlocked = await api.call(
        "admin", "POST", "/api/v1/chargers/CP2/commands/unlock", {"connector_id": 1}
    )
    assert unlocked.json()["status"] == "Unlocked"
    cp.answers["ChangeAvailability"] = {"status": "Scheduled"}
    availability = await api.call(
        "admin",
        "POST",
        "/api/v1/chargers/CP2/commands/change-availability",
        {"connector_id": 0, "type": "Inoperative"},
    )
    assert availability.json()["status"] == "Scheduled"
    assert cp.received_calls[-1] == (
        "ChangeAvailability",
        {"connectorId": 0, "type": "Inoperative"},
    )
    triggered = await api.call(
        "admin", "POST", "/api/v1/chargers/CP2/commands/trigger", {"message": "Heartbeat"}
    )
    assert triggered.json()["status"] == "Accepted"
    bad = await api.call(
        "admin", "POST", "/api/v1/chargers/CP2/commands/reset", {"type": "Sideways"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "body.type"

    cp._reader.cancel()  # the charger stops answering
    await asyncio.sleep(0)
    silent = await api.call(
        "admin", "POST", "/api/v1/chargers/CP2/commands/reset", {"type": "Soft"}
    )
    assert silent.status_code == 504 and "did not answer" in silent.json()["detail"]
    await cp.ws.close()
