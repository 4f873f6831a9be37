"""A small OCPP 2.0.1 CSMS for testing the simulator (test peer, not product code).

Built on the `ocpp` library's v201 ChargePoint with schema validation on, so every frame the
simulator sends (and every answer it gives) is checked against the official 2.0.1 schemas.
It records every Call it receives as raw camelCase payloads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.messages import Call, unpack
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from sim_central import Received, free_port
from websockets.asyncio.server import Server, ServerConnection, serve


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class CsmsState:
    received: list[Received] = field(default_factory=list)
    valid_tags: set[str] | None = None  # None: every token is Accepted
    heartbeat_interval: int = 300
    sign_status: str = "Accepted"  # the answer to SignCertificate

    def of(self, action: str, charger_id: str | None = None) -> list[dict[str, Any]]:
        return [
            r.payload
            for r in self.received
            if r.action == action and (charger_id is None or r.charger_id == charger_id)
        ]

    def actions(self) -> list[str]:
        return [r.action for r in self.received]


class Peer201(ChargePoint):
    def __init__(self, charger_id: str, ws: ServerConnection, state: CsmsState) -> None:
        super().__init__(charger_id, ws, response_timeout=5)
        self.state = state

    async def route_message(self, raw_msg: str | bytes) -> None:
        msg = unpack(raw_msg)
        if isinstance(msg, Call):
            self.state.received.append(Received(self.id, msg.action, msg.payload))
        await super().route_message(raw_msg)

    def _info(self, token: str) -> dict[str, str]:
        tags = self.state.valid_tags
        return {"status": "Accepted" if tags is None or token in tags else "Invalid"}

    @on("BootNotification")
    async def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=_now(), interval=self.state.heartbeat_interval, status="Accepted"
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info=self._info(id_token["id_token"]))

    @on("TransactionEvent")
    async def on_tx(self, id_token: dict[str, Any] | None = None, **_: Any) -> Any:
        if id_token is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=self._info(id_token["id_token"]))

    @on("MeterValues")
    async def on_meter(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("NotifyReport")
    async def on_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("FirmwareStatusNotification")
    async def on_fw(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("LogStatusNotification")
    async def on_log(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on("ReservationStatusUpdate")
    async def on_reservation(self, **_: Any) -> call_result.ReservationStatusUpdate:
        return call_result.ReservationStatusUpdate()

    @on("SignCertificate")
    async def on_sign(self, **_: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status=self.state.sign_status)


class Csms:
    """A websockets server on 127.0.0.1 speaking ocpp2.0.1; `cps` holds connected chargers."""

    def __init__(self, ssl_context: Any = None) -> None:
        self.port = free_port()
        self.state = CsmsState()
        self.cps: dict[str, Peer201] = {}
        self.ssl_context = ssl_context
        self.peer_certs: list[Any] = []
        self._server: Server | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            compression=None,
            ssl=self.ssl_context,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, ws: ServerConnection) -> None:
        charger_id = ws.request.path.rsplit("/", 1)[-1] if ws.request else "?"
        sslobj = ws.transport.get_extra_info("ssl_object")
        if sslobj is not None:
            self.peer_certs.append(sslobj.getpeercert())
        cp = Peer201(charger_id, ws, self.state)
        self.cps[charger_id] = cp
        try:
            await cp.start()
        except Exception:
            pass
        finally:
            if self.cps.get(charger_id) is cp:
                del self.cps[charger_id]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        async def poll() -> None:
            while not predicate():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)

    async def send(self, charger_id: str, payload: Any) -> Any:
        await self.wait_for(lambda: charger_id in self.cps)
        return await self.cps[charger_id].call(payload, suppress=False)


__all__ = ["Csms", "CsmsState", "call"]
