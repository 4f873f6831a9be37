"""One charger's connection: calls in (acked after commit), calls out (remote commands)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from bisect import bisect_left
from collections import deque
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, Protocol

from gateway import ocpp_j, schemas
from gateway.ocpp_j import CALL, CALLERROR, FrameError, OcppError
from gateway.service import ChargerContext
from gateway.ws_server import Socket

log = logging.getLogger("evgate.ocpp")

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_REPLACED = 4001
CLOSE_INTERNAL_ERROR = 1011
CLOSE_INVALID_DATA = 1007  # RFC 6455: a text frame that is not UTF-8
CLOSE_POLICY = 1008  # RFC 6455: the site's security profile no longer admits the socket


Answered = Callable[[dict[str, Any], BaseException | None], None]


class Adapter(Protocol):
    version: str

    async def handle(
        self, ctx: ChargerContext, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]: ...

    def quick(
        self, ctx: ChargerContext, action: str, payload: dict[str, Any], answered: Answered
    ) -> bool: ...


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
        # offline (never sent) | lost (sent, socket gone before an answer) | timeout
        # | rejected (a CallError, `code` is its code) | invalid (refused by the schema)
        self.kind = kind
        self.code = code


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


class ChargerConnection:
    """The OCPP side of one open socket: calls in one at a time, acked after commit.

    Calls are answered in the order they arrived: while one is being handled, the next
    ones wait in a short queue (and reading pauses if a charger does not wait for its
    answers). Answers to our own commands are matched at once.

    The commonest call (a MeterValues) is taken by the adapter's `quick` without a task:
    its acknowledgement is written from the group commit's callback. Anything else, and
    every call that arrives while one is in hand, is answered by a task (`_work`).
    """

    MAX_QUEUED = 8  # calls read ahead before the socket stops reading

    def __init__(
        self,
        socket: Socket,
        ctx: ChargerContext,
        adapter: Adapter,
        gone: Callable[[ChargerConnection], Awaitable[None]],
    ) -> None:
        self.socket = socket
        self._gone = gone
        self.ctx = ctx
        self.adapter = adapter
        # what most chargers never need is made on first use (memory per socket)
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}
        self._call_lock: asyncio.Lock | None = None
        self._ids: itertools.count[int] | None = None
        self._tasks: set[asyncio.Task[Any]] | None = None
        self._queue: deque[list[Any]] | None = None
        self._worker: asyncio.Task[None] | None = None
        # the quick call in hand: (message id, action, when it arrived)
        self._in_hand: tuple[str, str, float] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._closed = False
        self.messages = 0

    def start(self, first: Awaitable[None]) -> None:
        """Run `first` (recording the connect) before any call of this charger."""
        self._worker = asyncio.create_task(self._work(first))

    def on_message(self, raw: bytes) -> None:
        try:
            msg = ocpp_j.decode(raw)
        except FrameError as exc:
            if not _is_utf8(raw):  # checked only here: orjson refuses any bad UTF-8
                log.warning("text frame not UTF-8", extra={"charger": self.ctx.id})
                self.socket.close(CLOSE_INVALID_DATA, "a text frame must be UTF-8")
                return
            log.warning(
                "bad frame",
                extra={"charger": self.ctx.id, "msg_id": exc.message_id, "reason": exc.reason},
            )
            if exc.message_id is None:
                self.socket.close(CLOSE_PROTOCOL_ERROR, exc.reason[:120])
            else:
                self._queue_or_run([CALLERROR, exc.message_id, exc])
            return
        if msg[0] == CALL:
            self._queue_or_run(msg)
            return
        fut = self._pending.get(msg[1])
        if fut is not None and not fut.done():
            fut.set_result(msg)
        else:
            log.warning(
                "answer to no pending call", extra={"charger": self.ctx.id, "msg_id": msg[1]}
            )

    def _queue_or_run(self, msg: list[Any]) -> None:
        if self._worker is None and self._in_hand is None:
            if msg[0] == CALL and self._quick(msg):
                return
            self._worker = asyncio.create_task(self._work(None, msg))
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.append(msg)
        if len(self._queue) >= self.MAX_QUEUED:
            self.socket.pause_reading()

    async def _work(self, first: Awaitable[None] | None, msg: list[Any] | None = None) -> None:
        """Answer calls until none is waiting (one task per busy spell, not per socket)."""
        try:
            if first is not None:
                try:
                    await first
                except Exception:
                    log.exception("could not record connect", extra={"charger": self.ctx.id})
                    self.socket.close(CLOSE_INTERNAL_ERROR, "the store is unavailable; reconnect")
                    return
            while not self._closed:
                if msg is None:
                    msg = self._next()
                    if msg is None:
                        break
                if msg[0] == CALL:
                    await self._on_call(msg[1], msg[2], msg[3])
                else:  # a frame we could not read but whose id we know: its CallError, in turn
                    exc = msg[2]
                    code = exc.code
                    if self.adapter.version == "v201":  # 2.0.1's spelling of 1.6's code
                        code = ocpp_j.CODES_201.get(code, code)
                    self.socket.send_text(ocpp_j.call_error(msg[1], code, exc.reason))
                msg = None
        finally:
            self._worker = None

    def _next(self) -> list[Any] | None:
        queue = self._queue
        if not queue:
            return None
        if len(queue) == self.MAX_QUEUED:
            self.socket.resume_reading()
        return queue.popleft()

    def _quick(self, msg: list[Any]) -> bool:
        self._in_hand = (msg[1], msg[2], perf_counter())
        try:
            taken = self.adapter.quick(self.ctx, msg[2], msg[3], self._answered)
        except Exception:  # e.g. the store is shutting down: the task's way says so
            taken = False
        if taken:
            self.messages += 1
        else:
            self._in_hand = None
        return taken

    def _answered(self, result: dict[str, Any], error: BaseException | None) -> None:
        """The quick call's commit is done (or failed): answer it, then take the next call."""
        assert self._in_hand is not None
        message_id, action, started = self._in_hand
        self._in_hand = None
        if error is None:
            out = ocpp_j.call_result(message_id, result)
        else:
            log.error(
                "call failed",
                exc_info=error,
                extra={"charger": self.ctx.id, "msg_id": message_id, "action": action},
            )
            out = ocpp_j.call_error(
                message_id, "InternalError", f"{action} could not be stored; send it again later"
            )
        if self.socket.send_text(out):
            STATS.observe(action, perf_counter() - started)
        if self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
        elif not self._closed:
            msg = self._next()
            if msg is not None:
                self._queue_or_run(msg)

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
        if not self.socket.send_text(out):
            return  # the charger is gone; what it said is stored, it will resend unacked calls
        STATS.observe(action, perf_counter() - started)
        if ctx.after_reply:
            for follow_up in ctx.after_reply:
                self._spawn(self._follow_up(*follow_up))
            ctx.after_reply.clear()
        if not ctx.booted and not ctx.boot_triggered and action != "BootNotification":
            # Wallbox firmware 6.x talks without booting after a reconnect: ask it to boot.
            ctx.boot_triggered = True
            self._spawn(self._trigger_boot())

    def on_closed(self) -> Awaitable[None]:
        self._closed = True
        return self._wind_down()

    async def _wind_down(self) -> None:
        """The socket is gone: fail our commands, finish the call in hand, then report."""
        self._queue = None  # read but not acked: the charger sends them again
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(
                    CommandError(
                        "lost",
                        f"charger {self.ctx.id} disconnected after the command was sent and "
                        "before it answered; it may or may not have acted on it",
                    )
                )
        for task in self._tasks or ():
            task.cancel()
        worker = self._worker
        if worker is not None:
            await asyncio.wait([worker])  # its commit decides what is stored
        if self._in_hand is not None:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        await self._gone(self)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow_up(self, action: str, payload: dict[str, Any]) -> None:
        try:
            answer = await self.call(action, payload, timeout=30)
        except CommandError as exc:
            log.warning(
                "follow-up unanswered",
                extra={"charger": self.ctx.id, "action": action, "reason": str(exc)},
            )
            return
        log.info(
            "follow-up answered", extra={"charger": self.ctx.id, "action": action, "answer": answer}
        )

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
            schemas.check(version, schemas.request_name(version, action), payload)
        except OcppError as exc:
            raise CommandError("invalid", exc.description) from None
        if self._call_lock is None:
            self._call_lock, self._ids = asyncio.Lock(), itertools.count(1)
        assert self._ids is not None
        async with self._call_lock:
            message_id = f"cs-{next(self._ids)}"
            fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            self._pending[message_id] = fut
            try:
                if not self.socket.send_text(ocpp_j.call(message_id, action, payload)):
                    raise CommandError("offline", f"charger {self.ctx.id} disconnected")
                answer = await asyncio.wait_for(fut, timeout)
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
            schemas.check(version, schemas.response_name(version, action), result)
        except OcppError as exc:
            log.warning(
                "invalid answer",
                extra={"charger": self.ctx.id, "action": action, "reason": exc.description},
            )
        return result

    def replaced(self) -> None:
        self.socket.close(CLOSE_REPLACED, "replaced by a newer connection of this charger")


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
