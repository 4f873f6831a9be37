"""One charger's WebSocket: calls in (acked after commit), calls out (remote commands)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from bisect import bisect_left
from time import perf_counter
from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from gateway import ocpp_j, schemas
from gateway.ocpp_j import CALL, CALLERROR, FrameError, OcppError
from gateway.service import ChargerContext

log = logging.getLogger("evgate.ocpp")

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_REPLACED = 4001


class Adapter(Protocol):
    version: str

    async def handle(
        self, ctx: ChargerContext, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]: ...


class CallStats:
    """Counters for /metrics: calls by action and ack latency, kept as plain integers.

    The hot path pays a dict update, a bisect and two additions per call; the config API
    turns these into Prometheus metrics when scraped.
    """

    # ack latency bucket bounds in seconds (Prometheus histogram "le" values)
    BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
    MAX_ACTIONS = 64  # actions come from chargers: cap the label set

    __slots__ = ("by_action", "buckets", "latency_sum")

    def __init__(self) -> None:
        self.by_action: dict[str, int] = {}
        self.buckets = [0] * (len(self.BOUNDS) + 1)  # the last one is +Inf
        self.latency_sum = 0.0

    def observe(self, action: str, seconds: float) -> None:
        counts = self.by_action
        if action in counts:
            counts[action] += 1
        elif len(counts) < self.MAX_ACTIONS:
            counts[action] = 1
        else:
            counts["other"] = counts.get("other", 0) + 1
        self.buckets[bisect_left(self.BOUNDS, seconds)] += 1
        self.latency_sum += seconds


STATS = CallStats()


class CommandError(Exception):
    """A remote command did not get a positive answer; `kind` says why."""

    def __init__(self, kind: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # offline | timeout | rejected | invalid
        self.code = code


class ChargerConnection:
    def __init__(self, ws: ServerConnection, ctx: ChargerContext, adapter: Adapter) -> None:
        self.ws = ws
        self.ctx = ctx
        self.adapter = adapter
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}
        self._call_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.messages = 0

    async def run(self) -> None:
        try:
            while True:
                raw = await self.ws.recv(decode=False)
                if not await self._on_frame(raw):
                    return
        except ConnectionClosed:
            return
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(
                        CommandError("offline", f"charger {self.ctx.id} disconnected")
                    )
            for task in self._tasks:
                task.cancel()

    async def _on_frame(self, raw: bytes | str) -> bool:
        try:
            msg = ocpp_j.decode(raw)
        except FrameError as exc:
            log.warning(
                "bad frame",
                extra={"charger": self.ctx.id, "msg_id": exc.message_id, "reason": exc.reason},
            )
            if exc.message_id is None:
                await self.ws.close(CLOSE_PROTOCOL_ERROR, exc.reason[:120])
                return False
            await self.ws.send(ocpp_j.call_error(exc.message_id, exc.code, exc.reason), text=True)
            return True
        if msg[0] == CALL:
            await self._on_call(msg[1], msg[2], msg[3])
        else:
            fut = self._pending.get(msg[1])
            if fut is not None and not fut.done():
                fut.set_result(msg)
            else:
                log.warning(
                    "answer to no pending call", extra={"charger": self.ctx.id, "msg_id": msg[1]}
                )
        return True

    async def _on_call(self, message_id: str, action: str, payload: dict[str, Any]) -> None:
        started = perf_counter()
        self.messages += 1
        ctx = self.ctx
        try:
            result = await self.adapter.handle(ctx, action, payload)
            out = ocpp_j.call_result(message_id, result)
        except OcppError as exc:
            log.info(
                "call refused",
                extra={
                    "charger": ctx.id,
                    "msg_id": message_id,
                    "action": action,
                    "code": exc.code,
                    "reason": exc.description,
                },
            )
            out = ocpp_j.call_error(message_id, exc.code, exc.description, exc.details)
        except Exception:
            log.exception(
                "call failed", extra={"charger": ctx.id, "msg_id": message_id, "action": action}
            )
            out = ocpp_j.call_error(
                message_id, "InternalError", f"{action} could not be stored; send it again later"
            )
        await self.ws.send(out, text=True)
        STATS.observe(action, perf_counter() - started)
        if not ctx.booted and not ctx.boot_triggered and action != "BootNotification":
            # Wallbox firmware 6.x talks without booting after a reconnect: ask it to boot.
            ctx.boot_triggered = True
            self._spawn(self._trigger_boot())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _trigger_boot(self) -> None:
        try:
            await self.call("TriggerMessage", {"requestedMessage": "BootNotification"}, timeout=30)
        except CommandError as exc:
            log.info("boot trigger unanswered", extra={"charger": self.ctx.id, "reason": str(exc)})

    async def call(
        self, action: str, payload: dict[str, Any], timeout: float = 30
    ) -> dict[str, Any]:
        """Send a command and return the charger's answer (one outstanding call at a time)."""
        version = self.adapter.version
        try:
            schemas.check(version, action, payload)
        except OcppError as exc:
            raise CommandError("invalid", exc.description) from None
        async with self._call_lock:
            message_id = f"cs-{next(self._ids)}"
            fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            self._pending[message_id] = fut
            try:
                await self.ws.send(ocpp_j.call(message_id, action, payload), text=True)
                answer = await asyncio.wait_for(fut, timeout)
            except ConnectionClosed:
                raise CommandError("offline", f"charger {self.ctx.id} disconnected") from None
            except TimeoutError:
                raise CommandError(
                    "timeout", f"charger {self.ctx.id} did not answer {action} within {timeout:g} s"
                ) from None
            finally:
                self._pending.pop(message_id, None)
        if answer[0] == CALLERROR:
            raise CommandError(
                "rejected",
                f"charger {self.ctx.id} refused {action}: {answer[2]} {answer[3]}".strip(),
                code=answer[2],
            )
        result: dict[str, Any] = answer[2]
        try:
            schemas.check(version, f"{action}Response", result)
        except OcppError as exc:
            log.warning(
                "invalid answer",
                extra={"charger": self.ctx.id, "action": action, "reason": exc.description},
            )
        return result

    async def replaced(self) -> None:
        await self.ws.close(CLOSE_REPLACED, "replaced by a newer connection of this charger")


class ConnectionRegistry:
    """Which chargers this process holds a socket for."""

    def __init__(self) -> None:
        self._conns: dict[str, ChargerConnection] = {}

    def attach(self, conn: ChargerConnection) -> ChargerConnection | None:
        old = self._conns.get(conn.ctx.id)
        self._conns[conn.ctx.id] = conn
        return old

    def detach(self, conn: ChargerConnection) -> None:
        if self._conns.get(conn.ctx.id) is conn:
            del self._conns[conn.ctx.id]

    def get(self, charger_id: str) -> ChargerConnection | None:
        return self._conns.get(charger_id)

    def __len__(self) -> int:
        return len(self._conns)

    def ids(self) -> list[str]:
        return list(self._conns)

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float = 30
    ) -> dict[str, Any]:
        conn = self._conns.get(charger_id)
        if conn is None:
            raise CommandError("offline", f"charger {charger_id} is not connected")
        return await conn.call(action, payload, timeout)
