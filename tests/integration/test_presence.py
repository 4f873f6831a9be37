"""Presence across instances (store/presence.py): a killed instance's chargers are swept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from store import presence
from store.schema import charger_presence, instances, outbox
from tests.integration.conftest import Env
from tests.support.ocpp_client import Charger


async def test_a_silent_instances_chargers_go_offline_once(env: Env) -> None:
    now = datetime.now(UTC)
    async with env.engine.begin() as conn:  # an instance SIGKILLed two minutes ago
        await conn.execute(
            insert(instances).values(
                id="dead", host="h", started_at=now, seen_at=now - timedelta(minutes=2)
            )
        )
        await conn.execute(
            insert(charger_presence).values(
                charger_id="CP2", instance_id="dead", connection_id="c", since=now
            )
        )
    live = await Charger.connect(env.url("CP1"))  # held by this instance, which beats
    await live.boot()
    async with env.engine.connect() as conn:
        assert await presence.online(conn, ["CP1", "CP2"], now) == {"CP1"}  # dead's is stale
    await env.gateway.service.beat("h")
    await env.gateway.service.beat("h")  # a second sweep finds nothing more
    async with env.engine.connect() as conn:
        held = [r[0] for r in await conn.execute(select(charger_presence.c.charger_id))]
        events = (
            await conn.execute(
                select(outbox.c.kind, outbox.c.charger_id, outbox.c.payload).where(
                    outbox.c.kind == "charger_offline"
                )
            )
        ).all()
        left = [r[0] for r in await conn.execute(select(instances.c.id))]
    assert held == ["CP1"]
    assert [(k, c, p.get("instance_gone")) for k, c, p in events] == [
        ("charger_offline", "CP2", True)
    ]
    assert "dead" not in left and len(left) == 1
    await live.close()
