"""Chargers as the config API shows them: stored state plus connectors and running sessions.

Whether a charger is online is not stored: the API asks the gateway's in-process registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import NotFound
from store.schema import chargers, connectors, sessions

_COLUMNS = [c for c in chargers.c if c.name != "password_hash"]


async def list_chargers(
    conn: AsyncConnection,
    site_id: str | None = None,
    state: str | None = None,
    ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Chargers (no password hashes) with ``has_password``, connectors and open sessions."""
    query = select(*_COLUMNS, chargers.c.password_hash.is_not(None).label("has_password"))
    if site_id is not None:
        query = query.where(chargers.c.site_id == site_id)
    if state is not None:
        query = query.where(chargers.c.state == state)
    if ids is not None:
        query = query.where(chargers.c.id.in_(list(ids)))
    rows = [dict(r) for r in (await conn.execute(query.order_by(chargers.c.id))).mappings()]
    if not rows:
        return rows
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        r["has_password"] = bool(r["has_password"])
        r["connectors"] = []
        r["open_sessions"] = []
    wanted = list(by_id)
    conns = await conn.execute(
        select(connectors)
        .where(connectors.c.charger_id.in_(wanted))
        .order_by(connectors.c.charger_id, connectors.c.connector_id)
    )
    for c in conns.mappings():
        by_id[c["charger_id"]]["connectors"].append(
            {k: c[k] for k in ("connector_id", "status", "error_code", "updated_at")}
        )
    running = await conn.execute(
        select(
            sessions.c.id,
            sessions.c.charger_id,
            sessions.c.connector_id,
            sessions.c.id_tag,
            sessions.c.started_at,
            sessions.c.monthly_payment,
        )
        .where(sessions.c.charger_id.in_(wanted), sessions.c.stopped_at.is_(None))
        .order_by(sessions.c.id)
    )
    for s in running.mappings():
        by_id[s["charger_id"]]["open_sessions"].append(
            {k: s[k] for k in ("id", "connector_id", "id_tag", "started_at", "monthly_payment")}
        )
    return rows


async def charger_view(conn: AsyncConnection, charger_id: str) -> dict[str, Any]:
    rows = await list_chargers(conn, ids=[charger_id])
    if not rows:
        raise NotFound(f"no charger {charger_id!r}")
    return rows[0]
