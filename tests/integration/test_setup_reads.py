"""The cheap setup path gives the same answers as the plain reads it replaced.

`authorize_facts`, `start_facts` and `token_on_charger_site` (one query each) are held equal
to `load_charger`, `token_state`, `charger_snapshot`, `find_session_by_key` and
`session_subscriber`; queued boot and status writes keep their order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.service import ChargingService
from store import admin
from store import charging as db
from store.batcher import Batch, GroupCommitter
from store.billing_store import session_subscriber
from store.schema import chargers, connectors, sessions
from tests.integration.conftest import add_subscribers, seed

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def service(engine: AsyncEngine) -> AsyncIterator[ChargingService]:
    await seed(engine)
    committer = GroupCommitter(engine)
    committer.start()
    try:
        yield ChargingService(engine, committer)
    finally:
        await committer.close()


def session_row(charger_id: str, connector_id: int, n: int, **values: Any) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(hours=3) + timedelta(minutes=n)
    return {
        "charger_id": charger_id,
        "connector_id": connector_id,
        "id_tag": "TAG1",
        "auth_status": "Accepted",
        "started_at": start,
        "charger_started_at": start,
        "meter_start_wh": 1000 * n,
        "monthly_payment": False,
        "flags": [],
        "received_at": start,
        "stopped_at": None,
        **values,
    }


async def add_sessions(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(sessions),
            [
                session_row("CP1", 1, 1),  # open
                session_row("CP1", 2, 2, stopped_at=now - timedelta(hours=2)),
                session_row("CP1", 2, 3, stopped_at=now - timedelta(hours=1)),  # latest stop
                session_row("CP1", 3, 4, stopped_at=now - timedelta(days=2)),  # too old
                session_row("CP2", 1, 5, stopped_at=now - timedelta(minutes=5)),
                session_row("SECURE", 1, 6),
            ],
        )


TAGS = ("TAG1", "TAG2", "SUSPENDED", "BLOCKED", "STRANGER")


@pytest.mark.parametrize("monthly", [False, True])
async def test_authorize_facts_equal_the_two_reads(
    service: ChargingService, engine: AsyncEngine, monthly: bool
) -> None:
    await add_subscribers(engine)
    async with engine.begin() as conn:
        await admin.update_charger(conn, "CP1", monthly_payment=monthly)
    keys = [(c, s, t) for c in ("CP1", "CP2", "GONE") for s in ("S1", "S2", None) for t in TAGS]
    async with engine.connect() as conn:
        for charger_id, site_id, id_tag in keys:
            charger = await db.load_charger(conn, charger_id)
            expected = (
                bool(charger and charger["monthly_payment"]),
                *await db.token_state(conn, site_id, id_tag),
            )
            got = await db.authorize_facts(conn, charger_id, site_id, id_tag)
            assert got == expected, (charger_id, site_id, id_tag)


async def test_start_facts_and_stop_token_equal_the_reads_they_replace(
    service: ChargingService, engine: AsyncEngine
) -> None:
    await add_subscribers(engine)
    await add_sessions(engine)
    async with engine.begin() as conn:
        await admin.update_charger(conn, "CP2", monthly_payment=True)
        await conn.execute(
            chargers.insert().values(id="LOOSE", site_id=None, state="pending", created_at=T0)
        )
        replayed = (await conn.execute(select(sessions).where(sessions.c.id == 2))).one()

    keys = [
        {
            "charger_id": c,
            "connector_id": 1,
            "id_tag": t,
            "charger_started_at": T0,
            "meter_start_wh": 7,
        }
        for c in ("CP1", "CP2", "NOPASS", "LOOSE")
        for t in TAGS
    ]
    keys.append({k: replayed._mapping[k] for k in keys[0]})  # a replay of session 2

    async def check(batch: Batch) -> None:
        for key in keys:
            got = await db.start_facts(batch, key)
            snap = await db.charger_snapshot(batch, key["charger_id"])
            existing = await db.find_session_by_key(batch, key)
            token, subscriber = await db.token_state(batch, snap["site_id"], key["id_tag"])
            owner = await session_subscriber(batch, snap["site_id"], key["id_tag"])
            assert got == {
                **snap,
                "token_state": token,
                "subscriber_state": subscriber,
                "subscriber_id": owner,
                "session_id": existing["id"] if existing else None,
                "auth_status": existing["auth_status"] if existing else None,
            }, key
            on_site = await db.token_on_charger_site(batch, key["charger_id"], key["id_tag"])
            assert on_site == token
        assert (await db.start_facts(batch, keys[-1]))["session_id"] == 2
        gone = {**keys[0], "charger_id": "GONE"}
        with pytest.raises(NoResultFound):
            await db.start_facts(batch, gone)
        with pytest.raises(NoResultFound):
            await db.token_on_charger_site(batch, "GONE", "TAG1")

    await service.committer.run(check)


async def test_queued_boot_and_status_writes_keep_their_order(
    service: ChargingService, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        charger = await db.load_charger(conn, "CP1")
    assert charger is not None
    ctx = await service.load_context(charger)
    other = await service.load_context({**charger, "id": "CP2"})

    # all handed over before the committer runs: one transaction, queued writes
    commits = service.committer.commits
    await asyncio.gather(
        service.disconnected(other),  # another charger's touch first
        service.boot(ctx, {"vendor": "V", "model": "M", "serial": None, "firmware": "1"}),
        service.status(ctx, 1, "Available", "NoError", T0, {}),
        service.status(ctx, 1, "Preparing", "NoError", T0 + timedelta(seconds=1), {}),
        service.status(ctx, 1, "Charging", "NoError", T0 + timedelta(seconds=2), {}),
        service.disconnected(ctx),
    )
    assert service.committer.commits == commits + 1
    async with engine.connect() as conn:
        row = (await conn.execute(select(chargers).where(chargers.c.id == "CP1"))).one()
        state = (await conn.execute(select(connectors))).all()
    assert (row.vendor, row.model, row.serial, row.firmware) == ("V", "M", None, "1")
    assert row.last_seen_at > row.last_boot_at  # the disconnect came after the boot
    assert [(s.charger_id, s.connector_id, s.status) for s in state] == [("CP1", 1, "Charging")]
