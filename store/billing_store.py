"""Billing's SQL (issue 6): the session owner lookup, billable sessions, invoices, numbers.

Only this module (with store/billing_schema.py) knows the billing tables; billing/ calls it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.schema import tokens


async def session_subscriber(
    conn: AsyncConnection | Batch, site_id: str | None, id_tag: str
) -> int | None:
    """The subscriber owning ``id_tag`` on ``site_id`` now (snapshotted on a session at start)."""
    if site_id is None:
        return None
    query = select(tokens.c.subscriber_id).where(
        tokens.c.site_id == site_id, tokens.c.id_tag == id_tag
    )
    row: Any = (await conn.execute(query)).first()
    return None if row is None else row[0]
