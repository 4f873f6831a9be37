"""The charger's side of the OCPP 1.6 Reservation profile: ReserveNow, CancelReservation,
who may start on a reserved connector, and the end of a reservation at its expiry.

- ReserveNow on connector N: ``Unavailable`` when it is inoperative, ``Faulted`` when it
  reports Faulted, ``Occupied`` when a car is plugged in, a transaction runs, or another
  reservation holds it; ``Rejected`` for a connector the charger does not have; otherwise
  ``Accepted``, and the connector reports ``Reserved``. The same reservationId replaces the
  reservation it names (wherever it was).
- Connector 0 (any connector): ``Rejected`` unless ReserveConnectorZeroSupported is true;
  ``Occupied`` when no connector is free; otherwise ``Accepted``. When only one connector is
  free as it is made, that one shows ``Reserved``.
- Only the reservation's idTag, or a tag whose parent idTag (from Authorize) is the
  reservation's parent idTag, may start on a reserved connector; its StartTransaction carries
  the reservationId, and the reservation ends.
- At its expiry (the charger's clock) a reservation ends and its connector is Available again
  (the charger hears of it: the 2.0.1 one sends ReservationStatusUpdate Expired; a ``forget``
  is Removed).
- CancelReservation: ``Accepted`` for a reservation it holds (connector back to Available),
  ``Rejected`` for any other id.

Test switches: ``enforce = False`` lets any tag start on a reserved connector (a charger that
ignores its reservations: the central system must refuse the tag), ``forget(id)`` drops a
reservation on the charger alone (a cancel made at the charger, so the central system's
CancelReservation is then Rejected). Faulted, Unavailable or Rejected on demand: the charger's
``refuse={"ReserveNow": "Faulted"}`` switch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from simulators.clock import VirtualClock, to_ms
from simulators.configuration import Configuration


class Connector(Protocol):
    """What the book reads of a charger's connector (simulators.charger.Connector)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def operative(self) -> bool: ...
    @property
    def tx(self) -> Any: ...
    @property
    def ev(self) -> Any: ...


class SimCharger(Protocol):
    """What the book uses of its charger (simulators.charger.SimCharger, which imports this
    module: a protocol instead of an import keeps the two out of a circle)."""

    @property
    def connectors(self) -> Mapping[int, Connector]: ...
    @property
    def config(self) -> Configuration: ...
    @property
    def clock(self) -> VirtualClock: ...
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...
    def _send_status(self, conn: Any, state: str, ms: int, record: bool = True) -> None: ...
    def _reservation_ended(self, reservation_id: int, why: str) -> None: ...


@dataclass(slots=True)
class Reservation:
    reservation_id: int
    connector_id: int  # 0: any connector
    id_tag: str
    parent_id_tag: str | None
    expiry_ms: int
    shown_on: int | None = None  # the connector showing Reserved for it
    timer: asyncio.Task[None] | None = field(default=None, repr=False)


class Reservations:
    """One charger's reservations (``SimCharger.reservations``)."""

    def __init__(self, charger: SimCharger) -> None:
        self.charger = charger
        self.held: dict[int, Reservation] = {}  # reservationId -> reservation
        self.enforce = True
        self.used: list[int] = []  # reservationIds taken by a StartTransaction, in order

    # -- the central system's calls ----------------------------------------------------------
    def reserve(self, p: dict[str, Any]) -> dict[str, Any]:
        """ReserveNow: the answer (the connector's Reserved status is queued when Accepted)."""
        cid, rid = p.get("connectorId"), p.get("reservationId")
        tag, expiry = p.get("idTag"), p.get("expiryDate")
        if not (isinstance(cid, int) and isinstance(rid, int) and isinstance(tag, str)):
            return {"status": "Rejected"}
        try:
            expiry_ms = to_ms(datetime.fromisoformat(str(expiry)))
        except ValueError:
            return {"status": "Rejected"}
        replaced = self.held.get(rid)
        if replaced is not None:
            self._end(replaced)  # the same id: the new reservation replaces it
        status = self._status_for(cid)
        if status != "Accepted":
            return {"status": status}
        reservation = Reservation(rid, cid, tag, p.get("parentIdTag"), expiry_ms)
        self.held[rid] = reservation
        reservation.timer = self.charger._spawn(self._expire_at(reservation))
        self._show()
        return {"status": "Accepted"}

    def cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        reservation = self.held.get(p.get("reservationId", -1))
        if reservation is None:
            return {"status": "Rejected"}
        self._end(reservation)
        return {"status": "Accepted"}

    def forget(self, reservation_id: int) -> None:
        """Drop a reservation on the charger only (cancelled at the charger itself)."""
        reservation = self.held.get(reservation_id)
        if reservation is not None:
            self._end(reservation)
            self.charger._reservation_ended(reservation_id, "Removed")

    # -- starting on a connector -------------------------------------------------------------
    def wants_parent(self, connector_id: int) -> bool:
        """Whether a reservation that could hold the connector has a parent idTag (a tag
        that is not its own then needs Authorize to learn its parent)."""
        return any(
            r.parent_id_tag is not None and r.connector_id in (0, connector_id)
            for r in self.held.values()
        )

    def allows(self, connector_id: int, id_tag: str, parent: str | None) -> bool:
        """Whether this tag may start on the connector, by the reservations held."""
        if not self.enforce:
            return True
        if self._mine(connector_id, id_tag, parent) is not None:
            return True
        if any(r.connector_id == connector_id for r in self.held.values()):
            return False
        # connector-0 reservations: each keeps one free connector for its tag
        zero = sum(1 for r in self.held.values() if r.connector_id == 0)
        free = [c for c in self._free() if c.id != connector_id]
        return zero <= len(free)

    def take(self, connector_id: int, id_tag: str, parent: str | None) -> int | None:
        """The reservationId a StartTransaction on the connector uses (and ends), if any."""
        reservation = self._mine(connector_id, id_tag, parent)
        if reservation is None:
            return None
        self._end(reservation, show_available=False)
        self.used.append(reservation.reservation_id)
        return reservation.reservation_id

    # -- inside ------------------------------------------------------------------------------
    def _mine(self, connector_id: int, id_tag: str, parent: str | None) -> Reservation | None:
        def matches(r: Reservation) -> bool:
            return r.id_tag == id_tag or (parent is not None and parent == r.parent_id_tag)

        for wanted in (connector_id, 0):
            for r in self.held.values():
                if r.connector_id == wanted and matches(r):
                    return r
        return None

    def _free(self) -> list[Connector]:
        """Connectors a reservation could hold: operative, idle, no car, not reserved."""
        reserved = {r.connector_id for r in self.held.values()}
        return [
            c
            for c in self.charger.connectors.values()
            if c.operative
            and c.tx is None
            and c.ev is None
            and c.status == "Available"
            and c.id not in reserved
        ]

    def _status_for(self, connector_id: int) -> str:
        if connector_id == 0:
            if not self.charger.config.flag("ReserveConnectorZeroSupported"):
                return "Rejected"
            zero = sum(1 for r in self.held.values() if r.connector_id == 0)
            return "Accepted" if len(self._free()) > zero else "Occupied"
        conn = self.charger.connectors.get(connector_id)
        if conn is None:
            return "Rejected"
        if not conn.operative or conn.status == "Unavailable":
            return "Unavailable"
        if conn.status == "Faulted":
            return "Faulted"
        if conn.ev is not None or conn.tx is not None:
            return "Occupied"
        if any(r.connector_id == connector_id for r in self.held.values()):
            return "Occupied"
        return "Accepted"

    def _show(self) -> None:
        """Connectors held show Reserved: each reserved one, and the last free connector
        while connector-0 reservations need it."""
        now = self.charger.clock.now_ms()
        for r in self.held.values():
            if r.connector_id != 0 and r.shown_on is None:
                conn = self.charger.connectors[r.connector_id]
                r.shown_on = conn.id
                self.charger._send_status(conn, "Reserved", now)
        zero = [r for r in self.held.values() if r.connector_id == 0 and r.shown_on is None]
        free = self._free()
        if zero and len(free) == 1:
            zero[0].shown_on = free[0].id
            self.charger._send_status(free[0], "Reserved", now)

    def _end(self, reservation: Reservation, show_available: bool = True) -> None:
        self.held.pop(reservation.reservation_id, None)
        if reservation.timer is not None and reservation.timer is not asyncio.current_task():
            reservation.timer.cancel()
        conn = self.charger.connectors.get(reservation.shown_on or -1)
        if show_available and conn is not None and conn.status == "Reserved":
            self.charger._send_status(conn, "Available", self.charger.clock.now_ms())

    async def _expire_at(self, reservation: Reservation) -> None:
        await self.charger.clock.sleep_until_ms(reservation.expiry_ms)
        if self.held.get(reservation.reservation_id) is reservation:
            self._end(reservation)
            self.charger._reservation_ended(reservation.reservation_id, "Expired")
