"""A small OCPP 1.6 central system for testing the simulator (test peer, not product code).

Built on the `ocpp` library's ChargePoint with schema validation on, so every frame the
simulator sends is checked against the official 1.6 JSON schemas. It records every Call it
receives (raw camelCase payloads), hands out transaction ids, and can be stopped and started
again on the same port to test offline replay.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.messages import Call, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from websockets.asyncio.server import Server, ServerConnection, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Received:
    charger_id: str
    action: str
    payload: dict[str, Any]


@dataclass
class CentralState:
    """Survives restarts of the server: what a database would hold."""

    received: list[Received] = field(default_factory=list)
    tx_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    valid_tags: set[str] | None = None  # None: every tag is Accepted
    heartbeat_interval: int = 300
    boot_status: str = "Accepted"
    auth_headers: dict[str, str | None] = field(default_factory=dict)
    error_next: dict[str, int] = field(default_factory=dict)  # action -> CallErrors to give

    def of(self, action: str, charger_id: str | None = None) -> list[dict[str, Any]]:
        return [
            r.payload
            for r in self.received
            if r.action == action and (charger_id is None or r.charger_id == charger_id)
        ]

    def actions(self, charger_id: str | None = None) -> list[str]:
        return [r.action for r in self.received if charger_id is None or r.charger_id == charger_id]


class PeerCP(ChargePoint):
    """One connected charger, as seen by the test central system."""

    def __init__(self, charger_id: str, ws: ServerConnection, state: CentralState) -> None:
        super().__init__(charger_id, ws, response_timeout=5)
        self.state = state

    async def route_message(self, raw_msg: str | bytes) -> None:
        msg = unpack(raw_msg)
        if isinstance(msg, Call):
            pending = self.state.error_next.get(msg.action, 0)
            if pending:
                self.state.error_next[msg.action] = pending - 1
                await self._send(f'[4,"{msg.unique_id}","InternalError","test says no",{{}}]')
                return
            self.state.received.append(Received(self.id, msg.action, msg.payload))
        await super().route_message(raw_msg)

    def _tag_status(self, id_tag: str) -> str:
        tags = self.state.valid_tags
        return "Accepted" if tags is None or id_tag in tags else "Invalid"

    @on("BootNotification")
    async def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=_now(),
            interval=self.state.heartbeat_interval,
            status=self.state.boot_status,
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": self._tag_status(id_tag)})

    @on("StartTransaction")
    async def on_start(self, id_tag: str, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=next(self.state.tx_ids), id_tag_info={"status": self._tag_status(id_tag)}
        )

    @on("StopTransaction")
    async def on_stop(self, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction()

    @on("MeterValues")
    async def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("DiagnosticsStatusNotification")
    async def on_diag(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    async def on_fw(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()


class CentralSystem:
    """Start/stop a websockets server on 127.0.0.1:port; `cps` holds connected chargers."""

    def __init__(self, port: int | None = None, state: CentralState | None = None) -> None:
        self.port = port or free_port()
        self.state = state or CentralState()
        self.cps: dict[str, PeerCP] = {}
        self.connects: dict[str, int] = {}
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            subprotocols=["ocpp1.6"],
            compression=None,  # type: ignore[list-item]
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.cps.clear()

    async def _handle(self, ws: ServerConnection) -> None:
        charger_id = ws.request.path.rsplit("/", 1)[-1] if ws.request else "?"
        header = ws.request.headers.get("Authorization") if ws.request else None
        if header and header.startswith("Basic "):
            header = base64.b64decode(header[6:]).decode()
        self.state.auth_headers[charger_id] = header
        self.connects[charger_id] = self.connects.get(charger_id, 0) + 1
        cp = PeerCP(charger_id, ws, self.state)
        self.cps[charger_id] = cp
        try:
            await cp.start()
        except Exception:
            pass
        finally:
            if self.cps.get(charger_id) is cp:
                del self.cps[charger_id]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Poll until predicate() is true (wall-clock bound; the assertion is the caller's)."""

        async def poll() -> None:
            while not predicate():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)

    async def send(self, charger_id: str, payload: Any) -> Any:
        """Send a command (an ocpp.v16.call dataclass) and return the result payload."""
        await self.wait_for(lambda: charger_id in self.cps)
        return await self.cps[charger_id].call(payload, suppress=False)


__all__ = ["CentralState", "CentralSystem", "Received", "call", "free_port"]
