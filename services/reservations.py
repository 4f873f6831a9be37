"""The Reservation profile's commands (reserve-now, cancel-reservation): the checks before one
is sent and what its answer means, as services.command_catalog hooks; and the listing.

reserve-now takes the OCPP ReserveNow payload; ``reservationId`` may be left out, and evgate
then gives the next one of the charger (one more than the highest it was ever sent), so ids
are unique per charger and never reused. Before anything is sent: the idTag must be one the
charger would accept (the remote-start rule, services.commands.check_remote_start), the
connector 0 (any connector) or one the charger has reported, the expiry ahead, the connector
not reserved already by another reservation in force, and a reservationId given must not be
one that was used, cancelled or expired (a pending, refused or active one may be sent again:
the charger replaces a reservation of the same id, so a retry is safe). The row is written
pending before the send; the answer makes it active (Accepted) or refused. A send whose answer
never came leaves it pending.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from metering import parse_timestamp
from services.commands import check_remote_start
from services.context import Actor
from store import admin
from store import reservations as db
from store.errors import Conflict, Invalid, NotFound

# states whose reservationId may be sent again (a replacement or a retry)
_REUSABLE = ("pending", "refused", "active")
_INT32 = 2**31 - 1  # reservation and connector ids are 32-bit columns


def _bounded(command: str, payload: dict[str, Any], *names: str) -> None:
    for name in names:
        if name in payload and not 0 <= payload[name] <= _INT32:
            raise Invalid(f"{command}: {name} {payload[name]} is out of range 0..{_INT32}")


def _now() -> datetime:
    return datetime.now(UTC)


def _expiry(payload: dict[str, Any]) -> datetime:
    text = payload["expiryDate"]
    try:
        return parse_timestamp(text)
    except ValueError:
        raise Invalid(f"reserve-now: expiryDate {text!r} is not an ISO 8601 date-time") from None


async def fill_reservation_id(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any]
) -> None:
    """reserve-now without a reservationId: the charger's next one, set in the payload."""
    if "reservationId" in payload:
        return
    async with engine.connect() as conn:
        payload["reservationId"] = await db.next_reservation_id(conn, charger_id)


async def check_reserve(
    engine: AsyncEngine, actor: Actor, charger_id: str, payload: dict[str, Any]
) -> None:
    """Refuse a ReserveNow evgate can already tell is wrong; record the one that is sent."""
    _bounded("reserve-now", payload, "connectorId", "reservationId")
    await check_remote_start(engine, actor, charger_id, str(payload["idTag"]))
    expires_at = _expiry(payload)
    at = _now()
    if expires_at <= at:
        raise Invalid(f"reserve-now: expiryDate {payload['expiryDate']} is not in the future")
    connector_id, reservation_id = int(payload["connectorId"]), int(payload["reservationId"])
    async with engine.begin() as conn:
        await admin.get_charger(conn, charger_id)
        if connector_id != 0 and not await db.connector_known(conn, charger_id, connector_id):
            raise Invalid(
                f"reserve-now: connectorId {connector_id}: charger {charger_id!r} has reported "
                "no such connector (0 reserves any connector)"
            )
        existing = await db.get(conn, charger_id, reservation_id)
        if existing is not None and db.state_of(existing, at) not in _REUSABLE:
            raise Conflict(
                f"reserve-now: reservationId {reservation_id} of charger {charger_id!r} is "
                f"{db.state_of(existing, at)}; leave reservationId out for a new one"
            )
        if connector_id != 0:
            for other in await db.in_force_on(conn, charger_id, connector_id, at):
                if other["reservation_id"] != reservation_id:
                    raise Conflict(
                        f"reserve-now: connector {connector_id} of charger {charger_id!r} is "
                        f"reserved (reservation {other['reservation_id']} for "
                        f"{other['id_tag']!r} until {other['expires_at'].isoformat()}); "
                        "cancel it first"
                    )
        if existing is None:
            row = {**_values(payload, expires_at), "charger_id": charger_id, "created_at": at}
            await db.add_pending(conn, row)


def _values(payload: dict[str, Any], expires_at: datetime) -> dict[str, Any]:
    return {
        "reservation_id": int(payload["reservationId"]),
        "connector_id": int(payload["connectorId"]),
        "id_tag": payload["idTag"],
        "parent_id_tag": payload.get("parentIdTag"),
        "expires_at": expires_at,
    }


async def reserve_answered(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    """The charger's answer to ReserveNow, on the row (a replacement takes the new values)."""
    values = _values(payload, _expiry(payload))
    reservation_id = values.pop("reservation_id")
    async with engine.begin() as conn:
        await db.record_answer(
            conn, charger_id, reservation_id, values, str(answer.get("status")), _now()
        )


async def check_cancel(
    engine: AsyncEngine, actor: Actor, charger_id: str, payload: dict[str, Any]
) -> None:
    """A cancel-reservation names a reservation evgate sent this charger (any state: sending
    it again is harmless, the charger answers Rejected for one it no longer has)."""
    _bounded("cancel-reservation", payload, "reservationId")
    async with engine.connect() as conn:
        charger = await admin.get_charger(conn, charger_id)
        actor.check_write(charger["site_id"])
        if await db.get(conn, charger_id, int(payload["reservationId"])) is None:
            raise NotFound(
                f"cancel-reservation: charger {charger_id!r} has no reservation "
                f"{payload['reservationId']} (see its reservations)"
            )


async def cancel_answered(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    async with engine.begin() as conn:
        await db.record_cancel(
            conn, charger_id, int(payload["reservationId"]), str(answer.get("status")), _now()
        )


async def list_reservations(
    conn: AsyncConnection, actor: Actor, charger_id: str
) -> list[dict[str, Any]]:
    """A charger's reservations, newest first, with the state in force now."""
    charger = await admin.get_charger(conn, charger_id)
    actor.check_read(charger["site_id"])
    return await db.list_of(conn, charger_id, _now())
