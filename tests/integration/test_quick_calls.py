"""MeterValues without a task: acked from the commit's callback, in order, never early.

The adapter's `quick` takes a MeterValues of a booted charger whose session it knows; every
other call, and any MeterValues that needs a read or a CallError, goes through `handle`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ocpp_j import CALLRESULT
from store.batcher import GroupCommitter
from store.schema import meter_samples
from tests.integration.conftest import Env
from tests.support.ocpp_client import CallErrorReceived, Charger, at, iso, sample


@pytest.fixture
def handled(env: Env, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The actions that went through the adapter's `handle` (the task's way)."""
    actions: list[str] = []
    real = env.gateway.adapter.handle

    async def counting(ctx: Any, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        actions.append(action)
        return await real(ctx, action, payload)

    monkeypatch.setattr(env.gateway.adapter, "handle", counting)
    return actions


async def charging(env: Env, charger: str = "CP1") -> tuple[Charger, int]:
    cp = await Charger.connect(env.url(charger))
    await cp.boot()
    started = await cp.start("TAG1", 1000, at(0))
    return cp, started["transactionId"]


def meter_frame(message_id: str, tx: int | None, minute: int, wh: str) -> str:
    payload: dict[str, Any] = {"connectorId": 1, "meterValue": [sample(at(minute), wh)]}
    if tx is not None:
        payload["transactionId"] = tx
    return json.dumps([2, message_id, "MeterValues", payload])


async def test_a_known_sessions_meter_values_are_quick_and_stored_before_the_ack(
    env: Env, handled: list[str]
) -> None:
    cp, tx = await charging(env)
    for minute in (1, 2, 3):
        await cp.meter(tx, at(minute), f"{1000 + minute}.5")
        # the ack came: the row is there already
        assert len(await env.samples()) == minute
    assert handled == ["BootNotification", "StartTransaction"]
    samples = await env.samples()
    assert [s["energy_mwh"] for s in samples] == [1_001_500, 1_002_500, 1_003_500]
    assert {s["session_id"] for s in samples} == {tx}
    await cp.close()


async def test_what_quick_cannot_answer_goes_the_tasks_way(env: Env, handled: list[str]) -> None:
    other, other_tx = await charging(env, "CP2")
    cp, tx = await charging(env)
    handled.clear()
    # another charger's transaction: a read says it is not ours, so no session
    await cp.meter(other_tx, at(5), "1005")
    # a payload the schema refuses: the CallError comes from handle
    with pytest.raises(CallErrorReceived) as refused:
        await cp.call("MeterValues", {"connectorId": 1, "meterValue": []})
    assert refused.value.code == "OccurenceConstraintViolation"
    bad_time = {"connectorId": 1, "transactionId": tx, "meterValue": [sample(at(6), "1006")]}
    bad_time["meterValue"][0]["timestamp"] = "2026-11-23T23:59:60Z"  # a leap second
    with pytest.raises(CallErrorReceived) as refused:
        await cp.call("MeterValues", bad_time)
    assert refused.value.code == "TypeConstraintViolation"
    assert handled == ["MeterValues", "MeterValues", "MeterValues"]
    samples = await env.samples()
    assert [(s["charger_id"], s["session_id"]) for s in samples] == [("CP1", None)]
    await cp.close()
    await other.close()


async def test_a_charger_that_has_not_booted_is_not_quick(env: Env, handled: list[str]) -> None:
    cp, tx = await charging(env)
    await cp.close()
    again = await Charger.connect(env.url("CP1"))  # firmware 6.x: no boot after a reconnect
    handled.clear()
    await again.meter(tx, at(7), "1007")
    assert handled == ["MeterValues"]
    for _ in range(50):  # and it is asked to boot
        if any(action == "TriggerMessage" for action, _ in again.received_calls):
            break
        await asyncio.sleep(0.05)
    assert ("TriggerMessage", {"requestedMessage": "BootNotification"}) in again.received_calls
    assert [s["session_id"] for s in await env.samples()] == [tx]
    await again.close()


async def test_calls_sent_at_once_are_answered_in_order(env: Env, handled: list[str]) -> None:
    cp, tx = await charging(env)
    handled.clear()
    frames = [
        meter_frame("m1", tx, 1, "1001"),
        json.dumps([2, "h1", "Heartbeat", {}]),
        meter_frame("m2", tx, 2, "1002"),
        meter_frame("m3", tx, 3, "1003"),
        json.dumps(
            [
                2,
                "s1",
                "StatusNotification",
                {
                    "connectorId": 1,
                    "errorCode": "NoError",
                    "status": "Charging",
                    "timestamp": iso(at(3)),
                },
            ]
        ),
        meter_frame("m4", tx, 4, "1004"),
    ]
    answers: list[list[Any]] = []
    real_read = cp._reader
    real_read.cancel()  # read the answers ourselves, in the order they come
    for frame in frames:
        await cp.ws.send(frame)
    for _ in frames:
        answers.append(json.loads(await asyncio.wait_for(cp.ws.recv(), 10)))
    assert [a[1] for a in answers] == ["m1", "h1", "m2", "m3", "s1", "m4"]
    assert all(a[0] == CALLRESULT for a in answers), answers
    assert [s["energy_mwh"] for s in await env.samples()] == [
        1_001_000,
        1_002_000,
        1_003_000,
        1_004_000,
    ]
    await cp.ws.close()


async def test_a_refused_commit_is_an_internal_error_and_the_charger_stays(env: Env) -> None:
    cp, tx = await charging(env)
    async with env.engine.begin() as conn:  # the session vanishes behind the connection's back
        await conn.execute(text("DELETE FROM sessions WHERE id = :tx"), {"tx": tx})
    with pytest.raises(CallErrorReceived) as failed:
        await cp.meter(tx, at(8), "1008")
    assert failed.value.code == "InternalError"
    assert "send it again later" in failed.value.description
    assert await env.samples() == []
    assert "currentTime" in await cp.call("Heartbeat", {})
    await cp.close()


@asynccontextmanager
async def writes_held(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the store's write lock (SQLite) or meter_samples' (PostgreSQL) until exit."""
    held = (
        "UPDATE chargers SET state = state"
        if engine.dialect.name == "sqlite"
        else "LOCK TABLE meter_samples IN SHARE MODE"
    )
    async with engine.begin() as conn:
        await conn.execute(text(held))
        yield


async def test_a_charger_leaving_mid_commit_is_gone_only_after_it(env: Env) -> None:
    cp, tx = await charging(env)
    async with writes_held(env.engine):
        await cp.ws.send(meter_frame("m1", tx, 9, "1009"))
        await asyncio.sleep(0.3)
        await cp.close()
        await asyncio.sleep(0.3)
        # the socket is closed, but its MeterValues is still in hand
        assert env.gateway.registry.get("CP1") is not None
    for _ in range(100):
        if env.gateway.registry.get("CP1") is None:
            break
        await asyncio.sleep(0.05)
    assert env.gateway.registry.get("CP1") is None
    assert [(s["energy_mwh"], s["session_id"]) for s in await env.samples()] == [(1_009_000, tx)]


async def test_a_failing_callback_does_not_stop_the_committer(engine: AsyncEngine) -> None:
    from tests.integration.conftest import seed

    await seed(engine)
    committer = GroupCommitter(engine)
    committer.start()
    seen: list[BaseException | None] = []
    done = asyncio.Event()

    def boom(error: BaseException | None) -> None:
        raise RuntimeError("a broken callback")

    def record(error: BaseException | None) -> None:
        seen.append(error)
        done.set()

    row = {
        "charger_id": "CP1",
        "connector_id": 1,
        "session_id": None,
        "ts": at(1),
        "energy_mwh": 1,
        "power_w": None,
        "context": None,
        "values": [],
        "received_at": at(1),
    }
    committer.append({meter_samples: [dict(row)]}, boom)
    await asyncio.sleep(0.2)
    committer.append({meter_samples: [dict(row)]}, record)
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [None]
    await committer.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        committer.append({meter_samples: [dict(row)]}, record)
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM meter_samples"))).scalar()
    assert count == 2
