"""SimCharger201: the same Wallbox-style charger speaking OCPP 2.0.1 (subprotocol ocpp2.0.1).

Sessions, physics, the virtual clock, the offline queue and the quirks are SimCharger's; what
changes is what goes on the wire: TransactionEvent Started/Updated/Ended with the charger's own
transactionId and an increasing seqNo instead of Start/StopTransaction and MeterValues,
StatusNotification per EVSE and connector with 2.0.1 connector states, an idToken in
Authorize, and the 2.0.1 commands (RequestStart/StopTransaction, Reset, UnlockConnector,
ChangeAvailability, TriggerMessage, Get/SetVariables, GetBaseReport), and the 1.6 profiles'
logic behind their 2.0.1 calls (simulators/profiles201.py translates): ReserveNow and
CancelReservation, SendLocalList and GetLocalListVersion, Set/ClearChargingProfile and
GetCompositeSchedule, UpdateFirmware and GetLog, and certificate renewal (SignCertificate,
CertificateSigned) with the new certificate used at the next TLS connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulators import payloads201 as p201
from simulators import profiles201
from simulators.charger import ActiveTx, Connector, SimCharger
from simulators.firmware201 import Firmware201
from simulators.framing import CallErrorReply
from simulators.rpc import AfterReply, ConnectionLost, Link, TlsFiles
from simulators.session import SessionRecord
from simulators.variables201 import REPORT_PAGE, DeviceModel

if TYPE_CHECKING:  # `cryptography` is loaded only by a charger that renews its certificate
    from simulators import certificates201

OCPP_VERSIONS = ("1.6", "2.0.1")

# the CSMS's calls this charger answers; any other gets a NotImplemented CallError
ACTIONS = frozenset(
    {
        "RequestStartTransaction",
        "RequestStopTransaction",
        "Reset",
        "UnlockConnector",
        "ChangeAvailability",
        "TriggerMessage",
        "GetVariables",
        "SetVariables",
        "GetBaseReport",
        "ClearCache",
        "DataTransfer",
        "ReserveNow",
        "CancelReservation",
        "SendLocalList",
        "GetLocalListVersion",
        "SetChargingProfile",
        "ClearChargingProfile",
        "GetCompositeSchedule",
        "UpdateFirmware",
        "GetLog",
        "CertificateSigned",
    }
)
CSMS_CERTIFICATE = "ChargingStationCertificate"
# the reasons SimCharger closes with -> 2.0.1 stoppedReason
STOPPED_REASON = {
    "HardReset": "ImmediateReset",
    "SoftReset": "ImmediateReset",
    "UnlockCommand": "Other",
}
# stoppedReason -> the triggerReason of the Ended event
STOP_TRIGGER = {
    "Local": "StopAuthorized",
    "EVDisconnected": "EVDeparted",
    "Remote": "RemoteStop",
    "ImmediateReset": "ResetCommand",
    "DeAuthorized": "Deauthorized",
}


def charger_class(ocpp: str) -> type[SimCharger]:
    """SimCharger for "1.6", SimCharger201 for "2.0.1"."""
    if ocpp not in OCPP_VERSIONS:
        raise ValueError(f"unknown OCPP version {ocpp!r} (known: {', '.join(OCPP_VERSIONS)})")
    return SimCharger201 if ocpp == "2.0.1" else SimCharger


class SimCharger201(SimCharger):
    """A simulated OCPP 2.0.1 charging station: one connector per EVSE, EVSE n = connector n."""

    SUBPROTOCOL = "ocpp2.0.1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._boot_reason = "PowerUp"
        self._booted_link: Link | None = None
        self._sent_status: dict[int, str] = {}  # evse -> connector status last queued
        self._seq: dict[int, int] = {}  # tx_ref -> next seqNo
        self._state: dict[int, str] = {}  # tx_ref -> chargingState last sent
        self._remote_ids: dict[str, int] = {}  # idToken -> remoteStartId of a pending start
        self.firmware201 = Firmware201(self, self.firmware.switches)
        self.firmware = self.firmware201
        self.cert_dir: Path | None = None  # where renewed certificates go (None: a temp dir)
        self._renewal: certificates201.Request | None = None  # the CSR awaiting its chain
        self.certificate_answers: list[str] = []  # SignCertificate answers, in order
        profile = "3" if self.tls and self.tls.cert else "2" if self.url.startswith("wss") else "1"
        self.device = DeviceModel(
            self.config,
            {
                "Identity": self.id,
                "SecurityProfile": profile,
                "SupplyPhases": str(self.spec.phases),
            },
        )

    # ---------------------------------------------------------------- what it sends

    def _boot_payload(self) -> dict[str, Any]:
        return p201.boot(self.spec, self.id, self._boot_reason)

    def _booted(self, link: Link) -> None:
        self._booted_link = link
        self._boot_reason = "Unknown"  # a later connect is no reboot, unless one says so
        self.firmware201.booted()

    def _offline(self) -> bool:
        return not (self.connected and self._ready.is_set())

    async def _authorize(self, id_tag: str) -> dict[str, Any] | None:
        answer = await self._call_now("Authorize", {"idToken": p201.id_token(id_tag)})
        if answer is None:
            return None
        info = answer.get("idTokenInfo") or {}
        group = info.get("groupIdToken") or {}
        return {"status": info.get("status"), "parentIdTag": group.get("idToken")}

    def _send_status(self, conn: Connector, state: str, ms: int, record: bool = True) -> None:
        """A connector status change (StatusNotification only when the 2.0.1 status moves)
        and, inside a transaction, a chargingState change (TransactionEvent Updated)."""
        ms = ms // 1000 * 1000
        conn.status = state
        if record and conn.tx is not None:
            conn.tx.record.timeline.append((ms, state))
        connector_status = p201.CONNECTOR_STATUS.get(state, "Occupied")
        if not record or self._sent_status.get(conn.id) != connector_status:
            self._sent_status[conn.id] = connector_status
            self._enqueue(
                "StatusNotification",
                p201.status(conn.id, connector_status, self.stamp(ms)),
                tx=False,
            )
        tx = conn.tx
        charging = p201.CHARGING_STATE.get(state)
        if record and tx is not None and charging and self._state.get(tx.tx_ref) != charging:
            self._event(conn, tx, "Updated", "ChargingStateChanged", ms, charging)
        conn.bump()

    def _event(
        self,
        conn: Connector,
        tx: ActiveTx,
        event_type: str,
        trigger: str,
        ms: int,
        charging_state: str | None = None,
        meter_values: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        """Queue one TransactionEvent of the transaction, with the next seqNo."""
        seq = self._seq.get(tx.tx_ref, 0)
        self._seq[tx.tx_ref] = seq + 1
        if charging_state is not None:
            self._state[tx.tx_ref] = charging_state
        assert isinstance(tx.record.transaction_id, str)
        payload = p201.transaction_event(
            event_type,
            self.stamp(ms),
            trigger,
            seq,
            tx.record.transaction_id,
            conn.id,
            charging_state,
            meter_values,
            offline=self._offline(),
            **extra,
        )
        self._enqueue("TransactionEvent", payload, tx.tx_ref)

    def _enqueue_start(
        self, conn: Connector, tx: ActiveTx, now: int, reservation_id: int | None, state: str
    ) -> None:
        tx.record.transaction_id = str(uuid.uuid4())
        begin = p201.register_sample(
            tx.flow.register_mj, "Transaction.Begin", self.quirks.kwh_units
        )
        ev_phases = tx.flow.ev.phases
        self._event(
            conn,
            tx,
            "Started",
            "RemoteStart" if tx.remote else "Authorized",
            now,
            state,
            [p201.meter_value(self.stamp(now), [begin])],
            idToken=p201.id_token(tx.record.id_tag),
            numberOfPhasesUsed=min(self.spec.phases, ev_phases),
            reservationId=reservation_id,
            remoteStartId=self._remote_ids.pop(tx.record.id_tag, None) if tx.remote else None,
        )

    def _sample_values(
        self, conn: Connector, ms: int, context: str, register_mj: int | None = None
    ) -> list[dict[str, Any]]:
        flow = conn.tx.flow if conn.tx is not None else None
        reg = (
            register_mj
            if register_mj is not None
            else (flow.register_mj if flow else conn.register_mj)
        )
        measurands = {m.strip() for m in self.config.text("MeterValuesSampledData").split(",")}
        return p201.sampled_values(
            self.spec,
            reg,
            flow,
            self._offered_a(conn, ms),
            context,
            measurands,
            kwh=self.quirks.kwh_units,
            zero_power=self.quirks.zero_power,
        )

    def _enqueue_sample(self, conn: Connector, tx: ActiveTx, ms: int) -> None:
        values = self._sample_values(conn, ms, "Sample.Periodic")
        meter = [p201.meter_value(self.stamp(ms), values)]
        self._event(conn, tx, "Updated", "MeterValuePeriodic", ms, meter_values=meter)

    def _close(self, conn: Connector, reason: str, by: str) -> SessionRecord:
        return super()._close(conn, STOPPED_REASON.get(reason, reason), by)

    def _enqueue_stop(
        self, conn: Connector, tx: ActiveTx, meter_stop: int, now: int, reason: str
    ) -> None:
        meter = None
        if not self.quirks.empty_transaction_data:  # the 2.0.1 face of transactionData: []
            end = p201.register_sample(
                tx.flow.register_mj, "Transaction.End", self.quirks.kwh_units
            )
            meter = [p201.meter_value(self.stamp(now), [end])]
        trigger = STOP_TRIGGER.get(reason, "AbnormalCondition")
        self._event(
            conn,
            tx,
            "Ended",
            trigger,
            now,
            "Idle" if reason == "EVDisconnected" else "EVConnected",
            meter,
            stoppedReason=reason,
            idToken=p201.id_token(tx.record.id_tag) if trigger == "StopAuthorized" else None,
        )
        self._seq.pop(tx.tx_ref, None)
        self._state.pop(tx.tx_ref, None)

    def _enqueue_after_stop(self, conn: Connector, ms: int) -> None:
        values = self._sample_values(conn, ms, "Sample.Periodic", conn.register_mj)
        payload = {"evseId": conn.id, "meterValue": [p201.meter_value(self.stamp(ms), values)]}
        self._enqueue("MeterValues", payload, tx=False)

    def _answered(self, action: str, tx_ref: int | None, result: dict[str, Any]) -> None:
        """The Started event's idTokenInfo: a refused token ends the transaction."""
        if action != "TransactionEvent" or tx_ref is None:
            return
        status = (result.get("idTokenInfo") or {}).get("status")
        for conn in self.connectors.values():
            if (
                conn.tx is not None
                and conn.tx.tx_ref == tx_ref
                and status not in (None, "Accepted", "ConcurrentTx")
                and self.config.flag("StopTransactionOnInvalidId")
            ):
                self._spawn(self.end(conn.id, reason="DeAuthorized"))

    async def unplug(self, connector: int = 1) -> SessionRecord | None:
        """Cable out while charging ends the transaction as EVDisconnected (EVDeparted)."""
        conn = self.connectors[connector]
        record = self._close(conn, "EVDisconnected", by="driver") if conn.tx is not None else None
        return await super().unplug(connector) or record

    async def reboot(self, hard: bool = False) -> None:
        if self._boot_reason not in ("RemoteReset", "FirmwareUpdate"):
            self._boot_reason = "LocalReset"
        await super().reboot(hard)

    # ---------------------------------------------------------------- the CSMS's calls

    async def _on_call(self, call: Any) -> tuple[dict[str, Any], AfterReply]:
        if call.action not in ACTIONS:
            self.received.append((call.action, call.payload))
            raise CallErrorReply("NotImplemented", f"{call.action} is not supported")
        return await super()._on_call(call)

    async def _cs_RequestStartTransaction(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        token = (p.get("idToken") or {}).get("idToken")
        if not isinstance(token, str) or not isinstance(p.get("remoteStartId"), int):
            raise CallErrorReply("FormationViolation", "idToken and remoteStartId are required")
        request: dict[str, Any] = {"idTag": token}
        if p.get("chargingProfile") is not None:  # a TxProfile for the transaction it starts
            profile = profiles201.charging_profile(p["chargingProfile"])
            if profile is None or profile.get("transactionId") is not None:
                return {"status": "Rejected"}, None
            request["chargingProfile"] = profile
        self._remote_ids[token] = p["remoteStartId"]
        if p.get("evseId") is not None:
            request["connectorId"] = p["evseId"]
        return await self._cs_RemoteStartTransaction(request)

    async def _cs_RequestStopTransaction(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        return await self._cs_RemoteStopTransaction({"transactionId": p.get("transactionId")})

    async def _cs_Reset(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        kind = p.get("type")
        if kind not in ("Immediate", "OnIdle"):
            raise CallErrorReply("PropertyConstraintViolation", "type must be Immediate or OnIdle")
        if p.get("evseId") is not None:
            return {"status": "Rejected"}, None  # an EVSE alone cannot be reset
        busy = any(c.tx is not None for c in self.connectors.values())

        async def reset() -> None:
            while kind == "OnIdle" and any(c.tx is not None for c in self.connectors.values()):
                await asyncio.sleep(0.05)
            self._boot_reason = "RemoteReset"
            await self.reboot(hard=False)

        return {"status": "Scheduled" if busy and kind == "OnIdle" else "Accepted"}, reset

    async def _cs_UnlockConnector(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        conn = self.connectors.get(p.get("evseId", -1))
        if conn is None or p.get("connectorId") != 1:
            return {"status": "UnknownConnector"}, None
        if conn.tx is not None:
            return {"status": "OngoingAuthorizedTransaction"}, None
        return {"status": "Unlocked"}, None

    async def _cs_ChangeAvailability(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        evse = p.get("evse")
        if evse is not None and evse.get("connectorId", 1) != 1:
            return {"status": "Rejected"}, None
        cid = 0 if evse is None else evse.get("id")
        return await super()._cs_ChangeAvailability(
            {"connectorId": cid, "type": p.get("operationalStatus")}
        )

    async def _cs_TriggerMessage(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        what = p.get("requestedMessage")
        evse = (p.get("evse") or {}).get("id")
        if evse is not None and evse not in self.connectors:
            return {"status": "Rejected"}, None
        targets = self._targets(evse)
        if what == "BootNotification":
            if self._booted_link is not None and self._booted_link is self._link:
                return {"status": "Rejected"}, None  # already registered on this connection

            async def boot() -> None:
                link = self._link
                if link is not None:
                    self._boot_reason = "Triggered"
                    with contextlib.suppress(ConnectionLost, TimeoutError, CallErrorReply):
                        await self._boot(link)

            return {"status": "Accepted"}, boot
        if what == "Heartbeat":

            async def heartbeat() -> None:
                await self._call_now("Heartbeat", {})

            return {"status": "Accepted"}, heartbeat
        if what == "StatusNotification":

            async def statuses() -> None:
                for conn in targets:
                    self._send_status(conn, conn.status, self.clock.now_ms(), record=False)

            return {"status": "Accepted"}, statuses
        if what == "FirmwareStatusNotification":
            fw = self.firmware201
            body: dict[str, Any] = {"status": fw.firmware_status}
            if fw.firmware_status != "Idle" and fw.firmware_request is not None:
                body["requestId"] = fw.firmware_request

            async def firmware() -> None:
                await self._call_now("FirmwareStatusNotification", body)

            return {"status": "Accepted"}, firmware
        if what == "LogStatusNotification":
            fw = self.firmware201
            body = {"status": fw.log_status}
            if fw.log_status != "Idle" and fw.log_request is not None:
                body["requestId"] = fw.log_request

            async def log_status() -> None:
                await self._call_now("LogStatusNotification", body)

            return {"status": "Accepted"}, log_status
        if what == "SignChargingStationCertificate":

            async def renew() -> None:
                await self.renew_certificate()

            return {"status": "Accepted"}, renew
        if what == "MeterValues":

            async def meter() -> None:
                for conn in targets:
                    now = self.clock.now_ms() // 1000 * 1000
                    self._advance(conn, now)
                    values = self._sample_values(conn, now, "Trigger")
                    body = {
                        "evseId": conn.id,
                        "meterValue": [p201.meter_value(self.stamp(now), values)],
                    }
                    await self._call_now("MeterValues", body)

            return {"status": "Accepted"}, meter
        if what == "TransactionEvent":
            running = [c for c in targets if c.tx is not None]
            if not running:
                return {"status": "Rejected"}, None

            async def events() -> None:
                for conn in running:
                    if conn.tx is None:
                        continue
                    now = self.clock.now_ms() // 1000 * 1000
                    self._advance(conn, now)
                    values = self._sample_values(conn, now, "Trigger")
                    meter = [p201.meter_value(self.stamp(now), values)]
                    state = self._state.get(conn.tx.tx_ref)
                    self._event(conn, conn.tx, "Updated", "Trigger", now, state, meter)

            return {"status": "Accepted"}, events
        return {"status": "NotImplemented"}, None

    async def _cs_GetVariables(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        items = p.get("getVariableData") or []
        return {"getVariableResult": [self.device.get(item) for item in items]}, None

    async def _cs_SetVariables(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        items = p.get("setVariableData") or []
        return {"setVariableResult": [self.device.set(item) for item in items]}, None

    async def _cs_GetBaseReport(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        request_id = p.get("requestId")
        report = self.device.report(str(p.get("reportBase")))
        if report is None:
            return {"status": "NotSupported"}, None
        if not report:
            return {"status": "EmptyResultSet"}, None

        async def notify() -> None:
            pages = [report[i : i + REPORT_PAGE] for i in range(0, len(report), REPORT_PAGE)]
            for seq, page in enumerate(pages):
                body = {
                    "requestId": request_id,
                    "generatedAt": self.stamp(self.clock.now_ms()),
                    "seqNo": seq,
                    "tbc": seq < len(pages) - 1,
                    "reportData": page,
                }
                await self._call_now("NotifyReport", body)

        return {"status": "Accepted"}, notify

    # ---------------------------------------------------------------- reservations

    async def _cs_ReserveNow(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.reservations.reserve(profiles201.reserve_now(p)), None

    async def _cs_CancelReservation(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.reservations.cancel({"reservationId": p.get("reservationId")}), None

    def _reservation_ended(self, reservation_id: int, why: str) -> None:
        """Expired (or Removed at the charger): the CSMS hears of it, in order with the
        connector's Available."""
        body = {"reservationId": reservation_id, "reservationUpdateStatus": why}
        self._enqueue("ReservationStatusUpdate", body, tx=False)

    # ---------------------------------------------------------------- local list

    async def _cs_SendLocalList(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        if not self.local_list.supported:
            raise CallErrorReply("NotSupported", "no local authorization list")
        answer = self.local_list.send(profiles201.send_local_list(p), self.config)
        status = answer["status"]  # a disabled list cannot take it: Failed
        return {"status": "Failed" if status == "NotSupported" else status}, None

    async def _cs_GetLocalListVersion(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        version = self.local_list.get_version(self.config)["listVersion"]
        return {"versionNumber": max(version, 0)}, None  # none, empty or disabled: 0

    # ---------------------------------------------------------------- smart charging

    async def _cs_SetChargingProfile(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        evse = p.get("evseId")
        if not isinstance(evse, int):
            raise CallErrorReply("FormationViolation", "evseId must be an integer")
        profile = profiles201.charging_profile(p.get("chargingProfile"))
        if profile is None:
            return {"status": "Rejected"}, None
        if profile["chargingProfilePurpose"] == "TxProfile":
            conn = self.connectors.get(evse)
            running = conn.tx.record.transaction_id if conn and conn.tx else None
            if running is None or profile.get("transactionId") != running:
                return {"status": "Rejected"}, None  # a TxProfile names its transaction
        return await super()._cs_SetChargingProfile(
            {"connectorId": evse, "csChargingProfiles": profile}
        )

    async def _cs_ClearChargingProfile(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        return await super()._cs_ClearChargingProfile(profiles201.clear_charging_profile(p))

    async def _cs_GetCompositeSchedule(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        evse = p.get("evseId")
        if not isinstance(evse, int) or not isinstance(p.get("duration"), int):
            raise CallErrorReply("FormationViolation", "duration and evseId are required")
        request = {"connectorId": evse, "duration": p["duration"]}
        if p.get("chargingRateUnit") is not None:
            request["chargingRateUnit"] = p["chargingRateUnit"]
        answer, _ = await super()._cs_GetCompositeSchedule(request)
        return profiles201.composite_schedule(answer, evse), None

    # ---------------------------------------------------------------- firmware and logs

    async def _cs_UpdateFirmware(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.firmware201.update_firmware_201(p)

    async def _cs_GetLog(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.firmware201.get_log(p)

    # ---------------------------------------------------------------- certificates

    async def renew_certificate(self) -> str | None:
        """A02: a new key and a CSR (CN = the charger id) in SignCertificate; the CSMS's
        CertificateSigned brings the chain. The answer's status (None: offline)."""
        from simulators import certificates201

        self._renewal = certificates201.new_request(self.id)
        body = {"csr": self._renewal.csr_pem, "certificateType": CSMS_CERTIFICATE}
        answer = await self._call_now("SignCertificate", body)
        status = None if answer is None else str(answer.get("status"))
        self.certificate_answers.append(str(status))
        return status

    async def _cs_CertificateSigned(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        from simulators import certificates201

        chain = p.get("certificateChain")
        if not isinstance(chain, str):
            raise CallErrorReply("FormationViolation", "certificateChain is required")
        renewal = self._renewal
        if p.get("certificateType", CSMS_CERTIFICATE) != CSMS_CERTIFICATE or renewal is None:
            return {"status": "Rejected"}, None  # no V2G certificates; no CSR outstanding
        problem = certificates201.chain_problem(chain, renewal.key_pem, self.clock.now())
        if problem is not None:
            return {
                "status": "Rejected",
                "statusInfo": {"reasonCode": "InvalidCertificate", "additionalInfo": problem},
            }, None
        self._renewal = None
        self._install_certificate(chain, renewal.key_pem)
        return {"status": "Accepted"}, None

    def _install_certificate(self, chain: str, key_pem: bytes) -> None:
        """Keep the chain and its key as files: the next TLS connect presents them."""
        if self.cert_dir is None:
            self.cert_dir = Path(tempfile.mkdtemp(prefix=f"sim201-{self.id}-"))
        cert, key = self.cert_dir / "charger.pem", self.cert_dir / "charger.key"
        cert.write_text(chain)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem)
        base = self.tls or TlsFiles()
        self.tls = dataclasses.replace(base, cert=str(cert), key=str(key))
        if self.url.startswith("wss"):
            self.device.fixed["SecurityProfile"] = "3"


__all__ = ["OCPP_VERSIONS", "SimCharger201", "charger_class"]
