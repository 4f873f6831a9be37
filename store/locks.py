"""Work done once across instances: PostgreSQL advisory locks (SQLite: one process, no lock).

A session-level advisory lock belongs to a database connection; a pooled connection would keep
it after being returned, so the lock is always released explicitly on the way out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

OUTBOX_PUBLISHER = 0x6576_6761_7465_01  # "evgate" + 1
BILLING_SCHEDULER = 0x6576_6761_7465_02
LOCAL_LISTS = 0x6576_6761_7465_03  # services/local_list_job.py
MAIL_SENDER = 0x6576_6761_7465_04  # services/mail_sender.py


@asynccontextmanager
async def held(engine: AsyncEngine, key: int) -> AsyncIterator[bool]:
    """Yields True while this process holds `key`, False when another one does."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with engine.connect() as conn:
        got = bool(
            (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar_one()
        )
        await conn.commit()
        try:
            yield got
        finally:
            if got:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
