"""Reservations through the API and the gateway, with a raw charger: what is refused before
anything is sent, what is stored, and how a reservation in force answers StartTransaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from store import admin
from store.schema import reservations
from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger

PATH = "/api/v1/chargers/CP1/commands"


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


@pytest.fixture
async def cp(api: Api) -> AsyncIterator[Charger]:
    """CP1 booted, connectors 1 and 2 reported, answering ReserveNow and CancelReservation
    Accepted."""
    charger = await Charger.connect(api.env.url("CP1"))
    charger.answers["ReserveNow"] = {"status": "Accepted"}
    charger.answers["CancelReservation"] = {"status": "Accepted"}
    await charger.boot()
    await charger.status("Available", 1)
    await charger.status("Available", 2)
    yield charger
    await charger.close()


async def _reserve(api: Api, **body: Any) -> Any:
    payload = {"connectorId": 1, "idTag": "TAG1", "expiryDate": _in(600), **body}
    return await api.call("admin", "POST", f"{PATH}/reserve-now", payload)


async def _rows(api: Api, query: str = "") -> list[dict[str, Any]]:
    answered = await api.call("admin", "GET", f"/api/v1/chargers/CP1/reservations{query}")
    assert answered.status_code == 200, answered.text
    rows: list[dict[str, Any]] = answered.json()
    return rows


def _reserve_calls(cp: Charger) -> list[dict[str, Any]]:
    return [p for a, p in cp.received_calls if a == "ReserveNow"]


async def test_reservation_ids_are_given_per_charger_and_stored(api: Api, cp: Charger) -> None:
    first = await _reserve(api)
    assert first.status_code == 200, first.text
    assert first.json()["request"]["reservationId"] == 1
    second = await _reserve(api, connectorId=2, idTag="TAG2", parentIdTag="FLEET")
    assert second.json()["request"]["reservationId"] == 2
    assert [p["reservationId"] for p in _reserve_calls(cp)] == [1, 2]
    rows = await _rows(api)
    assert [(r["reservation_id"], r["connector_id"], r["id_tag"]) for r in rows] == [
        (2, 2, "TAG2"),
        (1, 1, "TAG1"),
    ]
    assert rows[0]["parent_id_tag"] == "FLEET" and rows[0]["state"] == "active"
    assert rows[0]["answered_at"] is not None
    # a given id is used as given; the next free one follows the highest
    given = await _reserve(api, connectorId=0, reservationId=40)
    assert given.json()["request"]["reservationId"] == 40
    cancelled = await api.call("admin", "POST", f"{PATH}/cancel-reservation", {"reservationId": 1})
    assert cancelled.json()["status"] == "Accepted"
    assert (await _reserve(api)).json()["request"]["reservationId"] == 41
    assert [r["reservation_id"] for r in await _rows(api, "?state=active")] == [41, 40, 2]
    assert [r["reservation_id"] for r in await _rows(api, "?state=cancelled")] == [1]


async def test_what_evgate_can_tell_is_wrong_is_never_sent(api: Api, cp: Charger) -> None:
    before = await api.audit_count()
    blocked = await _reserve(api, idTag="BLOCKED")
    assert blocked.status_code == 422 and "Blocked" in blocked.json()["detail"]
    no_connector = await _reserve(api, connectorId=7)
    assert no_connector.status_code == 422 and "connectorId 7" in no_connector.json()["detail"]
    past = await _reserve(api, expiryDate=_in(-60))
    assert past.status_code == 422 and "not in the future" in past.json()["detail"]
    garbled = await _reserve(api, expiryDate="next tuesday")
    assert garbled.status_code == 422 and "expiryDate" in garbled.json()["detail"]
    huge = await _reserve(api, reservationId=2**31)
    assert huge.status_code == 422 and "reservationId" in huge.json()["detail"]
    missing = await api.call("admin", "POST", f"{PATH}/reserve-now", {"connectorId": 1})
    assert missing.status_code == 422 and "idTag" in missing.json()["detail"]
    viewer = await api.call("viewer", "POST", f"{PATH}/reserve-now", {})
    assert viewer.status_code == 403
    assert _reserve_calls(cp) == []
    assert await api.audit_count() == before
    assert await _rows(api) == []

    assert (await _reserve(api)).status_code == 200
    taken = await _reserve(api, idTag="TAG2")
    assert taken.status_code == 409 and "connector 1" in taken.json()["detail"]
    assert "reservation 1" in taken.json()["detail"]
    unknown = await api.call("admin", "POST", f"{PATH}/cancel-reservation", {"reservationId": 99})
    assert unknown.status_code == 404 and "99" in unknown.json()["detail"]
    assert len(_reserve_calls(cp)) == 1


async def test_a_reservation_id_is_sent_again_only_while_it_can_mean_the_same(
    api: Api, cp: Charger
) -> None:
    """Refused or active: sending the id again replaces (the charger's rule), so a retry is
    safe. Used, cancelled or expired: a new reservation needs a new id."""
    cp.answers["ReserveNow"] = {"status": "Occupied"}
    assert (await _reserve(api, reservationId=5)).json()["status"] == "Occupied"
    cp.answers["ReserveNow"] = {"status": "Accepted"}
    again = await _reserve(api, reservationId=5, idTag="TAG2")
    assert again.json()["status"] == "Accepted"
    [row] = await _rows(api)
    assert (row["state"], row["id_tag"]) == ("active", "TAG2")
    moved = await _reserve(api, reservationId=5, connectorId=2)  # a replacement moves it
    assert moved.status_code == 200
    [row] = await _rows(api)
    assert (row["connector_id"], row["id_tag"]) == (2, "TAG1")
    await api.call("admin", "POST", f"{PATH}/cancel-reservation", {"reservationId": 5})
    reused = await _reserve(api, reservationId=5)
    assert reused.status_code == 409 and "cancelled" in reused.json()["detail"]


async def test_another_tag_is_invalid_on_a_reserved_connector(api: Api, cp: Charger) -> None:
    await _reserve(api)  # connector 1 for TAG1
    t0 = datetime.now(UTC)
    other = await cp.start("TAG2", 1000, t0, connector=1)
    assert other["idTagInfo"]["status"] == "Invalid"
    elsewhere = await cp.start("TAG2", 1000, t0, connector=2)  # connector 2 is not reserved
    assert elsewhere["idTagInfo"]["status"] == "Accepted"
    [row] = await _rows(api)
    assert row["state"] == "active"
    sessions = {s["id"]: s for s in await api.env.sessions()}
    refused = sessions[other["transactionId"]]
    assert refused["auth_status"] == "Invalid" and "reserved_for_other:1" in refused["flags"]

    mine = await cp.start("TAG1", 2000, t0 + timedelta(seconds=1), connector=1)
    assert mine["idTagInfo"]["status"] == "Accepted"
    [row] = await _rows(api)
    assert row["state"] == "used" and row["session_id"] == mine["transactionId"]
    replay = await cp.start("TAG1", 2000, t0 + timedelta(seconds=1), connector=1)
    assert replay == mine  # a replayed start changes nothing
    session = {s["id"]: s for s in await api.env.sessions()}[mine["transactionId"]]
    assert session["reservation_id"] == 1  # found by its tag: the charger sent none
    # used: the connector is free for anyone again
    after = await cp.start("TAG2", 3000, t0 + timedelta(seconds=2), connector=1)
    assert after["idTagInfo"]["status"] == "Accepted"


async def test_a_blocked_tag_stays_blocked_on_its_own_reservation(api: Api, cp: Charger) -> None:
    await _reserve(api, idTag="TAG2")
    async with api.env.engine.begin() as conn:
        await admin.set_token_state(conn, "S1", "TAG2", "blocked")
    answered = await cp.start("TAG2", 1000, datetime.now(UTC), connector=1)
    assert answered["idTagInfo"]["status"] == "Blocked"


async def test_reservation_id_and_connector_zero(api: Api, cp: Charger) -> None:
    """A start carrying the reservationId takes it (a parent idTag lets the charger vouch for
    another tag); a connector-0 reservation is taken by its tag on any connector and refuses
    no other tag."""
    zero = (await _reserve(api, connectorId=0)).json()["request"]["reservationId"]
    fleet = await _reserve(api, connectorId=2, idTag="TAG2", parentIdTag="FLEET")
    fleet_id = fleet.json()["request"]["reservationId"]
    t0 = datetime.now(UTC)
    other = await cp.start("GUEST", 1000, t0, connector=1)
    assert other["idTagInfo"]["status"] == "Accepted"
    child = await cp.call(
        "StartTransaction",
        {
            "connectorId": 2,
            "idTag": "TAG3",
            "meterStart": 1000,
            "timestamp": t0.isoformat(),
            "reservationId": fleet_id,
        },
    )
    assert child["idTagInfo"]["status"] == "Accepted"
    by_id = {r["reservation_id"]: r for r in await _rows(api)}
    assert by_id[fleet_id]["state"] == "used"
    assert by_id[fleet_id]["session_id"] == child["transactionId"]
    assert by_id[zero]["state"] == "active"
    mine = await cp.start("TAG1", 5000, t0 + timedelta(seconds=1), connector=1)
    assert mine["idTagInfo"]["status"] == "Accepted"
    by_id = {r["reservation_id"]: r for r in await _rows(api)}
    assert by_id[zero]["state"] == "used" and by_id[zero]["session_id"] == mine["transactionId"]


async def test_an_expired_reservation_holds_nothing(api: Api, cp: Charger) -> None:
    await _reserve(api)
    async with api.env.engine.begin() as conn:
        await conn.execute(
            update(reservations).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    [row] = await _rows(api)
    assert row["state"] == "expired"
    answered = await cp.start("TAG2", 1000, datetime.now(UTC), connector=1)
    assert answered["idTagInfo"]["status"] == "Accepted"
    reused = await _reserve(api, reservationId=1)
    assert reused.status_code == 409 and "expired" in reused.json()["detail"]
    assert (await _reserve(api)).json()["request"]["reservationId"] == 2  # connector free


async def test_an_unanswered_reserve_now_stays_pending_and_may_be_sent_again(
    api: Api, cp: Charger
) -> None:
    cp._reader.cancel()  # connected, and silent: the API times out
    silent = await _reserve(api)
    assert silent.status_code == 504
    [row] = await _rows(api)
    assert (row["reservation_id"], row["state"], row["status"]) == (1, "pending", None)
    await cp.ws.close()
    again = await Charger.connect(api.env.url("CP1"))
    again.answers["ReserveNow"] = {"status": "Accepted"}
    await again.boot()
    retried = await _reserve(api, reservationId=1)
    assert retried.json()["status"] == "Accepted"
    [row] = await _rows(api)
    assert (row["state"], row["status"]) == ("active", "Accepted")
    await again.close()


async def test_start_reads_reservations_once_and_meter_values_never(api: Api, cp: Charger) -> None:
    """The hot path: one indexed read of reservations per StartTransaction (shared by the
    starts of one group commit), none for MeterValues."""
    await _reserve(api)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "reservations" in statement:
            statements.append(statement.split()[0].upper())

    sync_engine = api.env.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        started = await cp.start("TAG2", 1000, datetime.now(UTC), connector=2)
        assert statements == ["SELECT"]
        statements.clear()
        await cp.meter(started["transactionId"], datetime.now(UTC), "1500", connector=2)
        await cp.meter(None, datetime.now(UTC), "1600", connector=2)
        assert statements == []
        await cp.start("TAG1", 1000, datetime.now(UTC), connector=1)
        assert statements == ["SELECT", "UPDATE"]  # read, and mark used
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
