"""OCTT-style Reservation profile cases, central system side: the API reserves and cancels,
the simulator answers as a charger would, the gateway holds reserved connectors.

Each case checks what the charger received, what the API answered, what was stored (the
charger's reservations, GET /api/v1/chargers/{id}/reservations) and what was audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from simulators.charger import SimCharger
from simulators.physics import EV
from store.schema import connectors
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def _booted(api: Api, sim: SimFactory, **options: Any) -> SimCharger:
    """A simulator whose connector 1 evgate has heard of (its first StatusNotification)."""
    cp: SimCharger = await sim(**options)
    for _ in range(500):
        async with api.env.engine.connect() as conn:
            found = await conn.execute(
                select(connectors.c.status).where(
                    connectors.c.charger_id == "CP1", connectors.c.connector_id == 1
                )
            )
            if found.first() is not None:
                return cp
        await asyncio.sleep(0.02)
    raise AssertionError("connector 1 never reported")


async def _reservations(api: Api) -> list[dict[str, Any]]:
    answered = await api.call("admin", "GET", "/api/v1/chargers/CP1/reservations")
    assert answered.status_code == 200, answered.text
    rows: list[dict[str, Any]] = answered.json()
    return rows


async def _reserve(api: Api, connector: int = 1, tag: str = "TAG1", seconds: float = 600) -> Any:
    body = {"connectorId": connector, "idTag": tag, "expiryDate": _in(seconds)}
    answered = await command(api, "reserve-now", body)
    assert answered.status_code == 200, answered.text
    return answered.json()


async def test_tc_046_reserve_a_connector_and_charge(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim)
    body = await _reserve(api)
    assert body["status"] == "Accepted"
    reservation_id = body["request"]["reservationId"]  # evgate gave it: the charger's first
    assert reservation_id == 1
    assert cp.received[-1] == ("ReserveNow", body["request"])
    await cp.wait_status(1, "Reserved")
    [row] = await _reservations(api)
    assert (row["reservation_id"], row["state"], row["status"]) == (1, "active", "Accepted")
    audited = await last_audit(api)
    assert audited["action"] == "command.reserve-now"
    assert audited["before"]["payload"]["reservationId"] == 1

    record = await cp.charge(1, "TAG1", EV(soc_percent=90), duration_s=1)
    assert record is not None
    assert cp.reservations.used == [1]  # its StartTransaction carried reservationId 1
    await cp.drained()
    sessions = await api.env.sessions()
    assert sessions[-1]["reservation_id"] == 1 and sessions[-1]["auth_status"] == "Accepted"
    [row] = await _reservations(api)
    assert row["state"] == "used" and row["session_id"] == sessions[-1]["id"]


async def test_tc_047_reservation_expires(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim)
    body = await _reserve(api, seconds=2.5)
    assert body["status"] == "Accepted"
    await cp.wait_status(1, "Reserved")
    [row] = await _reservations(api)
    assert row["state"] == "active"
    await cp.wait_status(1, "Available", timeout=8)  # the charger ends it at its expiry
    await asyncio.sleep(0.1)
    [row] = await _reservations(api)
    assert row["state"] == "expired" and row["status"] == "Accepted"
    # the connector is free again: another tag may charge on it
    record = await cp.charge(1, "TAG2", EV(soc_percent=90), duration_s=1)
    assert record is not None
    await cp.drained()
    assert (await api.env.sessions())[-1]["auth_status"] == "Accepted"


async def test_tc_048_1_reserve_now_faulted(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim, refuse={"ReserveNow": "Faulted"})
    body = await _reserve(api)
    assert body["status"] == "Faulted"
    assert cp.received[-1][0] == "ReserveNow"
    [row] = await _reservations(api)
    assert (row["state"], row["status"]) == ("refused", "Faulted")
    assert (await last_audit(api))["after"] == {"status": "Faulted"}


async def test_tc_048_2_reserve_now_occupied(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim)
    await cp.plug_in(1)  # Preparing: a car is at the connector
    await cp.wait_status(1, "Preparing")
    body = await _reserve(api)
    assert body["status"] == "Occupied"
    [row] = await _reservations(api)
    assert (row["state"], row["status"]) == ("refused", "Occupied")


async def test_tc_048_3_reserve_now_unavailable(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim)
    made = await command(api, "change-availability", {"connector_id": 1, "type": "Inoperative"})
    assert made.json()["status"] == "Accepted"
    await cp.wait_status(1, "Unavailable")
    body = await _reserve(api)
    assert body["status"] == "Unavailable"
    [row] = await _reservations(api)
    assert (row["state"], row["status"]) == ("refused", "Unavailable")


async def test_tc_049_reserve_the_charge_point_and_charge(api: Api, sim: SimFactory) -> None:
    """connectorId 0: any connector; the one free connector shows Reserved."""
    cp = await _booted(api, sim)
    body = await _reserve(api, connector=0)
    assert body["status"] == "Accepted"
    assert cp.received[-1][1]["connectorId"] == 0
    await cp.wait_status(1, "Reserved")
    record = await cp.charge(1, "TAG1", EV(soc_percent=90), duration_s=1)
    assert record is not None and cp.reservations.used == [body["request"]["reservationId"]]
    await cp.drained()
    [row] = await _reservations(api)
    assert row["state"] == "used" and row["connector_id"] == 0
    assert (await api.env.sessions())[-1]["reservation_id"] == row["reservation_id"]


async def test_tc_051_cancel_reservation(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim)
    reservation_id = (await _reserve(api))["request"]["reservationId"]
    await cp.wait_status(1, "Reserved")
    answered = await command(api, "cancel-reservation", {"reservationId": reservation_id})
    assert answered.status_code == 200 and answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("CancelReservation", {"reservationId": reservation_id})
    await cp.wait_status(1, "Available")
    [row] = await _reservations(api)
    assert (row["state"], row["cancel_status"]) == ("cancelled", "Accepted")
    assert row["cancelled_at"] is not None
    assert (await last_audit(api))["action"] == "command.cancel-reservation"
    # another tag charges on the connector, without a reservationId
    record = await cp.charge(1, "TAG2", EV(soc_percent=90), duration_s=1)
    assert record is not None and cp.reservations.used == []
    await cp.drained()
    last = (await api.env.sessions())[-1]
    assert last["auth_status"] == "Accepted" and last["reservation_id"] is None


async def test_tc_052_cancel_reservation_rejected(api: Api, sim: SimFactory) -> None:
    cp = await _booted(api, sim)
    reservation_id = (await _reserve(api))["request"]["reservationId"]
    await cp.wait_status(1, "Reserved")
    cp.reservations.forget(reservation_id)  # cancelled at the charger itself
    answered = await command(api, "cancel-reservation", {"reservationId": reservation_id})
    assert answered.status_code == 200 and answered.json()["status"] == "Rejected"
    [row] = await _reservations(api)
    # the rejection is kept; the reservation is not taken for cancelled
    assert (row["state"], row["cancel_status"]) == ("active", "Rejected")


async def test_another_tag_is_refused_on_a_reserved_connector(api: Api, sim: SimFactory) -> None:
    """Not an OCTT case: a charger that ignores its reservation lets TAG2 start on the
    connector reserved for TAG1; the central system answers Invalid and the charger stops."""
    cp = await _booted(api, sim)
    cp.reservations.enforce = False
    reservation_id = (await _reserve(api))["request"]["reservationId"]
    await cp.wait_status(1, "Reserved")
    await cp.plug_in(1, "TAG2", EV(soc_percent=40))
    await _until(lambda: cp.connectors[1].tx is None and cp.connectors[1].ended_by is not None)
    await cp.drained()
    session = (await api.env.sessions())[-1]
    assert session["id_tag"] == "TAG2" and session["auth_status"] == "Invalid"
    assert f"reserved_for_other:{reservation_id}" in session["flags"]
    assert session["stop_reason"] == "DeAuthorized"
    [row] = await _reservations(api)
    assert row["state"] == "active"  # still TAG1's


async def test_reserve_connector_zero_unsupported_is_rejected(api: Api, sim: SimFactory) -> None:
    """Not an OCTT case: ReserveConnectorZeroSupported false, connectorId 0 is Rejected."""
    cp = await _booted(api, sim)
    cp.config.set("ReserveConnectorZeroSupported", "false")
    body = await _reserve(api, connector=0)
    assert body["status"] == "Rejected"
    [row] = await _reservations(api)
    assert (row["state"], row["status"]) == ("refused", "Rejected")
