"""The simulator's reservation book without a socket: answers, who may start, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from simulators.charger import SimCharger
from simulators.physics import EV, ChargerSpec


def _sim(connectors: int = 2) -> SimCharger:
    return SimCharger("ws://127.0.0.1:1/ocpp", "CP1", spec=ChargerSpec(connectors=connectors))


def _req(
    rid: int, connector: int, tag: str = "A", seconds: float = 600, **kw: str
) -> dict[str, Any]:
    expiry = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    return {
        "reservationId": rid,
        "connectorId": connector,
        "idTag": tag,
        "expiryDate": expiry,
        **kw,
    }


def _statuses(cp: SimCharger) -> list[tuple[int, str]]:
    """The StatusNotifications queued (nothing is sent: there is no socket)."""
    return [
        (i.payload["connectorId"], i.payload["status"])
        for i in cp.queue.items()
        if i.action == "StatusNotification"
    ]


async def test_answers_follow_the_connector() -> None:
    cp = _sim()
    book = cp.reservations
    assert book.reserve(_req(1, 9)) == {"status": "Rejected"}  # no such connector
    cp.connectors[2].operative = False
    assert book.reserve(_req(1, 2)) == {"status": "Unavailable"}
    cp.connectors[2].operative, cp.connectors[2].status = True, "Faulted"
    assert book.reserve(_req(1, 2)) == {"status": "Faulted"}
    cp.connectors[2].status = "Available"
    cp.connectors[2].ev = EV()
    assert book.reserve(_req(1, 2)) == {"status": "Occupied"}
    assert book.reserve(_req(1, 1)) == {"status": "Accepted"}
    assert cp.connectors[1].status == "Reserved"
    assert book.reserve(_req(2, 1, "B")) == {"status": "Occupied"}  # held by reservation 1
    assert book.reserve(_req(1, 1, "B")) == {"status": "Accepted"}  # the same id: replaced
    assert book.held[1].id_tag == "B"
    cp.config.set("ReserveConnectorZeroSupported", "false")
    assert book.reserve(_req(3, 0)) == {"status": "Rejected"}
    await cp.stop()


async def test_only_the_tag_or_its_parent_may_start_and_the_start_ends_it() -> None:
    cp = _sim()
    book = cp.reservations
    book.reserve(_req(7, 1, "A", parentIdTag="FLEET"))
    assert not book.allows(1, "B", None)
    assert book.wants_parent(1) and not book.wants_parent(2)
    assert book.allows(1, "B", "FLEET")
    assert book.allows(2, "B", None)  # another connector is free
    assert book.take(1, "A", None) == 7 and book.used == [7]
    assert book.held == {} and book.allows(1, "B", None)
    await cp.stop()


async def test_connector_zero_keeps_one_connector_free_for_its_tag() -> None:
    cp = _sim(connectors=2)
    book = cp.reservations
    assert book.reserve(_req(1, 0)) == {"status": "Accepted"}
    assert cp.connectors[1].status == "Available"  # two free: neither shows Reserved yet
    cp.connectors[2].ev = EV()  # a car takes connector 2
    assert not book.allows(1, "B", None)  # B on connector 1 would leave A nothing
    assert book.allows(1, "A", None)
    assert book.take(1, "A", None) == 1
    await cp.stop()


async def test_a_reservation_ends_at_its_expiry_and_on_cancel() -> None:
    cp = _sim()
    book = cp.reservations
    book.reserve(_req(1, 1, seconds=0.3))
    book.reserve(_req(2, 2))
    assert cp.connectors[1].status == "Reserved"
    await asyncio.sleep(0.6)
    assert 1 not in book.held and cp.connectors[1].status == "Available"
    assert book.cancel({"reservationId": 2}) == {"status": "Accepted"}
    assert cp.connectors[2].status == "Available"
    assert book.cancel({"reservationId": 2}) == {"status": "Rejected"}
    assert _statuses(cp) == [(1, "Reserved"), (2, "Reserved"), (1, "Available"), (2, "Available")]
    await cp.stop()
