"""Socket's own reading of whole text frames against websockets' parser (gateway/ws_server.py).

The same byte stream, cut at random points, goes into a Socket (fast path and all) and into a
bare websockets ServerProtocol driven the way Socket drove it before the fast path; the
messages delivered, the bytes written back (pongs, close frames, end of stream) and the close
codes must be the same. After every read, the Socket must say "fast path open" exactly when
websockets' parser stands between frames with nothing buffered, no fragmented message open.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import BINARY, CLOSE, CONT, TEXT, Frame
from websockets.protocol import OPEN, Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.utils import apply_mask

from gateway.ws_server import Socket, WsServer, _advance, _text_frames

MAX = 70_000  # so 16-bit lengths and one 64-bit length fit, and larger frames are too big
CLOSE_ME = b'"close me"'  # the application closes the socket on this message

Log = list[tuple[Any, ...]]


class Wide(bytes):
    """Bytes of a big frame, shown short in Hypothesis' reports."""

    def __repr__(self) -> str:
        return f"<{len(self)} bytes, {bytes(self[:16])!r}...>"


def frame(
    first: int,
    payload: bytes,
    *,
    masked: bool = True,
    width: int = 0,
    declared: int | None = None,
) -> bytes:
    """A client frame: `first` is FIN|RSV|opcode; `width` forces a 16/64-bit length."""
    n = len(payload) if declared is None else declared
    second = 0x80 if masked else 0
    if width == 8 or n >= 65536:
        head = struct.pack("!BBQ", first, second | 127, n)
    elif width == 2 or n >= 126:
        head = struct.pack("!BBH", first, second | 126, n)
    else:
        head = struct.pack("!BB", first, second | n)
    if not masked:
        return head + payload
    mask = struct.pack("!I", (len(payload) + 1) * 2654435761 % 2**32)  # a mask, yet repeatable
    data = head + mask + apply_mask(payload, mask)
    return Wide(data) if len(data) > 200 else data


texts = st.one_of(
    st.text(max_size=300).map(str.encode),
    st.binary(max_size=300),  # mostly not UTF-8
    st.sampled_from([b"\xff", b"\xc3", b'[2, "a\xed\xa0\x80", "Heartbeat", {}]']),
)
widths = st.sampled_from([0, 0, 0, 2, 8])
control = st.binary(max_size=125)

whole = st.one_of(
    # whole text frames, the fast path's, most often
    st.builds(lambda p, w: [frame(0x81, p, width=w)], texts, widths),
    st.builds(lambda p, w: [frame(0x81, p, width=w)], texts, widths),
    st.builds(lambda p, w: [frame(0x81, p, width=w)], texts, widths),
    st.builds(lambda p: [frame(0x89, p)], control),  # ping
    st.builds(lambda p, q: [frame(0x81, p), frame(0x89, q)], texts, control),
    st.builds(lambda p: [frame(0x8A, p)], control),  # pong
    st.builds(lambda p: [frame(0x82, p)], st.binary(max_size=200)),  # binary
    # a fragmented message, perhaps with a ping in between
    st.builds(
        lambda parts, ping: (
            [frame(0x01, parts[0])]
            + ([frame(0x89, b"p")] if ping else [])
            + [frame(0x00, p) for p in parts[1:-1]]
            + [frame(0x80, parts[-1])]
        ),
        st.lists(texts, min_size=2, max_size=4),
        st.booleans(),
    ),
    st.builds(lambda p: [frame(0x01, p)], texts),  # a first fragment, alone
    st.builds(lambda p: [frame(0x80, p)], texts),  # a last fragment, alone
    st.builds(lambda p: [frame(0x81, p, masked=False), frame(0x81, p)], texts),  # 1002
    st.just([frame(0x81, CLOSE_ME)]),
    st.builds(lambda rsv, p: [frame(0x81 | rsv, p)], st.sampled_from([0x40, 0x20, 0x10]), texts),
    st.builds(lambda op: [frame(0x80 | op, b"x")], st.sampled_from([3, 7, 0xB, 0xF])),
    st.builds(lambda p: [frame(0x89, p)], st.binary(min_size=126, max_size=130)),
    st.builds(lambda p: [frame(0x09, p)], control),  # fragmented ping
    st.just([frame(0x81, b"o" * (MAX + 1))]),  # too big by one byte
    st.just([frame(0x81, b"b" * 65_536)]),  # a real 64-bit length, within MAX
    st.builds(
        lambda code, reason: [frame(0x88, struct.pack("!H", code) + reason)],
        st.sampled_from([1000, 1001, 1002, 1005, 1011, 3000, 999, 5000]),
        st.sampled_from([b"", b"bye", b"\xff"]),
    ),
    st.sampled_from([[frame(0x88, b"")], [frame(0x88, b"\x03")]]),
)
# too big by its header alone (the rest never comes)
atoms = whole | st.builds(
    lambda n, w: [frame(0x81, b"ab", width=w, declared=n)],
    st.integers(MAX + 1, 2**63 - 1),
    st.sampled_from([0, 8]),
)


class Wire(asyncio.Transport):
    """A transport that records what the Socket writes."""

    def __init__(self, log: Log) -> None:
        super().__init__()
        self.log = log
        self.closed = False

    def write(self, data: Any) -> None:
        self.log.append(("write", bytes(data)))

    def close(self) -> None:
        self.log.append(("eof",))
        self.closed = True

    def abort(self) -> None:
        self.log.append(("abort",))
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Recorder:
    def __init__(self, sock: Socket, log: Log) -> None:
        self.sock, self.log = sock, log

    def on_message(self, data: bytes) -> None:
        self.log.append(("message", type(data), data))
        if data == CLOSE_ME:
            self.sock.close(1000, "bye")

    def on_closed(self) -> None:
        return None


class Reference:
    """websockets alone, its events handled as Socket.data_received handles them."""

    def __init__(self) -> None:
        self.ws = ServerProtocol(state=OPEN, max_size=MAX)
        self.log: Log = []
        self.fragments: list[Any] | None = None
        self.closing = False

    def feed(self, chunk: bytes) -> None:
        self.ws.receive_data(chunk)
        events = self.ws.events_received()
        self.flush()
        for event in events:
            assert type(event) is Frame
            if event.opcode is BINARY:  # OCPP-J takes text only: 1003, the read ends there
                self.fragments = None
                if self.ws.state is OPEN:
                    self.ws.send_close(1003, "OCPP-J takes text frames only")
                    self.flush()
                    self.closing = True
                return
            if event.opcode is TEXT:
                if event.fin:
                    self.deliver(event.data)
                else:
                    self.fragments = [event.data]
            elif event.opcode is CONT and self.fragments is not None:
                self.fragments.append(event.data)
                if event.fin:
                    data, self.fragments = b"".join(self.fragments), None
                    self.deliver(data)
            elif event.opcode is CLOSE:
                self.closing = True

    def deliver(self, data: Any) -> None:
        self.log.append(("message", type(data), data))
        if data == CLOSE_ME and self.ws.state is OPEN:
            self.ws.send_close(1000, "bye")
            self.flush()
            self.closing = True

    def flush(self) -> None:
        for out in self.ws.data_to_send():
            self.log.append(("write", out) if out else ("eof",))


def between_frames(ws: ServerProtocol) -> bool:
    """websockets' parser waits for a new frame, nothing buffered, no message half read."""
    waiting: Any = ws.parser
    chain = []
    while waiting is not None:
        chain.append(waiting.gi_code)
        waiting = waiting.gi_yieldfrom
    return (
        ws.state is OPEN
        and chain
        == [ServerProtocol.parse.__code__, Protocol.parse.__code__, StreamReader.at_eof.__code__]
        and not ws.reader.buffer
        and ws.current_size is None
    )


async def open_socket(log: Log, early: bytes = b"") -> tuple[Socket, Wire]:
    """A Socket past a real opening handshake (`early`: bytes sent along with the request)."""

    async def admit(sock: Socket, request: Any) -> None:
        return None

    server = WsServer(
        admit,
        lambda sock, _: Recorder(sock, log),
        subprotocols=["ocpp1.6"],
        max_size=MAX,
        ping_interval=None,
    )
    sock = Socket(server)
    wire = Wire([])
    sock.connection_made(wire)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ocpp/CP1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    ).encode()
    sock.data_received(request + early)
    assert sock._opening is not None
    await sock._opening
    assert wire.log[0][1].startswith(b"HTTP/1.1 101 ")
    wire.log = log
    return sock, wire


async def through_socket(chunks: list[bytes], early: bytes) -> tuple[Socket, Log]:
    log: Log = []
    sock, wire = await open_socket(log, early)
    for chunk in chunks:
        if wire.closed:  # asyncio reads no more from a closed transport
            break
        sock.data_received(chunk)
        # the fast path is open exactly when websockets would be reading a new frame
        assert (sock._edge == 0) == (between_frames(sock.ws) and not wire.closed), (
            sock._edge,
            bytes(sock.ws.reader.buffer),
        )
    if not wire.closed:
        sock.eof_received()
    if sock._timer is not None:
        log.append(("timer",))
    sock.connection_lost(None)
    return sock, log


def through_websockets(stream: list[bytes]) -> Reference:
    ref = Reference()
    for chunk in stream:
        if ("eof",) in ref.log:
            break
        ref.feed(chunk)
    if ("eof",) not in ref.log:
        ref.ws.receive_eof()
        ref.flush()
    if ref.closing:
        ref.log.append(("timer",))
    return ref


def cut(stream: bytes, frames: list[bytes], data: st.DataObject) -> list[int]:
    """Split points: some at frame edges (where the fast path starts), some anywhere."""
    edges, at = [], 0
    for f in frames:
        at += len(f)
        edges.append(at)
    if not edges:
        return []
    points = set(data.draw(st.lists(st.sampled_from(edges), max_size=len(edges))))
    points |= set(data.draw(st.lists(st.integers(1, max(len(stream) - 1, 1)), max_size=8)))
    return sorted(p for p in points if 0 < p < len(stream))


def chunked(stream: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(atoms, max_size=12), st.booleans(), st.data())
def test_socket_reads_every_stream_as_websockets_does(
    groups: list[list[bytes]], early: bool, data: st.DataObject
) -> None:
    frames = [f for group in groups for f in group]
    stream = b"".join(frames)
    chunks = chunked(stream, cut(stream, frames, data))
    # one byte sent with the request: the protocol after the handshake starts mid-header
    first = chunks[0][:1] if early and chunks else b""
    if first:
        chunks = ([chunks[0][1:]] if len(chunks[0]) > 1 else []) + chunks[1:]

    sock, got = asyncio.run(through_socket(chunks, first))
    ref = through_websockets(([first] if first else []) + chunks)

    assert got == ref.log
    assert sock.ws.state is ref.ws.state
    assert sock.ws.close_sent == ref.ws.close_sent
    assert sock.ws.close_rcvd == ref.ws.close_rcvd


def test_the_fast_path_comes_back_after_what_websockets_read() -> None:
    """Pongs, split frames and fragments go through websockets; whole text frames after them
    do not."""
    ping, pong = frame(0x89, b"hi"), frame(0x8A, b"evgate")
    hb = b'[2, "a", "Heartbeat", {}]'
    call = frame(0x81, hb)
    big = frame(0x81, b"m" * 1400)
    stream = [
        call,
        pong,
        call,
        big[:3],  # inside the header
        big[3:700],
        big[700:] + call[:1],
        call[1:],
        frame(0x01, b"[2,") + ping + frame(0x80, b' "f", "Heartbeat", {}]'),
        call + call,
        call + ping,  # a whole text frame, then websockets for the rest
        call,
    ]

    log: Log = []
    fast: list[bool] = []

    async def scenario() -> None:
        sock, _ = await open_socket(log)
        parsed = sock.ws.receive_data

        def counted(data: Any) -> None:
            log.append(("websockets",))
            parsed(data)

        sock.ws.receive_data = counted  # type: ignore[method-assign]
        for chunk in stream:
            fast.append(sock._edge == 0)
            sock.data_received(chunk)
        fast.append(sock._edge == 0)

    asyncio.run(scenario())
    assert fast == [True] * 4 + [False] * 3 + [True] * 5
    messages = [entry[2] for entry in log if entry[0] == "message"]
    fragmented = b'[2, "f", "Heartbeat", {}]'
    assert messages == [hb, hb, b"m" * 1400, hb, fragmented, hb, hb, hb, hb]
    # websockets saw: the pong, the split frame's three reads and the one after, the fragments
    # with their ping, and the ping behind a whole text frame (alone)
    assert log.count(("websockets",)) == 7
    assert log.count(("write", b"\x8a\x02hi")) == 2  # both pings answered
    # the pong of a read goes out before the messages of that read, as websockets had it
    answered = [("websockets",), ("write", b"\x8a\x02hi"), ("message", bytes, hb)]
    assert log[-4:] == [*answered, ("message", bytes, hb)]


@given(st.lists(whole, max_size=8), st.data())
@settings(max_examples=200, deadline=None)
def test_advance_finds_the_frame_edges(groups: list[list[bytes]], data: st.DataObject) -> None:
    """Fed in any pieces, _advance lands on 0 exactly at the end of each frame."""
    frames = [f for group in groups for f in group]
    stream = b"".join(frames)
    edges, at = {0}, 0
    for f in frames:
        at += len(f)
        edges.add(at)
    edge: int | bytes = 0
    at = 0
    for chunk in chunked(stream, cut(stream, frames, data)):
        edge = _advance(edge, chunk)
        at += len(chunk)
        assert (edge == 0) == (at in edges)
        if isinstance(edge, int) and edge:
            assert at + edge in edges
        elif edge:
            assert at - len(edge) in edges and len(edge) < 10


def test_text_frames_stops_at_anything_but_a_whole_masked_text_frame() -> None:
    call = frame(0x81, b"abc")
    assert _text_frames(call + call, MAX) == ([b"abc", b"abc"], 2 * len(call))
    for odd in [
        frame(0x81, b"abc", masked=False),
        frame(0x01, b"abc"),
        frame(0xC1, b"abc"),
        frame(0x82, b"abc"),
        frame(0x89, b""),
        frame(0x81, b"x" * (MAX + 1)),
        frame(0x81, b"abc", declared=2**64 - 1),
    ]:
        assert _text_frames(call + odd + call + call, MAX) == ([b"abc"], len(call))
    for part in [call[:-1], call[:2]]:  # the rest comes in a later read
        assert _text_frames(call + part, MAX) == ([b"abc"], len(call))
    assert _text_frames(frame(0x81, b"", width=8), MAX) == ([b""], 14)
