"""Read-only listings for the CLI and the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.schema import chargers, sessions


async def list_sessions(
    conn: AsyncConnection,
    site_id: str | None = None,
    charger_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    query = select(sessions).order_by(sessions.c.id)
    if charger_id is not None:
        query = query.where(sessions.c.charger_id == charger_id)
    if site_id is not None:
        query = query.where(
            sessions.c.charger_id.in_(select(chargers.c.id).where(chargers.c.site_id == site_id))
        )
    if limit is not None:
        query = query.limit(limit)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
