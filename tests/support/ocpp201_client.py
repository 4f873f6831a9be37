"""A small OCPP 2.0.1 charger for tests: the 1.6 test charger's socket and framing, 2.0.1's
messages (real WebSocket, raw frames, no validation of ours)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.ocpp_client import Charger, iso

SUBPROTOCOL = "ocpp2.0.1"


def energy(value: float | int | str, context: str, unit: str = "Wh") -> dict[str, Any]:
    """An Energy.Active.Import.Register sampled value; a str is sent as raw JSON number text."""
    return {
        "value": value,
        "context": context,
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unitOfMeasure": {"unit": unit},
    }


def meter_value(ts: datetime, *sampled: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": iso(ts), "sampledValue": list(sampled)}


class Charger201(Charger):
    """Drives one 2.0.1 connection; `seq` numbers each transaction's events."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.answers = {
            "TriggerMessage": {"status": "Accepted"},
            "RequestStartTransaction": {"status": "Accepted"},
            "RequestStopTransaction": {"status": "Accepted"},
            "Reset": {"status": "Accepted"},
            "UnlockConnector": {"status": "Unlocked"},
            "ChangeAvailability": {"status": "Accepted"},
            "GetBaseReport": {"status": "Accepted"},
        }
        self.seq: dict[str, int] = {}

    @classmethod
    async def connect201(
        cls, url: str, subprotocols: list[str] | None = None, password: str | None = None
    ) -> Charger201:
        made = await cls.connect(url, password, subprotocols=subprotocols or [SUBPROTOCOL])
        assert isinstance(made, Charger201)
        return made

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol

    async def boot(self) -> dict[str, Any]:
        return await self.call(
            "BootNotification",
            {
                "reason": "PowerUp",
                "chargingStation": {
                    "model": "PulsarPlus",
                    "vendorName": "Wallbox",
                    "firmwareVersion": "6.5.0",
                },
            },
        )

    async def status(  # type: ignore[override]
        self, status: str, connector: int = 1, ts: datetime | None = None
    ) -> None:
        assert ts is not None
        await self.call(
            "StatusNotification",
            {
                "timestamp": iso(ts),
                "connectorStatus": status,
                "evseId": connector,
                "connectorId": 1,
            },
        )

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        return await self.call("Authorize", {"idToken": {"idToken": id_tag, "type": "ISO14443"}})

    def event_payload(
        self,
        kind: str,
        tx: str,
        ts: datetime,
        *,
        trigger: str = "MeterValuePeriodic",
        charging_state: str | None = None,
        meter: list[dict[str, Any]] | None = None,
        id_tag: str | None = None,
        seq: int | None = None,
        evse: int | None = 1,
        offline: bool = False,
        stopped_reason: str | None = None,
        remote_start_id: int | None = None,
    ) -> dict[str, Any]:
        if seq is None:
            seq = self.seq.get(tx, -1) + 1
        self.seq[tx] = max(seq, self.seq.get(tx, -1))
        info: dict[str, Any] = {"transactionId": tx}
        if charging_state is not None:
            info["chargingState"] = charging_state
        if stopped_reason is not None:
            info["stoppedReason"] = stopped_reason
        if remote_start_id is not None:
            info["remoteStartId"] = remote_start_id
        payload: dict[str, Any] = {
            "eventType": kind,
            "timestamp": iso(ts),
            "triggerReason": trigger,
            "seqNo": seq,
            "transactionInfo": info,
        }
        if evse is not None:
            payload["evse"] = {"id": evse, "connectorId": 1}
        if meter:
            payload["meterValue"] = meter
        if id_tag is not None:
            payload["idToken"] = {"idToken": id_tag, "type": "ISO14443"}
        if offline:
            payload["offline"] = True
        return payload

    async def event(self, kind: str, tx: str, ts: datetime, **kw: Any) -> dict[str, Any]:
        return await self.call("TransactionEvent", self.event_payload(kind, tx, ts, **kw))
