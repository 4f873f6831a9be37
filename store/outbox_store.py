"""The outbox: events committed with their change, read back in order for publishing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.schema import outbox


def event_row(
    kind: str,
    site_id: str | None,
    charger_id: str | None,
    payload: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "site_id": site_id,
        "charger_id": charger_id,
        "payload": payload,
        "created_at": at,
    }


async def record_event(
    conn: AsyncConnection,
    kind: str,
    site_id: str | None,
    charger_id: str | None,
    payload: dict[str, Any],
    at: datetime,
) -> str:
    """An event written in the caller's transaction: it exists if and only if the change does."""
    row = event_row(kind, site_id, charger_id, payload, at)
    await conn.execute(insert(outbox).values(row))
    return str(row["event_id"])


async def unpublished(conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    query = select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def mark_published(conn: AsyncConnection, ids: list[int], at: datetime) -> None:
    await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=at))
