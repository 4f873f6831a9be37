"""Firmware Management's SQL: the requests sent, the charger's status notifications about
them (inside a group-commit `Batch`), the uploaded diagnostics files, and the API's reads."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.firmware_schema import diagnostics_requests, firmware_requests, firmware_status_history

KINDS: dict[str, Table] = {"firmware": firmware_requests, "diagnostics": diagnostics_requests}


def _table(kind: str) -> Table:
    table = KINDS.get(kind)
    if table is None:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    return table


async def add_request(conn: AsyncConnection, kind: str, row: dict[str, Any]) -> int:
    """A request as it is about to be sent; its id."""
    table = _table(kind)
    result = await conn.execute(insert(table).values(**row).returning(table.c.id))
    return int(result.scalar_one())


async def token_in_use(conn: AsyncConnection, digest: str) -> bool:
    found = await conn.execute(
        select(diagnostics_requests.c.id).where(diagnostics_requests.c.token_digest == digest)
    )
    return found.first() is not None


async def answered(
    conn: AsyncConnection,
    kind: str,
    charger_id: str,
    location: str,
    at: datetime,
    values: dict[str, Any] | None = None,
    token_digest: str | None = None,
) -> int | None:
    """The charger answered: the newest unanswered request of this charger to ``location``
    (or with this upload token) gets ``answered_at`` (and ``values``: the fileName of
    GetDiagnostics). Its id, or None."""
    table = _table(kind)
    which = (
        table.c.location == location
        if token_digest is None
        else diagnostics_requests.c.token_digest == token_digest
    )
    found = (
        await conn.execute(
            select(table.c.id)
            .where(table.c.charger_id == charger_id, which, table.c.answered_at.is_(None))
            .order_by(table.c.id.desc())
            .limit(1)
        )
    ).first()
    if found is None:
        return None
    await conn.execute(
        update(table).where(table.c.id == found[0]).values(answered_at=at, **(values or {}))
    )
    return int(found[0])


async def record_status(
    batch: Batch, charger_id: str, kind: str, status: str, at: datetime
) -> int | None:
    """A status notification, kept in the history; any status but Idle (which only answers a
    TriggerMessage and describes no request) is taken to be about the charger's newest
    request of that kind, whose status it becomes. The request's id, or None."""
    table = _table(kind)
    request_id = None
    if status != "Idle":
        found = (
            await batch.execute(
                select(table.c.id)
                .where(table.c.charger_id == charger_id)
                .order_by(table.c.id.desc())
                .limit(1)
            )
        ).first()
        if found is not None:
            request_id = int(found[0])
            await batch.execute(
                update(table).where(table.c.id == request_id).values(status=status, status_at=at)
            )
    await batch.execute(
        insert(firmware_status_history).values(
            charger_id=charger_id, kind=kind, request_id=request_id, status=status, received_at=at
        )
    )
    return request_id


async def requests_of(
    conn: AsyncConnection, kind: str, charger_id: str, limit: int = 50
) -> list[dict[str, Any]]:
    """The charger's requests of ``kind``, newest first, each with its status history (oldest
    first); the statuses that described no request come in ``unattached``."""
    table = _table(kind)
    rows = [
        dict(r)
        for r in (
            await conn.execute(
                select(table)
                .where(table.c.charger_id == charger_id)
                .order_by(table.c.id.desc())
                .limit(limit)
            )
        ).mappings()
    ]
    if not rows:
        return []
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        r["history"] = []
    h = firmware_status_history.c
    history = await conn.execute(
        select(h.request_id, h.status, h.received_at)
        .where(h.charger_id == charger_id, h.kind == kind, h.request_id.in_(list(by_id)))
        .order_by(h.id)
    )
    for request_id, status, received_at in history:
        if request_id in by_id:
            by_id[request_id]["history"].append({"status": status, "at": received_at})
    return rows


async def unattached(
    conn: AsyncConnection, kind: str, charger_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest notifications of ``kind`` about no request (Idle, or before any request)."""
    h = firmware_status_history.c
    found = await conn.execute(
        select(h.status, h.received_at)
        .where(h.charger_id == charger_id, h.kind == kind, h.request_id.is_(None))
        .order_by(h.id.desc())
        .limit(limit)
    )
    return [{"status": s, "at": at} for s, at in found]


async def latest_status(
    conn: AsyncConnection, kind: str, charger_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """charger id -> its newest notification of ``kind`` (status, at); none: left out."""
    if not charger_ids:
        return {}
    h = firmware_status_history.c
    newest = (
        select(func.max(h.id))
        .where(h.kind == kind, h.charger_id.in_(list(charger_ids)))
        .group_by(h.charger_id)
    )
    found = await conn.execute(
        select(h.charger_id, h.status, h.received_at).where(h.id.in_(newest))
    )
    return {c: {"status": s, "at": at} for c, s, at in found}


async def diagnostics_by_token(conn: AsyncConnection, digest: str) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                select(diagnostics_requests).where(diagnostics_requests.c.token_digest == digest)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def diagnostics_request(
    conn: AsyncConnection, charger_id: str, request_id: int
) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                select(diagnostics_requests).where(
                    diagnostics_requests.c.id == request_id,
                    diagnostics_requests.c.charger_id == charger_id,
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def store_upload(conn: AsyncConnection, request_id: int, values: dict[str, Any]) -> None:
    """The file a charger uploaded for a request (name, size, sha256, path, when)."""
    await conn.execute(
        update(diagnostics_requests).where(diagnostics_requests.c.id == request_id).values(**values)
    )
