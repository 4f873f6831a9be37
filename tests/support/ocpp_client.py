"""A small OCPP-J 1.6 charger for tests: real WebSocket, raw frames, no validation of ours."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class CallErrorReceived(Exception):
    def __init__(self, code: str, description: str, details: Any) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Charger:
    """Drives one connection; answers the central system's calls with `answers`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._results: dict[str, asyncio.Future[Any]] = {}
        self.received_calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, dict[str, Any]] = {
            "TriggerMessage": {"status": "Accepted"},
            "RemoteStopTransaction": {"status": "Accepted"},
            "RemoteStartTransaction": {"status": "Accepted"},
            "Reset": {"status": "Accepted"},
        }
        self._reader = asyncio.create_task(self._read())
        self.closed: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )

    @classmethod
    async def connect(
        cls,
        url: str,
        password: str | None = None,
        user: str | None = None,
        subprotocols: list[str] | None = None,
    ) -> Charger:
        headers = {}
        if password is not None:
            who = user if user is not None else url.rstrip("/").rsplit("/", 1)[-1]
            token = base64.b64encode(f"{who}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        ws = await connect(
            url,
            subprotocols=subprotocols if subprotocols is not None else ["ocpp1.6"],  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,
            open_timeout=10,
        )
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg[0] == 2:
                    self.received_calls.append((msg[2], msg[3]))
                    answer = self.answers.get(msg[2], {})
                    await self.ws.send(json.dumps([3, msg[1], answer]))
                else:
                    fut = self._results.pop(msg[1], None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
        except Exception:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.ws.close_code, self.ws.close_reason or ""))
            for fut in self._results.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed"))

    async def send_raw(self, frame: str | bytes, message_id: str | None = None) -> list[Any] | None:
        """Send any frame; wait for the answer to `message_id` if given."""
        fut = None
        if message_id is not None:
            fut = asyncio.get_running_loop().create_future()
            self._results[message_id] = fut
        await self.ws.send(frame)
        if fut is None:
            return None
        return await asyncio.wait_for(fut, 10)

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        message_id = f"t{next(self._ids)}"
        answer = await self.send_raw(json.dumps([2, message_id, action, payload]), message_id)
        assert answer is not None
        if answer[0] == 4:
            raise CallErrorReceived(answer[2], answer[3], answer[4])
        assert answer[0] == 3, answer
        result: dict[str, Any] = answer[2]
        return result

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()

    # -- the usual messages -----------------------------------------------------------------
    async def boot(self) -> dict[str, Any]:
        return await self.call(
            "BootNotification",
            {
                "chargePointVendor": "Wallbox",
                "chargePointModel": "PulsarPlus",
                "firmwareVersion": "6.5.0",
            },
        )

    async def status(self, status: str, connector: int = 1, ts: datetime | None = None) -> None:
        payload: dict[str, Any] = {
            "connectorId": connector,
            "errorCode": "NoError",
            "status": status,
        }
        if ts is not None:
            payload["timestamp"] = iso(ts)
        await self.call("StatusNotification", payload)

    async def start(
        self, id_tag: str, meter_start: int, ts: datetime, connector: int = 1
    ) -> dict[str, Any]:
        return await self.call(
            "StartTransaction",
            {
                "connectorId": connector,
                "idTag": id_tag,
                "meterStart": meter_start,
                "timestamp": iso(ts),
            },
        )

    async def meter(
        self,
        tx: int | None,
        ts: datetime,
        energy_wh: str,
        power_w: str = "7400",
        connector: int = 1,
        unit: str = "Wh",
    ) -> None:
        payload: dict[str, Any] = {
            "connectorId": connector,
            "meterValue": [sample(ts, energy_wh, power_w, unit)],
        }
        if tx is not None:
            payload["transactionId"] = tx
        await self.call("MeterValues", payload)

    async def stop(
        self,
        tx: int,
        meter_stop: int,
        ts: datetime,
        reason: str = "Local",
        id_tag: str | None = None,
        data: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "transactionId": tx,
            "meterStop": meter_stop,
            "timestamp": iso(ts),
            "reason": reason,
            "transactionData": data if data is not None else [],
        }
        if id_tag is not None:
            payload["idTag"] = id_tag
        return await self.call("StopTransaction", payload)


def sample(ts: datetime, energy_wh: str, power_w: str = "7400", unit: str = "Wh") -> dict[str, Any]:
    """A Wallbox-style meterValue with the nine sampled values of the benchmark workload."""
    sv = [
        {
            "value": energy_wh,
            "context": "Sample.Periodic",
            "measurand": "Energy.Active.Import.Register",
            "location": "Outlet",
            "unit": unit,
        },
        {
            "value": power_w,
            "context": "Sample.Periodic",
            "measurand": "Power.Active.Import",
            "location": "Outlet",
            "unit": "W",
        },
    ]
    for phase in ("L1", "L2", "L3"):
        sv.append(
            {
                "value": "10.7",
                "context": "Sample.Periodic",
                "measurand": "Current.Import",
                "phase": phase,
                "location": "Outlet",
                "unit": "A",
            }
        )
    for phase in ("L1-N", "L2-N", "L3-N"):
        sv.append(
            {
                "value": "230.1",
                "context": "Sample.Periodic",
                "measurand": "Voltage",
                "phase": phase,
                "location": "Outlet",
                "unit": "V",
            }
        )
    sv.append(
        {
            "value": "55",
            "context": "Sample.Periodic",
            "measurand": "SoC",
            "location": "EV",
            "unit": "Percent",
        }
    )
    return {"timestamp": iso(ts), "sampledValue": sv}


T0 = datetime(2026, 10, 14, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)
