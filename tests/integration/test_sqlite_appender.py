"""The append-only path of the group committer on a real SQLite file.

It must store exactly what the ordinary SQLAlchemy path stores, acknowledge only after its
COMMIT, and hand a batch it cannot commit to the ordinary path, which isolates the bad op.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from store import migrate
from store.batcher import GroupCommitter
from store.db import create_engine
from store.outbox_store import event_row
from store.schema import meter_samples, outbox
from tests.integration.conftest import seed


def sample(i: int, charger: str = "CP1") -> dict[str, Any]:
    at = datetime(2026, 11, 23, 20, 0, tzinfo=UTC) + timedelta(seconds=i, microseconds=i)
    return {
        "charger_id": charger,
        "connector_id": 1,
        "session_id": None,
        "ts": at,
        "energy_mwh": 1_000_000 + i,
        "power_w": 7200,
        "context": "Sample.Periodic",
        "values": [{"value": f"{1000 + i}.5", "measurand": "Energy.Active.Import.Register"}],
        "received_at": at + timedelta(milliseconds=3),
    }


async def stored(engine: Any, table: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))  # noqa: S608
        return [tuple(row)[1:] for row in result]  # all but the id


@pytest.fixture
async def two(tmp_path: Path) -> Any:
    """Two fresh SQLite files: one committer with the append-only path, one without."""
    engines = []
    for name in ("fast", "plain"):
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/{name}.db")
        await migrate.upgrade(engine)
        await seed(engine)
        engines.append(engine)
    yield engines
    for engine in engines:
        await engine.dispose()


async def test_same_bytes_as_the_ordinary_path(two: list[Any]) -> None:
    fast_engine, plain_engine = two
    fast, plain = GroupCommitter(fast_engine), GroupCommitter(plain_engine, append_fast=False)
    assert fast.appender is not None and plain.appender is None
    assert fast.appender.plan(meter_samples, tuple(sample(0))) is not None  # no silent detour
    at = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    events = [event_row("session_updated", "S1", "CP1", {"session_id": 1, "wh": 5}, at)]
    for committer in (fast, plain):
        committer.start()
        await asyncio.gather(
            *(committer.rows(meter_samples, [sample(i)]) for i in range(50)),
            committer.rows_of({meter_samples: [sample(99)], outbox: [dict(events[0])]}),
        )
        await committer.close()
    assert await stored(fast_engine, "meter_samples") == await stored(plain_engine, "meter_samples")
    assert await stored(fast_engine, "outbox") == await stored(plain_engine, "outbox")
    assert len(await stored(fast_engine, "meter_samples")) == 51
    assert fast.ops == 51 and fast.commits < 51  # grouped


async def test_a_refused_row_fails_its_op_only(two: list[Any]) -> None:
    engine = two[0]
    committer = GroupCommitter(engine)
    committer.start()
    bad = sample(7)
    bad["session_id"] = 999_999  # no such session: the foreign key refuses it
    results = await asyncio.gather(
        committer.rows(meter_samples, [sample(1)]),
        committer.rows(meter_samples, [bad]),
        committer.rows(meter_samples, [sample(2)]),
        return_exceptions=True,
    )
    await committer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Exception) and "FOREIGN KEY" in str(results[1]).upper()
    assert [row[4] for row in await stored(engine, "meter_samples")] == [1_000_001, 1_000_002]


async def test_acked_means_committed_for_another_connection(two: list[Any]) -> None:
    engine = two[0]
    committer = GroupCommitter(engine)
    committer.start()
    await committer.rows(meter_samples, [sample(3)])
    # a separate engine (another process would see the same): the row is there
    other = create_engine(str(engine.url))
    try:
        assert len(await stored(other, "meter_samples")) == 1
    finally:
        await other.dispose()
        await committer.close()


async def test_a_row_missing_a_column_is_stored_as_the_ordinary_path_stores_it(
    two: list[Any],
) -> None:
    engine = two[0]
    committer = GroupCommitter(engine)
    committer.start()
    short = sample(5)
    del short["power_w"]  # the plan follows the first row's keys; this one lacks one
    results = await asyncio.gather(
        committer.rows(meter_samples, [sample(1)]),
        committer.rows(meter_samples, [short]),
        return_exceptions=True,
    )
    await committer.close()
    # the append-only path cannot plan the mix; the ordinary path stores the short row alone
    assert results == [None, None]
    assert [row[5] for row in await stored(engine, "meter_samples")] == [7200, None]
