"""Two `evgate serve` processes on one PostgreSQL and one Mosquitto.

A remote stop given to instance B's API ends a session on a charger connected to instance A,
and the session's events come out of the broker once, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import httpx
import orjson
import pytest

from tests.support.ocpp_client import Charger, at
from tests.support.server_process import ServeProcess, add_business_site, run_cli
from tests.support.services import MQTT_URL, fresh_pg_database, reachable, unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_pg_database() as url:
        yield url


async def test_remote_stop_through_the_other_instance(pg_url: str, tmp_path: Path) -> None:
    why = reachable(MQTT_URL, 1883)
    if why:
        unavailable("Mosquitto", why)
    add_business_site(pg_url)
    run_cli("chargers", "add", "CP1", "--site", "S1", db_url=pg_url)
    token = run_cli("admin", "create-token", "--role", "super-admin", db_url=pg_url).stdout.strip()
    events: list[dict] = []
    ready = asyncio.Event()

    async def listen() -> None:
        port = int(MQTT_URL.rsplit(":", 1)[1])
        async with aiomqtt.Client("127.0.0.1", port) as client:
            await client.subscribe("evgate/S1/#", qos=1)
            ready.set()
            async for message in client.messages:
                events.append(orjson.loads(message.payload))

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    a = ServeProcess(pg_url, tmp_path / "a.log", "--mqtt-url", MQTT_URL)
    b = ServeProcess(pg_url, tmp_path / "b.log", "--mqtt-url", MQTT_URL)
    a.start()
    b.start()
    try:
        cp = await Charger.connect(f"{a.base_url}/CP1")
        await cp.boot()
        tx = (await cp.start("TAG1", 1000, at(0)))["transactionId"]
        await cp.status("Charging", ts=at(0))
        api = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{b.api_port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        for _ in range(50):  # B's command bus connects to the broker right after start
            answer = await api.post(
                "/chargers/CP1/commands/remote-stop", json={"transaction_id": tx}
            )
            if answer.status_code != 409:
                break
            await asyncio.sleep(0.2)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "Accepted"
        assert ("RemoteStopTransaction", {"transactionId": tx}) in cp.received_calls
        await cp.stop(tx, 1800, at(20), reason="Remote")  # what the charger does next
        session = (await api.get(f"/sessions/{tx}")).json()
        assert session["stopped_at"] is not None and session["energy_wh"] == 800
        await api.aclose()
        for _ in range(100):
            if any(e["kind"] == "session_stopped" for e in events):
                break
            await asyncio.sleep(0.1)
        kinds = [e["kind"] for e in events]
        assert kinds.index("session_started") < kinds.index("session_stopped")
        assert len({e["event_id"] for e in events}) == len(events)  # one publisher, no repeats
        await cp.close()
    finally:
        a.stop()
        b.stop()
        listener.cancel()


async def test_every_instance_tells_whether_a_charger_is_online_anywhere(
    pg_url: str, tmp_path: Path
) -> None:
    """Presence is PostgreSQL's: B says a charger held by A is online; when the charger moves
    to B while A's old socket lingers, A's close raises no charger_offline."""
    add_business_site(pg_url)
    run_cli("chargers", "add", "CP1", "--site", "S1", db_url=pg_url)
    token = run_cli("admin", "create-token", "--role", "super-admin", db_url=pg_url).stdout.strip()
    a = ServeProcess(pg_url, tmp_path / "a.log")
    b = ServeProcess(pg_url, tmp_path / "b.log")
    a.start()
    b.start()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{b.api_port}", headers=headers, timeout=30
        ) as api_b:
            offline = (await api_b.get("/api/v1/chargers/CP1")).json()
            assert offline["online"] is False
            on_a = await Charger.connect(f"{a.base_url}/CP1")
            await on_a.boot()
            seen = (await api_b.get("/api/v1/chargers/CP1")).json()
            assert seen["online"] is True and seen["online_here"] is False
            health = (await api_b.get("/healthz")).json()
            assert health["chargers_connected"] == 0 and health["chargers_online"] == 1
            on_b = await Charger.connect(f"{b.base_url}/CP1")  # A's socket stays open
            await on_b.boot()
            await on_a.close()  # the old socket goes: the charger is still online, on B
            await asyncio.sleep(0.5)  # (nothing to wait for: A's close must change nothing)
            moved = (await api_b.get("/api/v1/chargers/CP1")).json()
            assert moved["online"] is True and moved["online_here"] is True
            await on_b.close()
            for _ in range(100):  # the disconnect is recorded right after the close
                if (await api_b.get("/api/v1/chargers/CP1")).json()["online"] is False:
                    break
                await asyncio.sleep(0.1)
            assert (await api_b.get("/api/v1/chargers/CP1")).json()["online"] is False
        presence = await _presence_events(pg_url)
        assert presence == ["charger_online", "charger_online", "charger_offline"], presence
    finally:
        a.stop()
        b.stop()


async def _presence_events(url: str) -> list[str]:
    from sqlalchemy import select

    from store.db import create_engine
    from store.schema import outbox

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.kind)
                .where(outbox.c.kind.in_(["charger_online", "charger_offline"]))
                .order_by(outbox.c.id)
            )
            return [r[0] for r in rows]
    finally:
        await engine.dispose()
