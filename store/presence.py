"""Who holds which charger's socket, across instances (the presence tables of store/schema.py).

Each `evgate serve` has an instance id and writes a heartbeat; a connected charger's row names
the instance and the socket (connection id) holding it. A socket that closes removes the row
only if the row is still its own: when the charger has meanwhile connected again, here or on
another instance, the newer socket's row stays and no offline event is due. A charger is
online while its row's instance beats; rows of an instance that stopped beating (killed) are
swept by the others, each swept row with its offline event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.schema import charger_presence, chargers, instances

BEAT = timedelta(seconds=20)  # how often an instance writes its heartbeat
STALE = timedelta(seconds=60)  # an instance silent this long holds no charger


def _upsert(insert_of: Any, table: Any, key: Any, columns: tuple[str, ...]) -> Any:
    stmt = insert_of(table)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={c: getattr(stmt.excluded, c) for c in columns}
    )


_CLAIM = {
    name: _upsert(
        ins,
        charger_presence,
        charger_presence.c.charger_id,
        ("instance_id", "connection_id", "since"),
    )
    for name, ins in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_BEAT = {
    name: _upsert(ins, instances, instances.c.id, ("seen_at",))
    for name, ins in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_RELEASE = delete(charger_presence).where(
    charger_presence.c.charger_id == bindparam("b_charger_id"),
    charger_presence.c.connection_id == bindparam("b_connection_id"),
)


def claim(
    batch: Batch, charger_id: str, instance_id: str, connection_id: str, at: datetime
) -> None:
    """This socket holds the charger now (whoever held it before). Queued: the claims of
    chargers connecting together are one executemany; a later release flushes them first."""
    params = {
        "charger_id": charger_id,
        "instance_id": instance_id,
        "connection_id": connection_id,
        "since": at,
    }
    batch.add_params(_CLAIM[batch.conn.dialect.name], [params])


async def release(batch: Batch, charger_id: str, connection_id: str) -> bool:
    """The socket closed: True when it still held the charger (then it is offline)."""
    result = await batch.execute(
        _RELEASE, {"b_charger_id": charger_id, "b_connection_id": connection_id}
    )
    return bool(result.rowcount)


async def beat(conn: AsyncConnection, instance_id: str, host: str, at: datetime) -> None:
    params = {"id": instance_id, "host": host, "started_at": at, "seen_at": at}
    await conn.execute(_BEAT[conn.dialect.name], params)


async def sweep(conn: AsyncConnection, now: datetime) -> list[dict[str, Any]]:
    """Remove the rows of instances that stopped beating; the chargers they held (with site)."""
    live = select(instances.c.id).where(instances.c.seen_at >= now - STALE)
    query = (
        select(charger_presence.c.charger_id, chargers.c.site_id)
        .join(chargers, chargers.c.id == charger_presence.c.charger_id, isouter=True)
        .where(charger_presence.c.instance_id.not_in(live))
    )
    gone = [dict(r) for r in (await conn.execute(query)).mappings()]
    swept = []
    for row in gone:  # one by one: of two instances sweeping, each row is one's
        result = await conn.execute(
            delete(charger_presence).where(
                charger_presence.c.charger_id == row["charger_id"],
                charger_presence.c.instance_id.not_in(live),
            )
        )
        if result.rowcount:
            swept.append(row)
    await conn.execute(delete(instances).where(instances.c.seen_at < now - STALE))
    return swept


async def leave(conn: AsyncConnection, instance_id: str) -> None:
    """A clean stop: the instance and whatever it still held are gone."""
    await conn.execute(
        delete(charger_presence).where(charger_presence.c.instance_id == instance_id)
    )
    await conn.execute(delete(instances).where(instances.c.id == instance_id))


def _online() -> Any:
    return (
        select(charger_presence.c.charger_id)
        .join(instances, instances.c.id == charger_presence.c.instance_id)
        .where(instances.c.seen_at >= bindparam("b_fresh"))
    )


async def online(conn: AsyncConnection, charger_ids: list[str], now: datetime) -> set[str]:
    """Which of these chargers have a socket open on a live instance, any instance."""
    if not charger_ids:
        return set()
    query = _online().where(charger_presence.c.charger_id.in_(charger_ids))
    return {r[0] for r in await conn.execute(query, {"b_fresh": now - STALE})}


async def any_live(conn: AsyncConnection, now: datetime) -> bool:
    """Is some `evgate serve` running on this database (a fresh heartbeat)?"""
    query = select(instances.c.id).where(instances.c.seen_at >= now - STALE).limit(1)
    return (await conn.execute(query)).first() is not None


async def online_count(conn: AsyncConnection, now: datetime) -> int:
    query = select(func.count()).select_from(_online().subquery())
    return int((await conn.execute(query, {"b_fresh": now - STALE})).scalar_one())
