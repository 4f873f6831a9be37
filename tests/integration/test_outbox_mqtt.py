"""Outbox events reach a real Mosquitto broker in order, and survive the broker going away."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.outbox import OutboxPublisher, topic_for
from gateway.server import Gateway, GatewayOptions
from store.schema import outbox
from tests.integration.conftest import seed
from tests.support.ocpp_client import Charger, at
from tests.support.services import MQTT_URL, free_port, reachable, unavailable

pytestmark = pytest.mark.mqtt


class Listener:
    def __init__(self, port: int, prefix: str) -> None:
        self.port, self.prefix = port, prefix
        self.messages: list[tuple[str, dict]] = []
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port) as client:
                    await client.subscribe(f"{self.prefix}/#", qos=1)
                    self.ready.set()
                    async for message in client.messages:
                        self.messages.append((str(message.topic), orjson.loads(message.payload)))
            except aiomqtt.MqttError:
                self.ready.clear()
                await asyncio.sleep(0.1)

    async def wait_for(self, count: int, timeout: float = 15) -> None:
        for _ in range(int(timeout / 0.05)):
            if len(self.messages) >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"got {len(self.messages)} of {count} events")

    async def close(self) -> None:
        self.task.cancel()


async def drive_session(url: str, tx_minutes: float = 0) -> None:
    cp = await Charger.connect(url)
    await cp.boot()
    await cp.status("Preparing", ts=at(tx_minutes))
    tx = (await cp.start("TAG1", 1000, at(tx_minutes)))["transactionId"]
    await cp.status("Charging", ts=at(tx_minutes))
    await cp.meter(tx, at(tx_minutes + 5), "1500.0")
    await cp.stop(tx, 2000, at(tx_minutes + 10))
    await cp.status("Available", ts=at(tx_minutes + 11))
    await cp.close()


async def settled_events(engine: AsyncEngine, offline: int) -> list[dict]:
    """The stored events once `offline` chargers' disconnects are recorded too."""
    for _ in range(100):
        events = await stored_events(engine)
        if sum(e["kind"] == "charger_offline" for e in events) >= offline:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError("disconnects never recorded")


async def stored_events(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        return [
            dict(r) for r in (await conn.execute(select(outbox).order_by(outbox.c.id))).mappings()
        ]


@pytest.fixture
async def gateway(engine: AsyncEngine) -> AsyncIterator[Gateway]:
    await seed(engine)
    gw = Gateway(engine, GatewayOptions(port=0))
    await gw.start()
    yield gw
    await gw.close()


async def test_events_arrive_in_order_per_charger(engine: AsyncEngine, gateway: Gateway) -> None:
    why = reachable(MQTT_URL, 1883)
    if why:
        unavailable("Mosquitto", why)
    port = int(MQTT_URL.rsplit(":", 1)[1])
    prefix = f"evgate-test-{uuid.uuid4().hex[:8]}"
    listener = Listener(port, prefix)
    await asyncio.wait_for(listener.ready.wait(), 10)
    publisher = OutboxPublisher(engine, MQTT_URL, prefix=prefix)
    gateway.committer.after_commit.append(publisher.wake)
    publisher.start()
    try:
        await asyncio.gather(
            drive_session(f"ws://127.0.0.1:{gateway.port}/ocpp/CP1"),
            drive_session(f"ws://127.0.0.1:{gateway.port}/ocpp/CP2", 30),
        )
        events = await settled_events(engine, offline=2)
        await listener.wait_for(len(events))
        assert [m["event_id"] for _, m in listener.messages] == [e["event_id"] for e in events]
        for charger in ("CP1", "CP2"):
            kinds = [m["kind"] for _, m in listener.messages if m["charger_id"] == charger]
            assert kinds == [
                "charger_online",
                "charger_booted",
                "connector_status",
                "session_started",
                "connector_status",
                "session_updated",
                "session_stopped",
                "connector_status",
                "charger_offline",
            ]
        topic, stopped = next(
            (t, m) for t, m in listener.messages if m["kind"] == "session_stopped"
        )
        assert topic == f"{prefix}/S1/{stopped['charger_id']}/session/stopped"
        assert stopped["data"]["energy_wh"] == 1000
        for _ in range(100):  # marked after the broker's PUBACK, a moment after delivery
            if all(e["published_at"] is not None for e in await stored_events(engine)):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("events delivered but never marked published")
    finally:
        await publisher.close()
        await listener.close()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A Mosquitto of our own on a free port, so the test can stop and restart it."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        unavailable("the mosquitto binary", "not installed")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    yield port, procs
    for p in procs:
        p.kill()
        p.wait()


def start_broker(port: int, procs: list) -> None:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    procs.append(
        subprocess.Popen(
            [binary, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    )


async def test_nothing_is_lost_while_the_broker_is_down(
    engine: AsyncEngine, gateway: Gateway, own_broker: tuple[int, list]
) -> None:
    port, procs = own_broker
    start_broker(port, procs)
    prefix = "evgate"
    listener = Listener(port, prefix)
    await asyncio.wait_for(listener.ready.wait(), 10)
    publisher = OutboxPublisher(engine, f"mqtt://127.0.0.1:{port}", prefix=prefix)
    gateway.committer.after_commit.append(publisher.wake)
    publisher.start()
    try:
        await drive_session(f"ws://127.0.0.1:{gateway.port}/ocpp/CP1")
        first = len(await settled_events(engine, offline=1))
        await listener.wait_for(first)
        procs[-1].kill()
        procs[-1].wait()
        await drive_session(f"ws://127.0.0.1:{gateway.port}/ocpp/CP2", 30)  # broker down
        events = await settled_events(engine, offline=2)
        assert any(e["published_at"] is None for e in events)
        start_broker(port, procs)
        await asyncio.wait_for(listener.ready.wait(), 10)
        await listener.wait_for(len(events), timeout=40)
        received = [m["event_id"] for _, m in listener.messages]
        assert set(received) == {e["event_id"] for e in events}
        cp2 = [m["kind"] for _, m in listener.messages if m["charger_id"] == "CP2"]
        assert cp2[:2] == ["charger_online", "charger_booted"]
        assert cp2[-3:] == ["session_stopped", "connector_status", "charger_offline"]
    finally:
        await publisher.close()
        await listener.close()


def test_topics() -> None:
    event = {"kind": "invoice_issued", "site_id": "oslo", "charger_id": None}
    assert topic_for("evgate", event) == "evgate/oslo/-/invoice/issued"
