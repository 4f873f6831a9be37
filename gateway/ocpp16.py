"""The OCPP 1.6J adapter: frames' payloads in, domain calls, response payloads out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from gateway import schemas
from gateway.ocpp_j import OcppError
from gateway.service import ChargerContext, ChargingService, id_tag_info
from metering import MAX_REGISTER_WH, Reading, parse_reading, parse_timestamp

log = logging.getLogger("evgate.ocpp")

VERSION = "v16"
SUBPROTOCOL = "ocpp1.6"

# actions a central system sends, never receives: a charger sending one is NotSupported
CSMS_ACTIONS = frozenset(
    {
        "CancelReservation",
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "ClearChargingProfile",
        "GetCompositeSchedule",
        "GetConfiguration",
        "GetDiagnostics",
        "GetLocalListVersion",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "ReserveNow",
        "Reset",
        "SendLocalList",
        "SetChargingProfile",
        "TriggerMessage",
        "UnlockConnector",
        "UpdateFirmware",
    }
)

# Integers the schema leaves unbounded, bounded by what they can mean and the store can hold
# (connector and reservation ids are 32-bit columns, transaction ids 64-bit).
_INT32, _INT64 = 2**31 - 1, 2**63 - 1
LIMITS = {
    "connectorId": _INT32,
    "reservationId": _INT32,
    "transactionId": _INT64,
    "meterStart": MAX_REGISTER_WH,
    "meterStop": MAX_REGISTER_WH,
}


def check_limits(payload: dict[str, Any]) -> None:
    """A PropertyConstraintViolation for a top-level integer no connector or meter can send."""
    for name, limit in LIMITS.items():
        value = payload.get(name)
        if value is not None and not -limit <= value <= limit:
            raise OcppError(
                "PropertyConstraintViolation",
                f"{name} {value} is out of range: at most {limit} in magnitude",
            )


# DataTransfer vendors whose messages evgate knows: Wallbox's (kept for support); any other
# vendor's are kept too, and answered UnknownVendorId as OCPP 1.6 asks.
KNOWN_VENDORS = frozenset({"com.wallbox"})

Handler = Callable[[ChargerContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value: str, what: str) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise OcppError(
            "TypeConstraintViolation", f"{what} {value!r} is not an ISO 8601 date-time"
        ) from None


class Ocpp16Adapter:
    version = VERSION

    def __init__(self, service: ChargingService, heartbeat_interval: int = 300) -> None:
        self.service = service
        self.heartbeat_interval = heartbeat_interval
        self.handlers: dict[str, Handler] = {
            "BootNotification": self.boot_notification,
            "Heartbeat": self.heartbeat,
            "StatusNotification": self.status_notification,
            "Authorize": self.authorize,
            "StartTransaction": self.start_transaction,
            "MeterValues": self.meter_values,
            "StopTransaction": self.stop_transaction,
            "DataTransfer": self.data_transfer,
            "DiagnosticsStatusNotification": self.diagnostics_status,
            "FirmwareStatusNotification": self.firmware_status,
        }

    async def handle(
        self, ctx: ChargerContext, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        handler = self.handlers.get(action)
        if handler is None:
            if action in CSMS_ACTIONS:
                raise OcppError("NotSupported", f"{action} is sent by a central system, not to it")
            raise OcppError("NotImplemented", f"unknown action {action!r}")
        try:
            schemas.check(VERSION, action, payload)
        except OcppError:
            if not ctx.lenient:
                raise
            payload, fixes = schemas.repair(VERSION, action, payload)
            schemas.check(VERSION, action, payload)  # still wrong: the CallError stands
            log.warning(
                "lenient repair", extra={"charger": ctx.id, "action": action, "fixes": fixes}
            )
        check_limits(payload)
        return await handler(ctx, payload)

    def quick(
        self,
        ctx: ChargerContext,
        action: str,
        payload: dict[str, Any],
        answered: Callable[[dict[str, Any], BaseException | None], None],
    ) -> bool:
        """Take a call that awaits nothing but its commit without a task (MeterValues of a
        booted charger and a known session): `answered(result, error)` follows the commit.

        False, with nothing done, for any other call and any payload needing an answer of
        handle()'s: a CallError, a lenient repair, a read.
        """
        if action != "MeterValues" or not ctx.booted:
            return False
        try:
            schemas.check(VERSION, action, payload)
            check_limits(payload)
            readings = self._readings(payload["meterValue"], "meterValue.timestamp")
        except OcppError:
            return False
        return self.service.append_meter_values(
            ctx,
            payload["connectorId"],
            payload.get("transactionId"),
            readings,
            partial(answered, {}),
        )

    async def boot_notification(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        info = {
            "vendor": p["chargePointVendor"],
            "model": p["chargePointModel"],
            "serial": p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
            "firmware": p.get("firmwareVersion"),
        }
        status = await self.service.boot(ctx, info)
        return {"status": status, "currentTime": iso_now(), "interval": self.heartbeat_interval}

    async def heartbeat(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"currentTime": iso_now()}

    async def status_notification(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        ts = _time(p["timestamp"], "timestamp") if "timestamp" in p else None
        await self.service.status(ctx, p["connectorId"], p["status"], p["errorCode"], ts, p)
        return {}

    async def authorize(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"idTagInfo": await self.service.authorize(ctx, p["idTag"])}

    async def start_transaction(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        result = await self.service.start(
            ctx,
            p["connectorId"],
            p["idTag"],
            p["meterStart"],
            _time(p["timestamp"], "timestamp"),
            p.get("reservationId"),
        )
        info = id_tag_info(result.status, result.expires_at)
        return {"transactionId": result.transaction_id, "idTagInfo": info}

    async def meter_values(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        readings = self._readings(p["meterValue"], "meterValue.timestamp")
        await self.service.meter_values(ctx, p["connectorId"], p.get("transactionId"), readings)
        return {}

    @staticmethod
    def _readings(meter_values: list[dict[str, Any]], what: str) -> list[tuple[Reading, Any]]:
        """(reading, sampled values as sent) per meterValue."""
        return [
            (parse_reading(mv, _time(mv["timestamp"], what)), mv["sampledValue"])
            for mv in meter_values
        ]

    async def stop_transaction(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        readings = self._readings(p.get("transactionData") or [], "transactionData.timestamp")
        status = await self.service.stop(
            ctx,
            p["transactionId"],
            p["meterStop"],
            _time(p["timestamp"], "timestamp"),
            p.get("reason"),
            p.get("idTag"),
            readings,
        )
        return {"idTagInfo": {"status": status}} if status is not None else {}

    async def data_transfer(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        """Kept whatever the vendor; Accepted only for a vendor whose messages we know."""
        await self.service.data_transfer(ctx, p["vendorId"], p.get("messageId"), p.get("data"))
        return {"status": "Accepted" if p["vendorId"] in KNOWN_VENDORS else "UnknownVendorId"}

    async def firmware_status(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        await self.service.firmware_status(ctx, "firmware", p["status"])
        return {}

    async def diagnostics_status(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        await self.service.firmware_status(ctx, "diagnostics", p["status"])
        return {}
