"""Microbenchmark of `Socket.data_received`: µs per masked text frame read in one piece.

In process, no network: a Socket is opened with a real handshake on a stand-in transport, then
fed the same ~1.4 KB masked text frame (a MeterValues-sized call) over and over. The handler
drops the message, so the figure is the WebSocket layer alone. Also times a frame split in two
reads and a ping, which take websockets' parser.
Run: ``.venv/bin/python -m bench.ws_frames_bench [--frames N]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import struct
import time
from typing import Any

from gateway.ws_server import Socket, WsServer


class _Transport(asyncio.Transport):
    def write(self, data: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False


class _Drop:
    def on_message(self, data: bytes) -> None:
        pass

    def on_closed(self) -> None:
        return None


def masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    head = (
        struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        if n < 126
        else (struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n))
    )
    return head + mask + body


async def open_socket() -> Socket:
    async def admit(sock: Socket, request: Any) -> None:
        return None

    server = WsServer(admit, lambda sock, _: _Drop(), subprotocols=["ocpp1.6"], max_size=1 << 18)
    sock = Socket(server)
    sock.connection_made(_Transport())
    key = base64.b64encode(os.urandom(16)).decode()
    sock.data_received(
        (
            f"GET /ocpp/CP1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        ).encode()
    )
    assert sock._opening is not None
    await sock._opening
    assert sock.handler is not None
    return sock


def per_frame(sock: Socket, chunks: list[bytes], rounds: int) -> float:
    """Best of five: µs per round of `chunks`."""
    received = sock.data_received
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            for chunk in chunks:
                received(chunk)
        best = min(best, time.perf_counter() - start)
    return best / rounds * 1e6


async def main(frames: int) -> dict[str, Any]:
    sock = await open_socket()
    payload = json.dumps(
        [2, "m1", "MeterValues", {"connectorId": 1, "meterValue": [{"v": "x" * 1330}]}]
    ).encode()
    frame = masked(1, payload)
    half = len(frame) // 2
    result = {
        "bench": "ws_frames",
        "frame_bytes": len(frame),
        "whole_frame_us": round(per_frame(sock, [frame], frames), 3),
        "split_frame_us": round(per_frame(sock, [frame[:half], frame[half:]], frames), 3),
        "ping_us": round(per_frame(sock, [masked(9, b"evgate")], frames), 3),
    }
    sock.connection_lost(None)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=50_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.frames))))
