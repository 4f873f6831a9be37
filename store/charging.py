"""The gateway's reads and writes: chargers, tokens, sessions, samples, status history.

Writes take a `Batch` (they run inside a group-commit transaction); reads that happen before
a decision take a plain connection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.outbox_store import event_row
from store.schema import (
    chargers,
    connectors,
    data_transfers,
    meter_samples,
    outbox,
    sessions,
    sites,
    status_events,
    subscribers,
    tariffs,
    tokens,
)


async def load_charger(conn: AsyncConnection, charger_id: str) -> dict[str, Any] | None:
    """The charger with what its site allows, or None when it is unknown."""
    query = (
        select(chargers, sites.c.allow_passwordless, sites.c.tz)
        .select_from(chargers.outerjoin(sites, sites.c.id == chargers.c.site_id))
        .where(chargers.c.id == charger_id)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def register_pending(conn: AsyncConnection, charger_id: str, at: datetime) -> None:
    """An unknown charger that connected: kept as pending until a super-admin approves it."""
    await conn.execute(
        insert(chargers).values(id=charger_id, site_id=None, state="pending", created_at=at)
    )


async def recent_sessions(
    conn: AsyncConnection, charger_id: str, stopped_since: datetime
) -> list[dict[str, Any]]:
    """A charger's open sessions, then those stopped since `stopped_since` (oldest first)."""
    query = (
        select(
            sessions.c.id,
            sessions.c.connector_id,
            sessions.c.started_at,
            sessions.c.stopped_at,
            sessions.c.meter_start_wh,
        )
        .where(
            sessions.c.charger_id == charger_id,
            or_(sessions.c.stopped_at.is_(None), sessions.c.stopped_at >= stopped_since),
        )
        .order_by(sessions.c.stopped_at.is_not(None), sessions.c.stopped_at, sessions.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def token_state(
    conn: AsyncConnection | Batch, site_id: str | None, id_tag: str
) -> tuple[str | None, str | None]:
    """(token state, subscriber state) of a token on a site, read in one query.

    The token state is 'active', 'blocked' or None (unknown token); the subscriber state is
    the state of the subscriber the token belongs to ('invited', 'active', 'suspended',
    'cancelled') or None when the token belongs to no subscriber.
    """
    if site_id is None:
        return None, None
    query = (
        select(tokens.c.state, subscribers.c.state)
        .select_from(tokens.outerjoin(subscribers, subscribers.c.id == tokens.c.subscriber_id))
        .where(tokens.c.site_id == site_id, tokens.c.id_tag == id_tag)
    )
    row = (await conn.execute(query)).first()
    return (None, None) if row is None else (row[0], row[1])


async def charger_snapshot(batch: Batch, charger_id: str) -> dict[str, Any]:
    """What a session snapshots at its start: mode, tariff, site (read in the same transaction).

    ``tariff_id`` is the id of the assigned tariff's *current version* (tariff_versions.id),
    not of the tariff: a later edit of the tariff makes a new version and never reprices a
    session that started under the old one. None when no tariff is assigned.
    """
    query = (
        select(
            chargers.c.site_id,
            chargers.c.monthly_payment,
            tariffs.c.current_version_id.label("tariff_id"),
            chargers.c.max_power_w,
        )
        .select_from(chargers.outerjoin(tariffs, tariffs.c.id == chargers.c.tariff_id))
        .where(chargers.c.id == charger_id)
    )
    return dict((await batch.execute(query)).mappings().one())


async def record_boot(batch: Batch, charger_id: str, values: dict[str, Any]) -> None:
    await batch.execute(update(chargers).where(chargers.c.id == charger_id).values(**values))


def _upsert(batch: Batch) -> Any:
    return pg_insert if batch.conn.dialect.name == "postgresql" else sqlite_insert


async def record_status(batch: Batch, row: dict[str, Any]) -> None:
    """Keep the status history (bulk) and the connector's current state (upsert)."""
    batch.add_rows(status_events, [row])
    stmt = _upsert(batch)(connectors).values(
        charger_id=row["charger_id"],
        connector_id=row["connector_id"],
        status=row["status"],
        error_code=row["error_code"],
        updated_at=row["ts"],
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["charger_id", "connector_id"],
        set_={
            "status": stmt.excluded.status,
            "error_code": stmt.excluded.error_code,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await batch.execute(stmt)


async def find_session_by_key(batch: Batch, key: dict[str, Any]) -> dict[str, Any] | None:
    query = select(sessions).where(and_(*(sessions.c[k] == v for k, v in key.items())))
    row = (await batch.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def insert_session(batch: Batch, row: dict[str, Any]) -> int:
    result = await batch.execute(insert(sessions).values(row))
    return int(result.inserted_primary_key[0])


async def get_session(batch: Batch | AsyncConnection, session_id: int) -> dict[str, Any] | None:
    row = (
        (await batch.execute(select(sessions).where(sessions.c.id == session_id)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def update_session(batch: Batch, session_id: int, values: dict[str, Any]) -> None:
    await batch.execute(update(sessions).where(sessions.c.id == session_id).values(**values))


async def session_meter(
    batch: Batch, session_id: int
) -> list[tuple[datetime, int | None, int | None]]:
    """(ts, energy_mwh, power_w) of a session's samples, oldest first."""
    query = (
        select(meter_samples.c.ts, meter_samples.c.energy_mwh, meter_samples.c.power_w)
        .where(meter_samples.c.session_id == session_id)
        .order_by(meter_samples.c.ts, meter_samples.c.id)
    )
    return [tuple(r) for r in (await batch.execute(query)).all()]  # type: ignore[misc]


async def connector_statuses(
    batch: Batch, charger_id: str, connector_id: int, start: datetime, stop: datetime
) -> list[tuple[datetime, str]]:
    """The status in force at `start` (if any) and every change up to `stop`."""
    base = select(status_events.c.ts, status_events.c.status).where(
        status_events.c.charger_id == charger_id, status_events.c.connector_id == connector_id
    )
    before = (
        await batch.execute(
            base.where(status_events.c.ts <= start)
            .order_by(status_events.c.ts.desc(), status_events.c.id.desc())
            .limit(1)
        )
    ).all()
    during = (
        await batch.execute(
            base.where(status_events.c.ts > start, status_events.c.ts <= stop).order_by(
                status_events.c.ts, status_events.c.id
            )
        )
    ).all()
    return [(r[0], r[1]) for r in (*before, *during)]


def add_samples(batch: Batch, rows: list[dict[str, Any]]) -> None:
    batch.add_rows(meter_samples, rows)


def add_data_transfer(batch: Batch, row: dict[str, Any]) -> None:
    batch.add_rows(data_transfers, [row])


def add_event(
    batch: Batch,
    kind: str,
    site_id: str | None,
    charger_id: str | None,
    payload: dict[str, Any],
    at: datetime,
) -> str:
    """An outbox event, committed with the change it describes."""
    row = event_row(kind, site_id, charger_id, payload, at)
    batch.add_rows(outbox, [row])
    return str(row["event_id"])


async def touch_charger(batch: Batch, charger_id: str, at: datetime) -> None:
    await batch.execute(update(chargers).where(chargers.c.id == charger_id).values(last_seen_at=at))
