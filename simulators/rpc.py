"""One OCPP-J link over one WebSocket: calls out (one at a time, as OCPP 1.6 asks of a charge
point), calls in (each answered in its own task), and the connect helper with Basic auth.
"""

from __future__ import annotations

import asyncio
import base64
import random
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from simulators.framing import (
    Call,
    CallError,
    CallErrorReply,
    CallResult,
    FrameError,
    UidSource,
    decode,
    encode_call,
    encode_error,
    encode_result,
)

# A call handler returns the CallResult payload and, optionally, work to do after it is sent
# (a charger answers RemoteStart before it starts the transaction).
AfterReply = Callable[[], Coroutine[Any, Any, None]] | None
CallHandler = Callable[[Call], Awaitable[tuple[dict[str, Any], AfterReply]]]


_DETACHED: set[asyncio.Task[None]] = set()


class ConnectionLost(Exception):
    """The socket closed before the answer came."""


@dataclass(slots=True)
class LinkStats:
    calls_sent: int = 0
    results: int = 0
    call_errors: int = 0
    timeouts: int = 0
    calls_received: int = 0
    # answered calls by action (bounded: one count per action), what a test waits for
    answered: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """wss:// settings: the CA to trust (None: the system's) and a client certificate.

    With `cert` and `key` the charger presents a certificate in the TLS handshake (OCPP
    security profile 3); with only `ca` it checks the server (profile 2).
    """

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca)
        if self.cert is not None:
            context.load_cert_chain(self.cert, self.key)
        return context


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


async def open_socket(
    url: str,
    charger_id: str,
    password: str | None,
    open_timeout: float = 10.0,
    ping_interval: float | None = None,
    subprotocol: str = "ocpp1.6",
    ssl_context: ssl.SSLContext | None = None,
) -> ClientConnection:
    """Connect to {url}/{id} with one subprotocol, no compression, Basic auth if any.

    `ssl_context` is used for wss:// (a client certificate in it is presented).
    """
    headers = {"Authorization": basic_auth(charger_id, password)} if password is not None else {}
    extra: dict[str, Any] = {"ssl": ssl_context} if ssl_context is not None else {}
    return await connect(
        f"{url.rstrip('/')}/{charger_id}",
        subprotocols=[subprotocol],  # type: ignore[list-item]
        compression=None,
        additional_headers=headers,
        open_timeout=open_timeout,
        ping_interval=ping_interval,
        proxy=None,
        max_queue=64,
        **extra,
    )


def backoff_delay(attempt: int, base: float = 0.2, cap: float = 30.0) -> float:
    """Exponential back-off with jitter: uniform in [half, full] of min(cap, base * 2^n)."""
    ceiling = min(cap, base * (2 ** min(attempt, 20)))
    return random.uniform(ceiling / 2, ceiling)


class Link:
    """Calls and answers on one open socket; dead once the socket closes."""

    def __init__(
        self,
        ws: ClientConnection,
        on_call: CallHandler,
        uids: UidSource,
        stats: LinkStats,
    ) -> None:
        self.ws = ws
        self._on_call = on_call
        self._uids = uids
        self.stats = stats
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    async def call(
        self, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send a Call and return its CallResult payload.

        Raises CallErrorReply, TimeoutError or ConnectionLost.
        """
        async with self._lock:
            if self.closed:
                raise ConnectionLost(action)
            uid = self._uids()
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[uid] = future
            try:
                await self.ws.send(encode_call(uid, action, payload), text=True)
                self.stats.calls_sent += 1
                result = await asyncio.wait_for(future, timeout)
                self.stats.answered[action] += 1
                return result
            except ConnectionClosed:
                raise ConnectionLost(action) from None
            except TimeoutError:
                self.stats.timeouts += 1
                raise
            finally:
                self._pending.pop(uid, None)

    async def run(self) -> None:
        """Read frames until the socket closes; then fail every waiting call."""
        try:
            async for data in self.ws:
                self._dispatch(data)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLost("socket closed"))
            for task in list(self._tasks):
                task.cancel()

    def _dispatch(self, data: str | bytes) -> None:
        try:
            frame = decode(data)
        except FrameError:
            return  # a charger ignores garbage
        if isinstance(frame, Call):
            self.stats.calls_received += 1
            task = asyncio.create_task(self._answer(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        future = self._pending.get(frame.uid)
        if future is None or future.done():
            return  # a late answer to a call we gave up on
        if isinstance(frame, CallResult):
            self.stats.results += 1
            future.set_result(frame.payload)
        elif isinstance(frame, CallError):
            self.stats.call_errors += 1
            future.set_exception(CallErrorReply(frame.code, frame.description, frame.details))

    async def _answer(self, call: Call) -> None:
        after: AfterReply = None
        try:
            payload, after = await self._on_call(call)
            reply = encode_result(call.uid, payload)
        except CallErrorReply as exc:
            reply = encode_error(call.uid, exc.code, exc.description, exc.details)
        except Exception as exc:  # a bug in a handler must still answer the central system
            reply = encode_error(call.uid, "InternalError", str(exc)[:200])
        try:
            await self.ws.send(reply, text=True)
        except ConnectionClosed:
            return
        if after is not None:  # outlives the socket: a started transaction goes on offline
            detached = asyncio.create_task(after())
            _DETACHED.add(detached)
            detached.add_done_callback(_DETACHED.discard)

    async def close(self) -> None:
        await self.ws.close()
