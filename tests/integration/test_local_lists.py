"""Local authorization lists in the store, on SQLite and PostgreSQL: the derived list agrees
with Authorize, changes are counted per charger, answers are stored, the job runs once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.service import decide, id_tag_info
from services import local_list, local_list_job
from services.context import CLI
from store import admin, charging, local_lists, locks
from store.db import create_engine
from tests.integration.api.conftest import add_subscriber
from tests.integration.conftest import Env, update_charger

NOW = datetime.now(UTC)


async def _seed_tokens(engine: AsyncEngine) -> list[str]:
    """S1 gets a card in every state Authorize tells apart."""
    async with engine.begin() as conn:
        await admin.add_tokens(conn, "S1", ["OLD", "SOON"])
        await admin.set_token_expiry(conn, "S1", "OLD", NOW - timedelta(days=1))
        await admin.set_token_expiry(conn, "S1", "SOON", NOW + timedelta(days=1))
        for tag, state in (
            ("SUB", "active"),
            ("SUSP", "suspended"),
            ("GONE", "cancelled"),
        ):
            await add_subscriber(conn, "S1", tag, state)
        await add_subscriber(conn, "S1", "TAG1")  # an existing card gets its owner
    return ["BLOCKED", "GONE", "OLD", "SOON", "SUB", "SUSP", "TAG1", "TAG2"]


async def test_the_derived_list_is_what_authorize_answers(env: Env) -> None:
    tags = await _seed_tokens(env.engine)
    for monthly, policy in ((False, "open"), (True, "open"), (False, "registered")):
        async with env.engine.begin() as conn:
            await update_charger(conn, "CP1", monthly_payment=monthly)
            await conn.exec_driver_sql(f"UPDATE sites SET auth_policy = '{policy}' WHERE id = 'S1'")
        async with env.engine.connect() as conn:
            _, wanted = await local_list.wanted(conn, "CP1", NOW)
            keys = [("CP1", "S1", tag) for tag in tags]
            facts = await charging.authorize_facts_of(conn, keys)
        assert sorted(wanted) == tags
        for key in keys:
            status, _ = decide(*facts[key], at=NOW)
            assert wanted[key[2]] == id_tag_info(status, facts[key][3]), (monthly, key)
        if monthly:
            accepted = {t for t, i in wanted.items() if i["status"] == "Accepted"}
            assert accepted == {"SUB", "TAG1"}


async def test_changes_are_counted_and_a_push_counts_off_only_what_it_saw(env: Env) -> None:
    async with env.engine.begin() as conn:
        await local_lists.mark_site(conn, "S1")
    async with env.engine.begin() as conn:
        await local_lists.mark_site(conn, "S1")
        await local_lists.mark_charger(conn, "CP1")
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP1"))["dirty"] == 3  # type: ignore[index]
        assert (await local_lists.get(conn, "CP2"))["dirty"] == 2  # type: ignore[index]
        assert await local_lists.get(conn, "SECURE") is None  # another site's charger
        assert await local_lists.due(conn, NOW) == ["CP1", "CP2"]
    async with env.engine.begin() as conn:
        await local_lists.counted_off(conn, "CP1", 2)  # a change came in during the push
        await local_lists.counted_off(conn, "CP2", 2)
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP1"))["dirty"] == 1  # type: ignore[index]
        assert await local_lists.due(conn, NOW) == ["CP1"]


async def test_marks_from_two_transactions_at_once_both_count(env: Env, db_url: str) -> None:
    other = create_engine(db_url)
    try:

        async def mark(engine: AsyncEngine) -> None:
            async with engine.begin() as conn:
                await local_lists.mark_site(conn, "S1")

        await asyncio.gather(mark(env.engine), mark(other))
    finally:
        await other.dispose()
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP1"))["dirty"] == 2  # type: ignore[index]


async def test_an_accepted_entry_that_expires_makes_the_charger_due(env: Env) -> None:
    soon = NOW + timedelta(hours=1)
    held = {"A": {"status": "Accepted", "expiryDate": soon.isoformat()}}
    async with env.engine.begin() as conn:
        await local_lists.record_answer(conn, "CP1", 1, "Accepted", NOW, held, True, soon)
    async with env.engine.connect() as conn:
        row = await local_lists.get(conn, "CP1")
        assert row is not None and row["entries"] == held and row["version"] == 1
        assert row["full_next"] is False and row["expires_next"] == soon
        assert await local_lists.due(conn, NOW) == []
        assert await local_lists.due(conn, soon) == ["CP1"]


async def test_failures_back_off_and_a_new_change_retries_at_once(env: Env) -> None:
    async with env.engine.begin() as conn:
        await local_lists.mark_charger(conn, "CP1")
        await local_lists.record_answer(conn, "CP1", 1, "Failed", NOW)
        first = (await local_lists.get(conn, "CP1"))["retry_at"]  # type: ignore[index]
        await local_lists.record_answer(conn, "CP1", 1, "Failed", NOW)
        second = (await local_lists.get(conn, "CP1"))["retry_at"]  # type: ignore[index]
    assert first - NOW == local_lists.FIRST_RETRY and second - NOW == 2 * local_lists.FIRST_RETRY
    async with env.engine.connect() as conn:
        assert await local_lists.due(conn, NOW) == []
        assert await local_lists.due(conn, second) == ["CP1"]
    async with env.engine.begin() as conn:
        await local_lists.mark_site(conn, "S1")  # a new change does not wait out the delay
    async with env.engine.connect() as conn:
        assert await local_lists.due(conn, NOW) == ["CP1", "CP2"]


async def test_version_answers(env: Env) -> None:
    async with env.engine.begin() as conn:
        await local_lists.record_answer(conn, "CP1", 4, "Accepted", NOW, {}, True)
        await local_lists.record_version(conn, "CP1", 4)
    async with env.engine.connect() as conn:
        row = await local_lists.get(conn, "CP1")
    assert row is not None and row["full_next"] is False and row["supported"] is True
    async with env.engine.begin() as conn:
        await local_lists.record_version(conn, "CP1", 9)  # not ours: what it holds is unknown
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP1"))["full_next"] is True  # type: ignore[index]
    async with env.engine.begin() as conn:
        await local_lists.record_version(conn, "CP1", -1)
        await local_lists.mark_charger(conn, "CP1")
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP1"))["supported"] is False  # type: ignore[index]
        assert await local_lists.due(conn, NOW) == []  # never pushed on its own


async def test_one_instance_runs_the_job_round(env: Env, db_url: str) -> None:
    async with env.engine.begin() as conn:
        await local_lists.mark_site(conn, "S1")
    other = create_engine(db_url)
    try:
        job = local_list_job.LocalListJob(other, env.gateway.registry)
        async with locks.held(env.engine, locks.LOCAL_LISTS) as mine:
            assert mine
            if env.engine.dialect.name == "postgresql":
                assert await job.tick() == {}  # the other instance holds the round
        assert await job.tick() == {}  # its own round: no charger online, nothing sent
    finally:
        await other.dispose()
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP1"))["dirty"] == 1  # type: ignore[index]


async def test_token_and_subscriber_services_mark_the_site(env: Env) -> None:
    from services import subscribers as subscriber_service
    from services import tokens

    async with env.engine.begin() as conn:
        await tokens.add(conn, CLI, "S1", "NEW")
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP2"))["dirty"] == 1  # type: ignore[index]
    async with env.engine.begin() as conn:
        sid = await add_subscriber(conn, "S1", None)
        await subscriber_service.add_token(conn, CLI, sid, "NEW")
        await subscriber_service.transition(conn, CLI, sid, "suspend")
        await tokens.set_expiry(conn, CLI, "S1", "NEW", NOW)
    async with env.engine.connect() as conn:
        assert (await local_lists.get(conn, "CP2"))["dirty"] == 4  # type: ignore[index]
        assert await local_lists.get(conn, "SECURE") is None
