"""The WebSocket server: one asyncio.Protocol per socket, driving websockets' Sans-I/O core.

Why not websockets' asyncio server: it keeps a handler task, a keepalive task, a message
assembler and a future per frame for every connection. A charger is idle most of the time
and its frames are small, so here the protocol is driven from the transport's callbacks:
nothing runs for an idle socket, the application sees whole messages through
`Handler.on_message`, and one sweeper sends keepalive pings for all sockets. Whole text
frames, the bulk of the traffic, are read here without websockets' generator parser.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from websockets.frames import BINARY, CLOSE, CONT, TEXT, Frame
from websockets.http11 import Request, Response
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

log = logging.getLogger("evgate.ws")

CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED_DATA = 1003  # RFC 6455: a data type the endpoint does not take
# descriptors kept free of chargers: the database (SQLite opens three per connection), the
# API's clients, MQTT, logs. A process out of descriptors cannot commit, so it could ack nothing.
FD_RESERVE = 128
FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 43\r\n\r\n"
    b"evgate holds all the sockets it can; retry\n"
)


def default_max_sockets() -> int:
    """As many sockets as the open-file limit allows, less the reserve."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(soft - FD_RESERVE, 1)


_PACK_16 = struct.Struct("!BBH").pack
_PACK_64 = struct.Struct("!BBQ").pack


def text_frame(data: bytes) -> bytes:
    """A server-to-client text frame (unmasked, unfragmented)."""
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return _PACK_16(0x81, 126, n) + data
    return _PACK_64(0x81, 127, n) + data


def _text_frames(data: bytes, max_size: int) -> tuple[list[bytes], int]:
    """The payloads of the whole masked text frames (FIN, no RSV) heading `data`, and their end.

    Each of these is a frame websockets would accept and hand on unchanged, so reading them here
    skips its generator parser; the first frame of any other kind stops the scan.
    """
    payloads: list[bytes] = []
    pos = 0
    size = len(data)
    while size - pos >= 6 and data[pos] == 0x81:
        n = data[pos + 1]
        if n < 0x80:  # unmasked: websockets fails the connection (1002)
            break
        n &= 0x7F
        at = pos + 2
        if n == 126:
            n = data[at] << 8 | data[at + 1]
            at += 2
        elif n == 127:
            n = int.from_bytes(data[at : at + 8], "big")
            at += 8
        end = at + 4 + n
        if n > max_size or end > size:  # too big (1009), or the frame goes on in a later read
            break
        payloads.append(apply_mask(data[at + 4 : end], data[at : at + 4]))
        pos = end
    return payloads, pos


def _advance(edge: int | bytes, data: bytes) -> int | bytes:
    """Where websockets' parser stands after `data`, from where it stood (`edge`).

    An int is the number of bytes left in the frame being read (0: between frames, nothing
    buffered); bytes are a frame header begun but too short to tell the frame's length.
    """
    if isinstance(edge, int):
        pos = edge
    else:
        data, pos = edge + data, 0
    size = len(data)
    while pos < size:
        if size - pos < 2:
            return data[pos:]
        second = data[pos + 1]
        n = second & 0x7F
        at = pos + 2
        if n == 126:
            if size < at + 2:
                return data[pos:]
            n = data[at] << 8 | data[at + 1]
            at += 2
        elif n == 127:
            if size < at + 8:
                return data[pos:]
            n = int.from_bytes(data[at : at + 8], "big")
            at += 8
        pos = at + (4 if second & 0x80 else 0) + n
    return pos - size


class Handler(Protocol):
    """The application's side of one open socket."""

    def on_message(self, data: bytes) -> None: ...

    def on_closed(self) -> Awaitable[None] | None: ...


# admit(socket, request) -> a Response to refuse, or anything else to accept with;
# open(socket, that value) -> the Handler of the now open socket
Admit = Callable[["Socket", Request], Awaitable[Any]]
Open = Callable[["Socket", Any], Handler]


class Socket(asyncio.Protocol):
    """One client connection: handshake, frames in, messages out, close."""

    __slots__ = (
        "server",
        "transport",
        "ws",
        "handler",
        "last_seen",
        "_fragments",
        "_early",
        "_timer",
        "_opening",
        "_edge",
        "_tls",
        "_held",
    )

    def __init__(self, server: WsServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.ws = ServerProtocol(
            subprotocols=server.subprotocols, max_size=server.max_size, logger=log
        )
        self.handler: Handler | None = None
        self.last_seen = 0.0
        self._fragments: list[bytes] | None = None
        self._early: list[bytes] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._opening: asyncio.Task[None] | None = None
        # the TLS handshake in progress, and what the peer sent before it was handed over
        self._tls: asyncio.Task[None] | None = None
        self._held: list[bytes] | None = None
        # where websockets' parser stands in the stream (see _advance): 0 is between frames
        # with the fast path open; b"" between frames with it shut (a fragmented message in
        # progress); None shut for good (handshake, closing, debug logging)
        self._edge: int | bytes | None = None

    # -- transport callbacks -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if len(self.server.sockets) >= self.server.max_sockets:
            self.server.refused_full += 1
            if self.server.refused_full == 1 or self.server.refused_full % 1000 == 0:
                log.warning(
                    "socket limit reached, connections refused",
                    extra={
                        "max_sockets": self.server.max_sockets,
                        "refused": self.server.refused_full,
                    },
                )
            transport.write(FULL)
            transport.close()
            return
        self.transport = transport
        self.server.sockets.add(self)
        loop = self.server.loop
        self.last_seen = loop.time()
        # one timer for TLS and WebSocket openings together: a socket counts from its accept
        self._timer = loop.call_later(self.server.open_timeout, self._open_timed_out)
        if self.server.ssl_context is not None:
            transport.pause_reading()  # the ClientHello is for the TLS layer, not for us
            self._tls = loop.create_task(self._start_tls(transport, self.server.ssl_context))

    async def _start_tls(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        """TLS over the accepted TCP socket, so that a socket in its TLS handshake counts
        against the limit and is cut by the opening timeout like any other."""
        try:
            tls = await self.server.loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self.server.open_timeout,
            )
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            log.info("TLS handshake failed", extra={"reason": str(exc) or type(exc).__name__})
            tls = None
        self._tls = None
        if tls is None:  # failed, or closed meanwhile (our timeout): the TLS layer does not
            raw.abort()  # tell its application of a loss during the handshake, so we do
            self.connection_lost(None)
            return
        self.transport = tls
        held, self._held = self._held, None
        for data in held or ():
            self.data_received(data)

    def data_received(self, data: bytes) -> None:
        """Whole text frames straight to the handler; anything else through websockets, which
        answers pings, closes and fails the connection exactly as it would on its own."""
        if self._tls is not None:  # decrypted before start_tls handed us the TLS transport
            self._held = [*(self._held or ()), data]
            return
        self.last_seen = self.server.loop.time()
        taken: list[bytes] = []
        edge = self._edge
        if edge == 0:  # between frames: whole text frames are read here, the rest by websockets
            taken, end = _text_frames(data, self.server.max_size)
            if end == len(data):
                for payload in taken:
                    self._deliver(payload)
                return
            if end:
                data = data[end:]
        ws = self.ws
        ws.receive_data(data)
        events = ws.events_received()
        out = ws.data_to_send()
        if edge is not None:  # set before delivering: a message may close the socket
            if ws.state is not OPEN:
                self._edge = None
            else:
                edge = _advance(edge, data)
                self._edge = b"" if edge == 0 and ws.current_size is not None else edge
        if out:  # before any message of this read, as when websockets read it all
            self._write(out)
        for payload in taken:
            self._deliver(payload)
        for event in events:
            if type(event) is Frame:
                opcode = event.opcode
                if opcode is BINARY:  # OCPP-J is text: a binary message is no call at all
                    self._fragments = None
                    self.close(CLOSE_UNSUPPORTED_DATA, "OCPP-J takes text frames only")
                    return
                if opcode is TEXT:
                    if event.fin:
                        self._deliver(bytes(event.data))
                    else:
                        self._fragments = [bytes(event.data)]
                elif opcode is CONT and self._fragments is not None:
                    self._fragments.append(bytes(event.data))
                    if event.fin:
                        data, self._fragments = b"".join(self._fragments), None
                        self._deliver(data)
                elif opcode is CLOSE:
                    self._start_close_timer()
                # pings are answered by the protocol itself; pongs only mark the peer alive
            elif isinstance(event, Request) and self._opening is None:
                self._opening = asyncio.create_task(self._open(event))

    def eof_received(self) -> bool | None:
        self._edge = None
        self.ws.receive_eof()
        self._write(self.ws.data_to_send())
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sockets.discard(self)
        if self._tls is not None and not self._tls.done():
            self._tls.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        handler, self.handler = self.handler, None
        if handler is not None:
            closing = handler.on_closed()
            if closing is not None:
                self.server.track(closing)

    # -- application side ----------------------------------------------------------------
    def send_text(self, data: bytes) -> bool:
        """Send one text message; False when the socket is no longer open (dropped)."""
        if self.ws.state is not OPEN or self.transport is None:
            return False
        self.transport.write(text_frame(data))
        return True

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake; the socket is dropped if the peer does not answer."""
        self._edge = None
        if self.ws.state is OPEN:
            self.ws.send_close(code, reason)
            self._write(self.ws.data_to_send())
            self._start_close_timer()
        elif self.transport is not None and self.handler is None:
            self.transport.abort()  # still in the handshake

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def ping(self) -> None:
        if self.ws.state is OPEN:
            self.ws.send_ping(b"evgate")
            self._write(self.ws.data_to_send())

    # -- internals -----------------------------------------------------------------------
    def _write(self, chunks: list[bytes]) -> None:
        transport = self.transport
        if transport is None:
            return
        for chunk in chunks:
            if chunk:
                transport.write(chunk)
            else:  # end of stream: a server closes the TCP connection itself
                transport.close()

    def _deliver(self, data: bytes) -> None:
        if self.handler is not None:
            self.handler.on_message(data)
        elif self._early is not None:
            self._early.append(data)
        else:
            self._early = [data]

    async def _open(self, request: Request) -> None:
        server = self.server
        try:
            admitted = await server.admit(self, request)
        except Exception:
            log.exception("opening handshake failed", extra={"path": request.path})
            admitted = self.ws.reject(500, "the server could not take this connection\n")
        if self.transport is None or self.transport.is_closing():
            return
        response = admitted if isinstance(admitted, Response) else self.ws.accept(request)
        response.headers["Server"] = server.server_header
        self.ws.send_response(response)
        self._write(self.ws.data_to_send())
        if response.status_code != 101:
            return
        self._opening = None
        self.ws, binary = self._frames_only(self.ws)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.handler = server.open(self, admitted)
        early, self._early = self._early, None
        for data in early or ():
            self.handler.on_message(data)
        if binary:
            self.close(CLOSE_UNSUPPORTED_DATA, "OCPP-J takes text frames only")

    def _frames_only(self, handshake: ServerProtocol) -> tuple[ServerProtocol, bool]:
        """A protocol born open for the rest of the socket's life.

        The handshake's parser keeps the request (headers and all, ~2.6 KiB) alive in its
        frame for as long as the socket lives; an OPEN protocol never holds one. Bytes the
        client sent past the handshake (a frame begun early) carry over; True beside it when
        one of those was a binary frame. The fast path of data_received opens here, once the
        parser stands between frames.
        """
        ws = ServerProtocol(state=OPEN, max_size=self.server.max_size, logger=log)
        leftover = bytes(handshake.reader.buffer)
        edge: int | bytes | None = 0
        binary = False
        if leftover:
            ws.receive_data(leftover)
            for event in ws.events_received():
                if type(event) is Frame and event.opcode is TEXT:
                    self._deliver(bytes(event.data))
                elif type(event) is Frame and event.opcode is BINARY:
                    binary = True
            # anything websockets queued (a pong) goes out with the next read's answer, so
            # that read goes through it
            edge = (_advance(0, leftover) or b"") if ws.state is OPEN else None
        # websockets logs each frame it reads when debugging: then it reads them all
        self._edge = None if ws.debug else edge
        return ws, binary

    def _open_timed_out(self) -> None:
        self._timer = None
        if self.handler is None and self.transport is not None:
            log.info("opening handshake timed out")
            self.transport.abort()

    def _start_close_timer(self) -> None:
        if self._timer is None and self.transport is not None:
            self._timer = self.server.loop.call_later(
                self.server.close_timeout, self._close_timed_out
            )

    def _close_timed_out(self) -> None:
        self._timer = None
        if self.transport is not None:
            self.transport.abort()


class WsServer:
    """Listens, owns the sockets, pings idle ones, and closes them all on shutdown."""

    def __init__(
        self,
        admit: Admit,
        open: Open,  # noqa: A002 - the verb of the opening handshake
        *,
        subprotocols: list[str],
        max_size: int,
        ping_interval: float | None = 60,
        open_timeout: float = 10,
        close_timeout: float = 10,
        server_header: str = "evgate",
        max_sockets: int | None = None,
    ) -> None:
        self.admit = admit
        self.open = open
        self.subprotocols = [Subprotocol(p) for p in subprotocols]
        self.max_size = max_size
        self.ping_interval = ping_interval
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.server_header = server_header
        self.sockets: set[Socket] = set()
        self.max_sockets = max_sockets if max_sockets is not None else default_max_sockets()
        self.refused_full = 0
        self.ssl_context: ssl.SSLContext | None = None
        self._closing: set[asyncio.Future[Any]] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None) -> None:
        # TLS is started by each Socket on its accepted TCP connection (see _start_tls)
        self.ssl_context = ssl_context
        self._server = await self.loop.create_server(lambda: Socket(self), host, port, backlog=4096)
        if self.ping_interval:
            self._sweeper = asyncio.create_task(self._keepalive(), name="evgate-ws-keepalive")

    def track(self, closing: Awaitable[None]) -> None:
        """Work a closed socket left behind (e.g. recording the disconnect): awaited on close."""
        fut = asyncio.ensure_future(closing)
        self._closing.add(fut)
        fut.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._server is not None:
            self._server.close()
        for sock in list(self.sockets):
            sock.close(CLOSE_GOING_AWAY, "server shutting down")
        deadline = self.loop.time() + self.close_timeout
        while self.sockets and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for sock in list(self.sockets):
            if sock.transport is not None:
                sock.transport.abort()
        await asyncio.sleep(0)  # let connection_lost run for aborted sockets
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _keepalive(self) -> None:
        """Ping sockets idle for a ping interval; drop those silent for two."""
        interval = self.ping_interval
        assert interval
        while True:
            await asyncio.sleep(interval / 2)
            now = self.loop.time()
            for sock in list(self.sockets):
                if sock.handler is None:
                    continue
                idle = now - sock.last_seen
                if idle >= 2 * interval:
                    log.info("socket silent, dropped", extra={"idle_s": round(idle)})
                    if sock.transport is not None:
                        sock.transport.abort()
                elif idle >= interval:
                    sock.ping()
