"""The OCPP 2.0.1 adapter: frames' payloads in, the same domain calls as 1.6, payloads out.

Beside gateway/ocpp16.py, over the same ChargingService, store and group commit: every
answer follows its commit. A TransactionEvent is mapped onto 1.6's session calls (docs/
ocpp201.md): Started opens a session (service.start), Updated adds samples (the hot path,
taken without a task by `quick` like 1.6's MeterValues; its periodic shape is checked and read
in one pass by gateway.ocpp201_hot, any other by the full schema check and `readings`), Ended
closes it (service.stop); a chargingState change is kept in the status history, where the one
session trace (metering.trace) reads charging and parking time from, as it reads 1.6's statuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from gateway import ocpp201_hot, schemas
from gateway.csr_signing import CsrRejected, CsrSigner
from gateway.ocpp16 import iso_now
from gateway.ocpp_j import OcppError
from gateway.service import ChargerContext, ChargingService
from metering import EAIR, POWER, Reading, parse_reading, parse_timestamp
from store import transaction_refs
from store.batcher import Batch

log = logging.getLogger("evgate.ocpp")

VERSION = "v201"
SUBPROTOCOL = "ocpp2.0.1"

# DataTransfer vendors whose messages evgate knows (others are kept, answered UnknownVendorId)
KNOWN_VENDORS = frozenset({"com.wallbox"})
# the contexts whose register opens and closes a transaction
BEGIN, END = "Transaction.Begin", "Transaction.End"
_INT32 = 2**31 - 1

Handler = Callable[[ChargerContext, dict[str, Any]], Awaitable[dict[str, Any]]]
Answered = Callable[[dict[str, Any], BaseException | None], None]


@dataclass(slots=True)
class TxState:
    """One 2.0.1 transaction as this connection knows it (after its first event here)."""

    session_id: int
    connector_id: int
    seen: set[int] = field(default_factory=set)  # seqNos committed on this connection
    stored_until: datetime | None = None  # newest sample stored before this connection
    charging_state: str | None = None
    identified: bool = True  # False: opened without a token, the next one given is its own


def _time(value: str, what: str) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise OcppError(
            "TypeConstraintViolation", f"{what} {value!r} is not an ISO 8601 date-time"
        ) from None


def _text(value: Any, multiplier: int | float) -> str:
    """A 2.0.1 sampled value (a JSON number) as the decimal text it was sent as: the shortest
    repr of a float is the decimal written (for up to 15 significant digits), so 1234.56 Wh
    stays exactly 1234.56 Wh. A multiplier no meter sends (one that overflows Decimal) reads
    as no value; 3.0 is the integer 3 to the draft-06 schema, so it is 3 here too."""
    if multiplier == 0:
        return str(value)
    try:
        return str(Decimal(str(value)).scaleb(int(multiplier)))
    except ArithmeticError:  # InvalidOperation, Overflow
        return ""


def reading(mv: dict[str, Any], ts: datetime) -> Reading:
    """metering.parse_reading of a 2.0.1 meterValue: its register and power sampled values
    put in 1.6's shape (value as decimal text, unitOfMeasure's unit and multiplier applied);
    the context is the first sampled value's that has one."""
    picked = []
    context = None
    for sv in mv["sampledValue"]:
        if context is None:
            context = sv.get("context")
        measurand = sv.get("measurand", EAIR)
        if measurand != EAIR and measurand != POWER:
            continue
        unit = sv.get("unitOfMeasure")
        one = {
            "measurand": measurand,
            "value": _text(sv["value"], unit.get("multiplier", 0) if unit else 0),
        }
        if unit is not None and "unit" in unit:
            one["unit"] = unit["unit"]
        if "phase" in sv:
            one["phase"] = sv["phase"]
        if "location" in sv:
            one["location"] = sv["location"]
        picked.append(one)
    found = parse_reading({"sampledValue": picked}, ts)
    return Reading(found.ts, found.energy_mwh, found.power_w, context)


def readings(
    meter_values: list[dict[str, Any]], event_at: str | None = None, event_ts: Any = None
) -> list[tuple[Reading, Any]]:
    """(reading, sampled values as sent) per meterValue; a meterValue stamped like its event
    takes the event's parsed time (one parse, not two)."""
    out = []
    for mv in meter_values:
        stamp = mv["timestamp"]
        ts = event_ts if stamp == event_at else _time(stamp, "meterValue.timestamp")
        out.append((reading(mv, ts), mv["sampledValue"]))
    return out


def register_wh(found: list[tuple[Reading, Any]], context: str) -> int | None:
    """The register in Wh of the reading of `context` (else the last one with a register)."""
    best = None
    for r, _ in found:
        if r.energy_mwh is None:
            continue
        if r.context == context:
            best = r
            break
        best = r
    return None if best is None else int(best.energy_mwh // 1000)  # type: ignore[operator]


def id_token_info(tag_info: dict[str, Any]) -> dict[str, Any]:
    """1.6's idTagInfo as 2.0.1's idTokenInfo (the statuses are 2.0.1's too)."""
    info: dict[str, Any] = {"status": tag_info["status"]}
    if "expiryDate" in tag_info:
        info["cacheExpiryDateTime"] = tag_info["expiryDate"]
    return info


def _check(action: str, payload: dict[str, Any]) -> None:
    schemas.check(VERSION, f"{action}Request", payload)
    # integers the store keeps in 32-bit columns (evse, connector, reservation, seqNo)
    for key in ("evseId", "connectorId", "reservationId", "seqNo", "requestId"):
        value = payload.get(key)
        if type(value) is int and not -_INT32 <= value <= _INT32:
            raise OcppError("PropertyConstraintViolation", f"{key} {value} is out of range")


class Ocpp201Adapter:
    version = VERSION

    def __init__(
        self,
        service: ChargingService,
        heartbeat_interval: int = 300,
        signer: CsrSigner | None = None,
    ) -> None:
        self.service = service
        self.heartbeat_interval = heartbeat_interval
        self.signer = signer  # None: no CA key configured, SignCertificate is Rejected
        self.handlers: dict[str, Handler] = {
            "BootNotification": self.boot_notification,
            "Heartbeat": self.heartbeat,
            "StatusNotification": self.status_notification,
            "Authorize": self.authorize,
            "TransactionEvent": self.transaction_event,
            "MeterValues": self.meter_values,
            "NotifyEvent": self.notify_event,
            "NotifyReport": self.notify_report,
            "SecurityEventNotification": self.security_event,
            "FirmwareStatusNotification": self.firmware_status,
            "LogStatusNotification": self.log_status,
            "DataTransfer": self.data_transfer,
            "SignCertificate": self.sign_certificate,
        }

    async def handle(
        self, ctx: ChargerContext, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        handler = self.handlers.get(action)
        if handler is None:
            if schemas.schema(VERSION, f"{action}Request") is not None:
                raise OcppError("NotSupported", f"evgate does not take {action} (OCPP 2.0.1)")
            raise OcppError("NotImplemented", f"unknown action {action!r}")
        try:
            _check(action, payload)
        except OcppError:
            if not ctx.lenient:
                raise
            payload, fixes = schemas.repair(VERSION, f"{action}Request", payload)
            _check(action, payload)  # still wrong: the CallError stands
            log.warning(
                "lenient repair", extra={"charger": ctx.id, "action": action, "fixes": fixes}
            )
        return await handler(ctx, payload)

    # -- the hot path ---------------------------------------------------------------------
    def quick(
        self, ctx: ChargerContext, action: str, payload: dict[str, Any], answered: Answered
    ) -> bool:
        """A TransactionEvent Updated (or a MeterValues) of a booted charger that only adds
        samples to a transaction this connection knows, without a task; `answered` follows
        the commit. False, with nothing done, for anything needing handle()."""
        if not ctx.booted:
            return False
        if action == "TransactionEvent":
            return self._quick_updated(ctx, payload, answered)
        if action != "MeterValues":
            return False
        try:
            _check(action, payload)
            found = readings(payload["meterValue"])
        except OcppError:
            return False
        return self.service.append_meter_values(
            ctx, payload["evseId"], None, found, lambda error: answered({}, error)
        )

    def _quick_updated(
        self, ctx: ChargerContext, payload: dict[str, Any], answered: Answered
    ) -> bool:
        if payload.get("eventType") != "Updated" or "idToken" in payload:
            return False
        info = payload.get("transactionInfo")
        if type(info) is not dict:
            return False
        sid = ctx.refs.get(info.get("transactionId"))  # type: ignore[arg-type]
        state = ctx.tx.get(sid) if sid is not None else None
        if state is None or payload.get("seqNo") in state.seen:
            return False
        charging = info.get("chargingState")
        if charging is not None and charging != state.charging_state:
            return False  # a new state: its status row goes the ordinary way
        meter = payload.get("meterValue")
        if not meter:
            return False
        found = ocpp201_hot.updated_readings(payload)  # the periodic shape, in one pass
        if found is None:  # any other shape, or in doubt: the full schema check decides
            try:
                _check("TransactionEvent", payload)
                stamp = payload["timestamp"]
                found = readings(meter, stamp, _time(stamp, "timestamp"))
            except OcppError:
                return False
        seq = payload["seqNo"]

        def done(error: BaseException | None) -> None:
            if error is None:
                state.seen.add(seq)
            answered({}, error)

        return self.service.append_meter_values(ctx, state.connector_id, sid, found, done)

    # -- charger -> CSMS ------------------------------------------------------------------
    async def boot_notification(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        station = p["chargingStation"]
        info = {
            "vendor": station["vendorName"][:20],
            "model": station["model"],
            "serial": station.get("serialNumber"),
            "firmware": station.get("firmwareVersion"),
        }
        status = await self.service.boot(ctx, info)
        return {"status": status, "currentTime": iso_now(), "interval": self.heartbeat_interval}

    async def heartbeat(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"currentTime": iso_now()}

    async def status_notification(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        ts = _time(p["timestamp"], "timestamp")
        extra = {"info": f"connector {p['connectorId']}"}
        await self.service.status(ctx, p["evseId"], p["connectorStatus"], "NoError", ts, extra)
        return {}

    async def authorize(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        info = await self.service.authorize(ctx, p["idToken"]["idToken"])
        return {"idTokenInfo": id_token_info(info)}

    async def meter_values(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        await self.service.meter_values(ctx, p["evseId"], None, readings(p["meterValue"]))
        return {}

    async def transaction_event(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        """Started / Updated / Ended, each replayable: a (transactionId, seqNo) already taken
        changes nothing and gets the same answer."""
        info = p["transactionInfo"]
        ref: str = info["transactionId"]
        stamp = p["timestamp"]
        ts = _time(stamp, "timestamp")
        found = readings(p.get("meterValue") or [], stamp, ts)
        token = p.get("idToken")
        id_tag = token["idToken"] if token is not None else None
        kind = p["eventType"]
        seq = p["seqNo"]
        state = await self._state(ctx, ref)
        answer: dict[str, Any] = {}
        if state is not None and (seq in state.seen or self._stored_before(state, kind, found)):
            if id_tag is not None:
                answer["idTokenInfo"] = id_token_info(await self.service.authorize(ctx, id_tag))
            return answer
        evse = p.get("evse")
        if state is None or kind == "Started":
            connector = evse["id"] if evse is not None else 0
            state, status = await self._open(ctx, p, ref, connector, id_tag, ts, found)
            if status is not None:
                answer["idTokenInfo"] = status
            found = [f for f in found if f[0].context != BEGIN]  # the start register is kept
        if id_tag is not None and not state.identified:
            answer["idTokenInfo"] = id_token_info(
                await self.service.identify(ctx, state.session_id, id_tag)
            )
            state.identified = True
        charging = info.get("chargingState")
        if charging is not None and charging != state.charging_state:
            why = {"info": p["triggerReason"]}  # e.g. ChargingStateChanged, EVDetected
            await self.service.status(ctx, state.connector_id, charging, "NoError", ts, why)
            state.charging_state = charging
        if kind == "Ended":
            stop_status = await self.service.stop(
                ctx,
                state.session_id,
                register_wh(found, END),
                ts,
                info.get("stoppedReason", "Local"),
                id_tag,
                found,
            )
            if stop_status is not None and "idTokenInfo" not in answer:
                answer["idTokenInfo"] = {"status": stop_status}
        else:
            if found:
                await self.service.meter_values(ctx, state.connector_id, state.session_id, found)
            if id_tag is not None and "idTokenInfo" not in answer:
                answer["idTokenInfo"] = id_token_info(await self.service.authorize(ctx, id_tag))
        state.seen.add(seq)
        return answer

    async def _state(self, ctx: ChargerContext, ref: str) -> TxState | None:
        """The transaction's state on this connection; its first event here reads the store
        (which session, and the newest sample stored: what a replay after a reconnect is
        not newer than)."""
        sid = ctx.refs.get(ref)
        state: TxState | None = ctx.tx.get(sid) if sid is not None else None
        if state is not None:
            return state
        async with self.service.engine.connect() as conn:
            row = await transaction_refs.session_by_ref(conn, ctx.id, ref)
            if row is None:
                return None
            last = await transaction_refs.last_sample_at(conn, row["id"])
        state = TxState(
            row["id"], row["connector_id"], stored_until=last, identified=bool(row["id_tag"])
        )
        ctx.refs[ref] = row["id"]
        ctx.known_sessions.add(row["id"])
        ctx.tx[row["id"]] = state
        return state

    @staticmethod
    def _stored_before(state: TxState, kind: str, found: list[tuple[Reading, Any]]) -> bool:
        """An Updated whose samples are all stored already (sent again after a reconnect)."""
        until = state.stored_until
        return (
            kind == "Updated"
            and until is not None
            and bool(found)
            and all(r.ts <= until for r, _ in found)
        )

    async def _open(
        self,
        ctx: ChargerContext,
        p: dict[str, Any],
        ref: str,
        connector: int,
        id_tag: str | None,
        ts: datetime,
        found: list[tuple[Reading, Any]],
    ) -> tuple[TxState, dict[str, Any] | None]:
        """The session of a Started, or of the first event of a transaction whose Started was
        lost (flagged start_missing, opened at that event's register and time)."""
        flags = []
        if p.get("offline"):
            flags.append("offline")
        if p["eventType"] != "Started":
            flags.extend(("start_missing", "review"))
        meter_start = register_wh(found, BEGIN)
        if meter_start is None:
            flags.append("meter_start_missing")
            if "review" not in flags:
                flags.append("review")
        result = await self.service.start(
            ctx,
            connector,
            id_tag or "",
            meter_start if meter_start is not None else 0,
            ts,
            p.get("reservationId"),
            transaction_ref=ref,
            extra_flags=flags,
            remote_start_id=p["transactionInfo"].get("remoteStartId"),
        )
        state = ctx.tx.get(result.transaction_id)
        if state is None:
            state = ctx.tx[result.transaction_id] = TxState(result.transaction_id, connector)
        state.identified = bool(id_tag)
        status = None
        if id_tag is not None:
            info: dict[str, Any] = {"status": result.status}
            if result.expires_at is not None:
                info["cacheExpiryDateTime"] = result.expires_at.isoformat()
            status = info
        return state, status

    async def notify_event(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        await self._report(ctx, "NotifyEvent", p, None, p["seqNo"])
        return {}

    async def notify_report(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        """A GetBaseReport's answer (in parts by seqNo), kept under its requestId."""
        await self._report(ctx, "NotifyReport", p, p["requestId"], p["seqNo"])
        return {}

    async def security_event(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        await self._report(ctx, "SecurityEventNotification", p, None, None)
        return {}

    async def log_status(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        """A GetLog's progress: the diagnostics request's status, as 1.6's
        DiagnosticsStatusNotification gives it, and the notification as sent."""
        await self._report(ctx, "LogStatusNotification", p, p.get("requestId"), None)
        await self.service.firmware_status(ctx, "diagnostics", p["status"])
        return {}

    async def firmware_status(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        await self.service.firmware_status(ctx, "firmware", p["status"])
        return {}

    async def data_transfer(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        """Kept whatever the vendor (data of any JSON type, as JSON text when not a string)."""
        data = p.get("data")
        if data is not None and not isinstance(data, str):
            data = orjson.dumps(data).decode()
        await self.service.data_transfer(ctx, p["vendorId"], p.get("messageId"), data)
        return {"status": "Accepted" if p["vendorId"] in KNOWN_VENDORS else "UnknownVendorId"}

    async def sign_certificate(self, ctx: ChargerContext, p: dict[str, Any]) -> dict[str, Any]:
        """A charger renews its client certificate: the CSR is signed before the answer (a
        CSR evgate will not sign is Rejected, with the reason), the outcome is kept with the
        charger's reports, and the chain follows in a CertificateSigned once the Accepted
        is out. Only ChargingStationCertificate: evgate is no V2G (ISO 15118) CA."""
        kind = p.get("certificateType", "ChargingStationCertificate")
        outcome: dict[str, Any] = {"certificateType": kind}
        signed = None
        if self.signer is None:
            outcome["reason"] = "evgate has no CA key to sign with (--csms-ca-key)"
        elif kind != "ChargingStationCertificate":
            outcome["reason"] = f"evgate signs no {kind}"
        else:
            try:
                signed = await asyncio.to_thread(self.signer.sign, ctx.id, p["csr"])
            except CsrRejected as exc:
                outcome["reason"] = str(exc)
        if signed is None:
            log.warning("certificate not signed", extra={"charger": ctx.id, **outcome})
            await self._report(
                ctx, "SignCertificate", {**outcome, "status": "Rejected"}, None, None
            )
            reason = "NotEnabled" if self.signer is None else "InvalidCSR"
            return {
                "status": "Rejected",
                "statusInfo": {"reasonCode": reason, "additionalInfo": outcome["reason"][:512]},
            }
        outcome.update(serial=f"{signed.serial:x}", notAfter=signed.not_after.isoformat())
        await self._report(ctx, "SignCertificate", {**outcome, "status": "Accepted"}, None, None)
        log.info("certificate signed", extra={"charger": ctx.id, **outcome})
        ctx.after_reply.append(
            ("CertificateSigned", {"certificateChain": signed.chain, "certificateType": kind})
        )
        return {"status": "Accepted"}

    async def _report(
        self,
        ctx: ChargerContext,
        kind: str,
        p: dict[str, Any],
        request_id: int | None,
        seq_no: int | None,
    ) -> None:
        at = datetime.now(UTC)

        async def op(batch: Batch) -> None:
            transaction_refs.add_report(batch, ctx.id, kind, p, at, request_id, seq_no)

        await self.service.committer.run(op)


__all__ = ["SUBPROTOCOL", "VERSION", "Ocpp201Adapter"]
