"""billing_store.trace_inputs_of: a traced session's samples and statuses, many sessions per
query, each getting exactly its own (the status in force at its start, its changes up to its
stop, its samples with register or power), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from store import billing_store as bs
from store.schema import meter_samples, status_events
from tests.unit.billing.billing_testkit import World, local

T0 = datetime(2026, 10, 10, 8, tzinfo=UTC)


async def test_each_session_gets_its_own_samples_and_statuses(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    n = 11  # one statement of eight sessions, then one of four with a padded slot
    sids, wanted = [], []
    for i in range(n):
        start = local("2026-10-10 10:00") + timedelta(hours=2 * i)
        sid = await w.session("A", start, 60, 1000 + i, charger="CP1" if i % 2 else "CP2")
        sids.append(sid)
        wanted.append((sid, "CP1" if i % 2 else "CP2", 1, start, start + timedelta(hours=1)))
    statuses, samples = [], []
    for sid, charger, _, start, stop in wanted:
        for ts, status in (
            (start - timedelta(minutes=30), "Available"),  # replaced by the next one
            (start - timedelta(minutes=1), "Preparing"),  # in force at the start
            (start + timedelta(minutes=5), "Charging"),
            (stop, "Finishing"),  # at the stop: still read
            (stop + timedelta(seconds=1), "Available"),  # after the stop: not read
        ):
            statuses.append(_status(charger, ts, status))
        for minute, mwh, w_ in ((10, sid * 10, 7400), (20, None, 7000), (30, None, None)):
            samples.append(_sample(sid, charger, start + timedelta(minutes=minute), mwh, w_))
    statuses.append(_status("CP1", T0, "Faulted"))  # another connector's status: not read
    statuses[-1]["connector_id"] = 2
    async with engine.begin() as conn:
        await conn.execute(insert(status_events), statuses)
        await conn.execute(insert(meter_samples), samples)
    async with engine.connect() as conn:
        got = await bs.trace_inputs_of(conn, wanted)
    assert set(got) == set(sids)
    for sid, _, _, start, stop in wanted:
        got_samples, got_statuses = got[sid]
        assert got_samples == [
            (start + timedelta(minutes=10), sid * 10, 7400),
            (start + timedelta(minutes=20), None, 7000),
        ]
        assert got_statuses == [
            (start - timedelta(minutes=1), "Preparing"),
            (start + timedelta(minutes=5), "Charging"),
            (stop, "Finishing"),
        ]
    async with engine.connect() as conn:
        assert await bs.trace_inputs_of(conn, []) == {}


def _status(charger: str, ts: datetime, status: str) -> dict[str, object]:
    return {
        "charger_id": charger,
        "connector_id": 1,
        "status": status,
        "error_code": "NoError",
        "ts": ts,
        "received_at": ts,
    }


def _sample(
    sid: int, charger: str, ts: datetime, mwh: int | None, w: int | None
) -> dict[str, object]:
    return {
        "charger_id": charger,
        "connector_id": 1,
        "session_id": sid,
        "ts": ts,
        "energy_mwh": mwh,
        "power_w": w,
        "values": [],
        "received_at": ts,
    }
