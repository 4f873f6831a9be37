"""Work done once across instances: the advisory lock is exclusive and is really released."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from store import locks
from store.db import create_engine


async def test_one_holder_at_a_time(engine: AsyncEngine, db_url: str) -> None:
    other = create_engine(db_url)  # a second instance: its own pool
    try:
        async with locks.held(engine, locks.BILLING_SCHEDULER) as first:
            assert first
            async with locks.held(other, locks.BILLING_SCHEDULER) as second:
                # PostgreSQL: taken; SQLite is one process, where the lock always succeeds
                assert second is (engine.dialect.name != "postgresql")
            async with locks.held(other, locks.OUTBOX_PUBLISHER) as unrelated:
                assert unrelated
        # released on the way out, even though the connection went back to the pool
        for _ in range(3):
            async with locks.held(other, locks.BILLING_SCHEDULER) as again:
                assert again
        async with locks.held(engine, locks.BILLING_SCHEDULER) as back:
            assert back
    finally:
        await other.dispose()
