"""Publish committed outbox events to MQTT (QoS 1), in commit order, exactly as stored.

The outbox row is written in the same transaction as the change it describes, so an event
exists if and only if the change does. This publisher sends them in id order and marks them
published only after the broker acknowledged them (PUBACK): a broker or process crash can
re-send an event (consumers dedupe by `event_id`), never lose one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.mqtt import Broker
from store import locks, outbox_store

log = logging.getLogger("evgate.outbox")


def topic_for(prefix: str, event: dict[str, Any]) -> str:
    """evgate/{site}/{charger}/{noun}/{verb}: e.g. evgate/oslo/WB-1/session/started."""
    noun, _, verb = event["kind"].partition("_")
    site = event["site_id"] or "-"
    charger = event["charger_id"] or "-"
    return f"{prefix}/{site}/{charger}/{noun}/{verb or 'event'}"


def message_for(event: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "event_id": event["event_id"],
            "kind": event["kind"],
            "site_id": event["site_id"],
            "charger_id": event["charger_id"],
            "created_at": event["created_at"].isoformat().replace("+00:00", "Z"),
            "data": event["payload"],
        }
    )


class OutboxPublisher:
    def __init__(
        self,
        engine: AsyncEngine,
        url: str,
        prefix: str = "evgate",
        batch: int = 500,
        idle_poll: float = 1.0,
    ) -> None:
        self.broker = Broker.parse(url)
        self.engine = engine
        self.prefix = prefix
        self.batch = batch
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def wake(self) -> None:
        """Called after a commit that may have written events."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="evgate-outbox")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with locks.held(self.engine, locks.OUTBOX_PUBLISHER) as mine:
                    if not mine:
                        await asyncio.sleep(5)  # another instance publishes
                        continue
                    async with self.broker.client("outbox") as client:
                        delay = 0.5
                        log.info(
                            "outbox publisher connected",
                            extra={"broker": f"{self.broker.host}:{self.broker.port}"},
                        )
                        await self._drain_forever(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: events wait in the outbox
                log.warning("outbox publisher paused", extra={"reason": str(exc), "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def _drain_forever(self, client: aiomqtt.Client) -> None:
        while True:
            sent = await self.drain_once(client.publish)
            if sent < self.batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll)

    async def drain_once(self, publish: Callable[..., Any]) -> int:
        async with self.engine.connect() as conn:
            events = await outbox_store.unpublished(conn, self.batch)
        if not events:
            return 0
        # QoS 1: each publish returns after the broker's PUBACK; order is kept on the socket
        await asyncio.gather(
            *(publish(topic_for(self.prefix, e), message_for(e), qos=1) for e in events)
        )
        async with self.engine.begin() as conn:
            await outbox_store.mark_published(conn, [e["id"] for e in events], datetime.now(UTC))
        self.published += len(events)
        return len(events)
