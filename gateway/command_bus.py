"""Remote commands across instances: the one holding a charger's socket answers over MQTT.

Several `evgate serve` processes share PostgreSQL and a broker; a charger's socket lives in
exactly one of them. A command given to any instance goes to the local socket when it is
here, otherwise it is published on `{prefix}/_rpc/charger/{id}/request` with a correlation id.
Every instance listens there; the holder acknowledges at once ("held"), runs the command and
publishes the result to the requester's own reply topic. No acknowledgement within
`ack_timeout` means no instance holds the charger (offline); an acknowledgement without a
result in time is a timeout, as on a local socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
import orjson

from gateway.connection import CommandError, ConnectionRegistry
from gateway.mqtt import Broker

log = logging.getLogger("evgate.commands")


@dataclass
class _Pending:
    held: asyncio.Event = field(default_factory=asyncio.Event)
    result: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CommandBus:
    def __init__(
        self,
        registry: ConnectionRegistry,
        url: str,
        prefix: str = "evgate",
        ack_timeout: float = 2.0,
    ) -> None:
        self.broker = Broker.parse(url)
        self.registry = registry
        self.prefix = prefix
        self.instance = uuid.uuid4().hex[:12]
        self.ack_timeout = ack_timeout
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._pending: dict[str, _Pending] = {}
        self._task: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[None]] = set()

    @property
    def reply_topic(self) -> str:
        return f"{self.prefix}/_rpc/reply/{self.instance}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="evgate-command-bus")

    async def wait_connected(self, timeout: float = 10) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        for task in (self._task, *self._jobs):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float = 30
    ) -> dict[str, Any]:
        """Like ConnectionRegistry.call, wherever the charger's socket is."""
        if self.registry.get(charger_id) is not None:
            return await self.registry.call(charger_id, action, payload, timeout)
        client = self._client
        if client is None:
            raise CommandError(
                "offline",
                f"charger {charger_id} is not connected here and the "
                "command bus (MQTT) is not connected",
            )
        cid = uuid.uuid4().hex
        pending = self._pending[cid] = _Pending()
        request = {
            "cid": cid,
            "charger_id": charger_id,
            "action": action,
            "payload": payload,
            "timeout": timeout,
            "reply_to": self.reply_topic,
        }
        try:
            await client.publish(
                f"{self.prefix}/_rpc/charger/{charger_id}/request", orjson.dumps(request), qos=1
            )
            try:
                await asyncio.wait_for(pending.held.wait(), self.ack_timeout)
            except TimeoutError:
                raise CommandError("offline", f"charger {charger_id} is not connected") from None
            try:
                answer = await asyncio.wait_for(pending.result, timeout + self.ack_timeout)
            except TimeoutError:
                raise CommandError(
                    "timeout", f"charger {charger_id} did not answer {action} within {timeout:g} s"
                ) from None
        finally:
            self._pending.pop(cid, None)
        if answer.get("ok"):
            return answer["result"]  # type: ignore[no-any-return]
        raise CommandError(
            answer.get("kind", "rejected"), answer.get("message", "failed"), code=answer.get("code")
        )

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with self.broker.client("rpc") as client:
                    await client.subscribe(f"{self.prefix}/_rpc/charger/+/request", qos=1)
                    await client.subscribe(self.reply_topic, qos=1)
                    self._client, delay = client, 0.5
                    self._connected.set()
                    async for message in client.messages:
                        self._on_message(client, str(message.topic), message.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("command bus paused", extra={"reason": str(exc), "retry_s": delay})
            finally:
                self._client = None
                self._connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)

    def _on_message(self, client: aiomqtt.Client, topic: str, raw: Any) -> None:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("unreadable command bus message", extra={"topic": topic})
            return
        if topic == self.reply_topic:
            pending = self._pending.get(body.get("cid", ""))
            if pending is None:
                return
            if body.get("held"):
                pending.held.set()
            elif not pending.result.done():
                pending.held.set()
                pending.result.set_result(body)
            return
        if self.registry.get(body.get("charger_id", "")) is None:
            return  # another instance holds it (or nobody does)
        job = asyncio.create_task(self._serve(client, body))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _serve(self, client: aiomqtt.Client, request: dict[str, Any]) -> None:
        reply_to, cid = request["reply_to"], request["cid"]
        await client.publish(reply_to, orjson.dumps({"cid": cid, "held": True}), qos=1)
        try:
            result = await self.registry.call(
                request["charger_id"],
                request["action"],
                request["payload"],
                float(request["timeout"]),
            )
            answer: dict[str, Any] = {"cid": cid, "ok": True, "result": result}
        except CommandError as exc:
            answer = {
                "cid": cid,
                "ok": False,
                "kind": exc.kind,
                "message": str(exc),
                "code": exc.code,
            }
        await client.publish(reply_to, orjson.dumps(answer), qos=1)
