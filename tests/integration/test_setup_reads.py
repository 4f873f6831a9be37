"""The cheap connect and setup path gives the same answers as the plain reads it replaced.

`ChargingService.lookup` and `authorize` (coalesced reads), `authorize_facts_of`, `start_facts`
and `token_on_charger_site` are held equal to `load_charger` + `load_context`,
`token_state`, `charger_snapshot`, `find_session_by_key` and `session_subscriber` (the plain
reads, kept here as the references; only the last three are production code); queued
boot and status writes keep their order; the starts of one transaction share one read and
stay idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, or_, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.service import RECENT_STOPS, ChargerContext, ChargingService, _context, now
from store import admin
from store import charging as db
from store.batcher import Batch, GroupCommitter
from store.schema import chargers, connectors, sessions, sites, subscribers, tokens
from tests.integration.conftest import add_subscribers, seed, update_charger

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


# --- the plain one-row reads the batched paths replaced: the references they are held to ------


async def load_charger(conn: AsyncConnection, charger_id: str) -> dict[str, Any] | None:
    """The charger with what its site allows, or None when it is unknown."""
    query = (
        select(chargers, sites.c.allow_passwordless, sites.c.tz, sites.c.security_profile)
        .select_from(chargers.outerjoin(sites, sites.c.id == chargers.c.site_id))
        .where(chargers.c.id == charger_id)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def recent_sessions(
    conn: AsyncConnection, charger_id: str, stopped_since: datetime
) -> list[dict[str, Any]]:
    """A charger's open sessions, then those stopped since `stopped_since` (oldest first)."""
    keys = ("id", "connector_id", "started_at", "stopped_at", "meter_start_wh")
    query = (
        select(*(sessions.c[k] for k in keys))
        .where(
            sessions.c.charger_id == charger_id,
            or_(sessions.c.stopped_at.is_(None), sessions.c.stopped_at >= stopped_since),
        )
        .order_by(sessions.c.stopped_at.is_not(None), sessions.c.stopped_at, sessions.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def load_context(service: ChargingService, charger: dict[str, Any]) -> ChargerContext:
    """A connection's context read on its own (what `ChargingService.lookup` batches)."""
    async with service.engine.connect() as conn:
        recent = await recent_sessions(conn, charger["id"], now() - RECENT_STOPS)
    return _context(charger, recent)


async def token_state(
    conn: AsyncConnection | Batch, site_id: str | None, id_tag: str
) -> tuple[str | None, str | None]:
    """(token state, subscriber state) of a token on a site; (None, None) when unknown."""
    if site_id is None:
        return None, None
    query = (
        select(tokens.c.state, subscribers.c.state)
        .select_from(tokens.outerjoin(subscribers, subscribers.c.id == tokens.c.subscriber_id))
        .where(tokens.c.site_id == site_id, tokens.c.id_tag == id_tag)
    )
    row: Any = (await conn.execute(query)).first()
    return (None, None) if row is None else (row[0], row[1])


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


def same_context(a: ChargerContext, b: ChargerContext) -> None:
    left, right = asdict(a), asdict(b)
    assert abs(left.pop("connected_at") - right.pop("connected_at")) < timedelta(seconds=5)
    assert left == right


async def test_lookup_gives_what_load_charger_and_load_context_give(
    service: ChargingService, engine: AsyncEngine
) -> None:
    await add_sessions(engine)
    ids = ["CP1", "CP2", "SECURE", "NOPASS"]
    answers = await asyncio.gather(*(service.lookup(i) for i in ids))
    for charger_id, (charger, ctx) in zip(ids, answers, strict=True):
        async with engine.connect() as conn:
            expected = await load_charger(conn, charger_id)
        assert expected is not None and charger == expected
        assert "allow_passwordless" in charger and "tz" in charger
        assert ctx is not None
        same_context(ctx, await load_context(service, expected))
    cp1 = answers[0][1]
    assert cp1 is not None and set(cp1.open_sessions) == {1} and set(cp1.recent_stops) == {2}
    assert cp1.recent_stops[2][0] == 3 and cp1.known_sessions == {1, 2, 3}
    assert await service.lookup("NOBODY") == (None, None)


async def test_concurrent_lookups_share_one_connection_and_two_queries(
    service: ChargingService, engine: AsyncEngine
) -> None:
    await add_sessions(engine)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        ids = ["CP1", "CP2", "SECURE", "NOPASS", "NOBODY", "CP1"] * 20
        answers = await asyncio.gather(*(service.lookup(i) for i in ids))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2, reads
    assert [a[0]["id"] if a[0] else None for a in answers] == [
        None if i == "NOBODY" else i for i in ids
    ]
    # every connection its own row and context, even for the same charger
    contexts = [ctx for _, ctx in answers if ctx is not None]
    assert len({id(c) for c in contexts}) == len(contexts)
    rows = [row for row, _ in answers if row is not None]
    assert len({id(r) for r in rows}) == len(rows)


async def test_a_failed_lookup_round_fails_its_callers_only(
    service: ChargingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.lookups.fetch
    calls = 0

    async def flaky(ids: list[str]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real(ids)

    monkeypatch.setattr(service.lookups, "fetch", flaky)
    answers = await asyncio.gather(
        service.lookup("CP1"), service.lookup("CP2"), return_exceptions=True
    )
    assert all(isinstance(a, RuntimeError) for a in answers)
    charger, ctx = await service.lookup("CP1")
    assert charger is not None and ctx is not None and ctx.id == "CP1"


TAGS = ("TAG1", "TAG2", "SUSPENDED", "BLOCKED", "STRANGER")


@pytest.mark.parametrize("monthly", [False, True])
async def test_authorize_facts_equal_the_two_reads(
    service: ChargingService, engine: AsyncEngine, monthly: bool
) -> None:
    await add_subscribers(engine)
    async with engine.begin() as conn:
        await update_charger(conn, "CP1", monthly_payment=monthly)
    keys = [(c, s, t) for c in ("CP1", "CP2", "GONE") for s in ("S1", "S2", None) for t in TAGS]
    async with engine.connect() as conn:
        got = await db.authorize_facts_of(conn, keys)
        assert set(got) == set(keys)
        for charger_id, site_id, id_tag in keys:
            charger = await load_charger(conn, charger_id)
            expected = (
                bool(charger and charger["monthly_payment"]),
                *await token_state(conn, site_id, id_tag),
            )
            facts = got[(charger_id, site_id, id_tag)]
            assert facts[:3] == expected, (charger_id, site_id, id_tag)
            assert facts[3:] == (None, "open"), (charger_id, site_id, id_tag)  # no expiry set


async def test_concurrent_authorizations_share_one_round(
    service: ChargingService, engine: AsyncEngine
) -> None:
    await add_subscribers(engine)
    async with engine.begin() as conn:
        await update_charger(conn, "CP2", monthly_payment=True)
    contexts = [(await service.lookup(charger_id))[1] for charger_id in ("CP1", "CP2", "SECURE")]
    asks = [(ctx, tag) for ctx in contexts for tag in TAGS] * 3
    rounds = service.authorizations.rounds
    answers = await asyncio.gather(*(service.authorize(ctx, tag) for ctx, tag in asks))
    assert service.authorizations.rounds == rounds + 1
    expected = {
        ("CP1", "TAG1"): "Accepted",
        ("CP1", "BLOCKED"): "Blocked",
        ("CP1", "STRANGER"): "Accepted",
        ("CP2", "TAG1"): "Accepted",
        ("CP2", "TAG2"): "Invalid",
        ("CP2", "SUSPENDED"): "Blocked",
        ("CP2", "BLOCKED"): "Blocked",
        ("CP2", "STRANGER"): "Invalid",
        ("SECURE", "BLOCKED"): "Accepted",  # S2 has no tokens: S1's block does not apply
    }
    for (ctx, tag), answer in zip(asks, answers, strict=True):
        if (ctx.id, tag) in expected:
            assert answer["status"] == expected[(ctx.id, tag)], (ctx.id, tag)


async def test_start_facts_and_stop_token_equal_the_reads_they_replace(
    service: ChargingService, engine: AsyncEngine
) -> None:
    await add_subscribers(engine)
    await add_sessions(engine)
    async with engine.begin() as conn:
        await update_charger(conn, "CP2", monthly_payment=True)
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
            token, subscriber = await token_state(batch, snap["site_id"], key["id_tag"])
            owner = await session_subscriber(batch, snap["site_id"], key["id_tag"])
            assert got == {
                **snap,
                "token_state": token,
                "subscriber_state": subscriber,
                "subscriber_id": owner,
                "session_id": existing["id"] if existing else None,
                "auth_status": existing["auth_status"] if existing else None,
                "token_expires_at": None,  # none set here
                "auth_policy": "open" if snap["site_id"] else None,  # the default; no site
            }, key
            on_site = await db.token_on_charger_site(batch, key["charger_id"], key["id_tag"])
            assert on_site == token
        # many at once (the committer's read ahead) give the same as one by one
        many = await db.start_facts_of(batch, [tuple(k[c] for c in db.START_KEY) for k in keys])
        assert len(many) == len(keys)
        for key in keys:
            assert many[tuple(key[c] for c in db.START_KEY)] == await db.start_facts(batch, key)
        assert (await db.start_facts(batch, keys[-1]))["session_id"] == 2
        gone = {**keys[0], "charger_id": "GONE"}
        with pytest.raises(NoResultFound):
            await db.start_facts(batch, gone)
        gone_key = tuple(gone[c] for c in db.START_KEY)
        assert await db.start_facts_of(batch, [gone_key, gone_key]) == {}
        with pytest.raises(NoResultFound):
            await db.token_on_charger_site(batch, "GONE", "TAG1")

    await service.committer.run(check)


async def test_queued_boot_and_status_writes_keep_their_order(
    service: ChargingService, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        charger = await load_charger(conn, "CP1")
    assert charger is not None
    ctx = await load_context(service, charger)
    other = await load_context(service, {**charger, "id": "CP2"})

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


async def test_starts_in_one_transaction_read_together_and_stay_idempotent(
    service: ChargingService, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_subscribers(engine)
    async with engine.begin() as conn:
        await update_charger(conn, "CP2", monthly_payment=True)
        await admin.add_chargers(conn, [admin.charger_row(f"F{i}", "S1", None) for i in range(40)])
    contexts = {}
    for charger_id in ("CP1", "CP2", *(f"F{i}" for i in range(40))):
        _, ctx = await service.lookup(charger_id)
        assert ctx is not None
        contexts[charger_id] = ctx
    _, twin = await service.lookup("CP1")  # a second socket of CP1 (replaced connection)
    assert twin is not None
    first = await service.start(contexts["CP1"], 1, "TAG1", 10, T0, None)  # replayed below

    reads: list[int] = []
    real = db.start_facts_of

    async def counting(batch: Batch, keys: list[Any]) -> Any:
        reads.append(len(keys))
        return await real(batch, keys)

    commits = service.committer.commits
    calls = [
        service.start(contexts[f"F{i}"], 1 + i % 2, TAGS[i % len(TAGS)], i, T0, None)
        for i in range(40)
    ]
    calls += [
        service.start(contexts["CP1"], 1, "TAG1", 10, T0, None),  # replay of a committed start
        service.start(contexts["CP1"], 2, "TAG2", 20, T0, None),  # the same start twice in
        service.start(twin, 2, "TAG2", 20, T0, None),  # one transaction, from two sockets
        service.start(contexts["CP2"], 1, "STRANGER", 30, T0, None),  # refused: monthly mode
        service.start(contexts["CP2"], 2, "TAG1", 40, T0, None),
    ]
    # the op names the read it shares (looked up when it runs): count them
    monkeypatch.setattr(db, "start_facts_of", counting)
    results = await asyncio.gather(*calls)
    assert service.committer.commits == commits + 1
    assert reads == [len(calls)]
    replay, once, twice, refused, accepted = results[40:]
    assert replay == first
    assert once == twice and once.status == "Accepted"
    assert refused.status == "Invalid" and accepted.status == "Accepted"
    new = [r.transaction_id for r in results[:40]] + [once.transaction_id]
    new += [refused.transaction_id, accepted.transaction_id]
    assert len(set(new)) == len(new) and first.transaction_id not in new
    async with engine.connect() as conn:
        rows = {r.id: r for r in (await conn.execute(select(sessions))).all()}
    assert len(rows) == len(new) + 1
    for i, result in enumerate(results[:40]):
        row = rows[result.transaction_id]
        assert (row.charger_id, row.connector_id, row.id_tag, row.meter_start_wh) == (
            f"F{i}",
            1 + i % 2,
            TAGS[i % len(TAGS)],
            i,
        )
        assert row.auth_status == result.status
        assert result.status == ("Blocked" if TAGS[i % len(TAGS)] == "BLOCKED" else "Accepted")
    assert rows[accepted.transaction_id].subscriber_id is not None
    assert rows[refused.transaction_id].subscriber_id is None
