"""The audit log: every write of the config API (and the CLI) says who, what, when, before, after.

Entries are written in the same transaction as the change they describe, so a change that
rolls back leaves no entry and no entry exists without its change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.schema import audit_log


def _plain(value: Any) -> Any:
    """JSON-safe copy of a row (datetimes as ISO text, Decimals as text, no password hashes)."""
    if isinstance(value, dict):
        hidden = ("password_hash", "token_hash")
        return {str(k): _plain(v) for k, v in value.items() if k not in hidden}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def entry(
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    site_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> dict[str, Any]:
    """One audit row, for ``record_many`` (many changes of one transaction in one statement)."""
    return {
        "at": datetime.now(UTC),
        "actor": actor[:120],
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id)[:100],
        "site_id": site_id,
        "before": _plain(before),
        "after": _plain(after),
    }


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    site_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    row = entry(actor, action, target_type, target_id, site_id=site_id, before=before, after=after)
    await conn.execute(insert(audit_log).values(row))


async def record_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Rows made by ``entry``, in the caller's transaction (a billing run issues thousands)."""
    if rows:
        await conn.execute(insert(audit_log), rows)


async def entries(
    conn: AsyncConnection,
    site_id: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` pages further back."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if site_id is not None:
        query = query.where(audit_log.c.site_id == site_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
