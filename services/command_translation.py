"""One command name for chargers of either OCPP version: a 1.6 command's payload in 2.0.1's
terms and back, where the two versions have the same command (pure: dicts in, dicts out).

remote-start-transaction <-> request-start-transaction, remote-stop-transaction <->
request-stop-transaction, reset, unlock-connector, change-availability, trigger-message.
A stop names the session: 1.6's transactionId is evgate's session id, 2.0.1's is the
charger's own string, so the caller passes the session's ``transaction_ref`` (or id) in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]

# 1.6 action -> its 2.0.1 equivalent (and back)
EQUIVALENT_201 = {
    "RemoteStartTransaction": "RequestStartTransaction",
    "RemoteStopTransaction": "RequestStopTransaction",
    "GetConfiguration": "GetVariables",
    "ChangeConfiguration": "SetVariables",
    "GetDiagnostics": "GetLog",
    "Reset": "Reset",
    "UnlockConnector": "UnlockConnector",
    "ChangeAvailability": "ChangeAvailability",
    "TriggerMessage": "TriggerMessage",
}
EQUIVALENT_16 = {v: k for k, v in EQUIVALENT_201.items()}

_RESET_201 = {"Hard": "Immediate", "Soft": "OnIdle"}
_RESET_16 = {v: k for k, v in _RESET_201.items()}
_TRIGGER_201 = {"DiagnosticsStatusNotification": "LogStatusNotification"}
_TRIGGER_16 = {v: k for k, v in _TRIGGER_201.items()}


def _evse(connector: Any) -> dict[str, Any]:
    return {"evse": {"id": connector}} if connector else {}


def start_to_201(p: Payload, remote_start_id: int) -> Payload:
    out: Payload = {
        "idToken": {"idToken": p["idTag"], "type": "Central"},
        "remoteStartId": remote_start_id,
    }
    if p.get("connectorId"):
        out["evseId"] = p["connectorId"]
    return out


def start_to_16(p: Payload) -> Payload:
    out: Payload = {"idTag": p["idToken"]["idToken"]}
    if p.get("evseId"):
        out["connectorId"] = p["evseId"]
    return out


def stop_to_201(transaction_ref: str) -> Payload:
    return {"transactionId": transaction_ref}


def stop_to_16(session_id: int) -> Payload:
    return {"transactionId": session_id}


def reset_to_201(p: Payload) -> Payload:
    return {"type": _RESET_201.get(p["type"], p["type"])}


def reset_to_16(p: Payload) -> Payload:
    return {"type": _RESET_16.get(p["type"], p["type"])}


def unlock_to_201(p: Payload) -> Payload:
    return {"evseId": p["connectorId"], "connectorId": 1}


def unlock_to_16(p: Payload) -> Payload:
    return {"connectorId": p["evseId"]}


def availability_to_201(p: Payload) -> Payload:
    return {"operationalStatus": p["type"], **_evse(p.get("connectorId"))}


def availability_to_16(p: Payload) -> Payload:
    evse = p.get("evse") or {}
    return {"connectorId": evse.get("id", 0), "type": p["operationalStatus"]}


def trigger_to_201(p: Payload) -> Payload:
    wanted = p["requestedMessage"]
    return {"requestedMessage": _TRIGGER_201.get(wanted, wanted), **_evse(p.get("connectorId"))}


def trigger_to_16(p: Payload) -> Payload:
    wanted = p["requestedMessage"]
    out: Payload = {"requestedMessage": _TRIGGER_16.get(wanted, wanted)}
    evse = p.get("evse") or {}
    if evse.get("id"):
        out["connectorId"] = evse["id"]
    return out


# the translations that need nothing but the payload (start and stop need more: see above)
TO_201: dict[str, Callable[[Payload], Payload]] = {
    "Reset": reset_to_201,
    "UnlockConnector": unlock_to_201,
    "ChangeAvailability": availability_to_201,
    "TriggerMessage": trigger_to_201,
}
TO_16: dict[str, Callable[[Payload], Payload]] = {
    "Reset": reset_to_16,
    "UnlockConnector": unlock_to_16,
    "ChangeAvailability": availability_to_16,
    "TriggerMessage": trigger_to_16,
    "RequestStartTransaction": start_to_16,
}
