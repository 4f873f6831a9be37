"""Reservations' SQL: what the API's reserve-now and cancel-reservation write, what the API
lists, and the one read (and the one write) a StartTransaction makes of them.

A row's stored ``state`` is pending, active, used, cancelled or refused; an active row whose
expiry has passed *is* expired (``state_of``), with no job to mark it: a reservation is in
force while its state is active and ``expires_at`` lies ahead.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store import charging
from store.batcher import Batch
from store.errors import Conflict
from store.schema import connectors, reservations

STATES = ("pending", "active", "used", "cancelled", "refused", "expired")
# what a StartTransaction needs of a charger's reservations in force
_ACTIVE_KEYS = ("id", "reservation_id", "connector_id", "id_tag", "parent_id_tag", "expires_at")


def state_of(row: dict[str, Any], at: datetime) -> str:
    """The state a person reads: the stored one, except an active row past its expiry."""
    if row["state"] == "active" and row["expires_at"] <= at:
        return "expired"
    return str(row["state"])


async def next_reservation_id(conn: AsyncConnection, charger_id: str) -> int:
    """One more than the highest reservationId this charger was ever sent (1 for the first)."""
    query = select(func.max(reservations.c.reservation_id)).where(
        reservations.c.charger_id == charger_id
    )
    highest = (await conn.execute(query)).scalar()
    return int(highest or 0) + 1


async def get(conn: AsyncConnection, charger_id: str, reservation_id: int) -> dict[str, Any] | None:
    query = select(reservations).where(
        reservations.c.charger_id == charger_id,
        reservations.c.reservation_id == reservation_id,
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def in_force_on(
    conn: AsyncConnection, charger_id: str, connector_id: int, at: datetime
) -> list[dict[str, Any]]:
    """The reservations in force on one connector of a charger (active, not expired at `at`)."""
    query = (
        select(reservations)
        .where(
            reservations.c.charger_id == charger_id,
            reservations.c.state == "active",
            reservations.c.connector_id == connector_id,
            reservations.c.expires_at > at,
        )
        .order_by(reservations.c.reservation_id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def connector_known(conn: AsyncConnection, charger_id: str, connector_id: int) -> bool:
    """Whether the charger has reported this connector (a StatusNotification for it)."""
    query = select(connectors.c.connector_id).where(
        connectors.c.charger_id == charger_id, connectors.c.connector_id == connector_id
    )
    return (await conn.execute(query)).first() is not None


async def add_pending(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """A reservation about to be sent (state pending). Conflict when its reservationId was
    taken meanwhile by another reserve-now of the same charger."""
    try:  # the caller's transaction is then rolled back with the Conflict
        await conn.execute(insert(reservations).values(**row, state="pending"))
    except IntegrityError:
        raise Conflict(
            f"reservationId {row['reservation_id']} of charger {row['charger_id']!r} was just "
            "taken by another reserve-now; send again"
        ) from None


async def record_answer(
    conn: AsyncConnection,
    charger_id: str,
    reservation_id: int,
    values: dict[str, Any],
    status: str,
    at: datetime,
) -> None:
    """The charger's answer to ReserveNow: active when Accepted, refused otherwise; `values`
    (connector, tags, expiry) are what was sent, so a replacement takes the new ones."""
    state = "active" if status == "Accepted" else "refused"
    await conn.execute(
        update(reservations)
        .where(
            reservations.c.charger_id == charger_id,
            reservations.c.reservation_id == reservation_id,
        )
        .values(**values, status=status, state=state, answered_at=at)
    )


async def record_cancel(
    conn: AsyncConnection, charger_id: str, reservation_id: int, status: str, at: datetime
) -> None:
    """The charger's answer to CancelReservation: Accepted cancels a reservation that was not
    used; Rejected (the charger has no such reservation) is kept beside an unchanged state."""
    where = (
        reservations.c.charger_id == charger_id,
        reservations.c.reservation_id == reservation_id,
    )
    await conn.execute(update(reservations).where(*where).values(cancel_status=status))
    if status == "Accepted":
        await conn.execute(
            update(reservations)
            .where(*where, reservations.c.state.in_(("pending", "active")))
            .values(state="cancelled", cancelled_at=at)
        )


async def list_of(conn: AsyncConnection, charger_id: str, at: datetime) -> list[dict[str, Any]]:
    """A charger's reservations, newest reservationId first, each with the state in force."""
    query = (
        select(reservations)
        .where(reservations.c.charger_id == charger_id)
        .order_by(reservations.c.reservation_id.desc())
    )
    rows = []
    for r in (await conn.execute(query)).mappings():
        row = {k: v for k, v in r.items() if k != "id"}
        row["state"] = state_of(row, at)
        rows.append(row)
    return rows


# -- the gateway's StartTransaction ------------------------------------------------------------

_ACTIVE_OF = select(*(reservations.c[k] for k in _ACTIVE_KEYS), reservations.c.charger_id).where(
    reservations.c.charger_id.in_(bindparam("ids", expanding=True)),
    reservations.c.state == "active",
)


async def active_of(batch: Batch, charger_ids: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """Each charger's active reservations (expired ones too: the caller compares the expiry
    with its own clock), in one indexed query for all of them."""
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in charger_ids}
    if not found:
        return found
    # a reservation is written by the API on its own connection, never queued in a batch
    result = await batch.execute(_ACTIVE_OF, {"ids": list(found)}, flush=False)
    for row in result.mappings():
        found[row["charger_id"]].append({k: row[k] for k in _ACTIVE_KEYS})
    return found


async def start_facts_of(batch: Batch, keys: list[tuple[Any, ...]]) -> dict[Any, dict[str, Any]]:
    """store.charging.start_facts_of, each with its charger's active ``reservations``: one
    query more for all the StartTransactions of a transaction."""
    found = await charging.start_facts_of(batch, keys)
    active = await active_of(batch, {key[0] for key in found})
    for key, facts in found.items():
        facts["reservations"] = active[key[0]]
    return found


async def start_facts(batch: Batch, key: dict[str, Any]) -> dict[str, Any]:
    """store.charging.start_facts with the charger's active ``reservations`` (one query more)."""
    facts = await charging.start_facts(batch, key)
    facts["reservations"] = (await active_of(batch, [key["charger_id"]]))[key["charger_id"]]
    return facts


_MARK_USED = (
    update(reservations)
    .where(reservations.c.id == bindparam("b_id"), reservations.c.state == "active")
    .values(state="used", session_id=bindparam("b_session_id"), used_at=bindparam("b_at"))
)


async def mark_used(batch: Batch, row_id: int, session_id: int, at: datetime) -> bool:
    """The reservation taken by a session; False when another start took it first."""
    params = {"b_id": row_id, "b_session_id": session_id, "b_at": at}
    result = await batch.execute(_MARK_USED, params, flush=False)
    return bool(result.rowcount == 1)
