"""One command name for chargers of either OCPP version: a 1.6 command's payload in 2.0.1's
terms and back, where the two versions have the same command (pure: dicts in, dicts out).

remote-start-transaction <-> request-start-transaction, remote-stop-transaction <->
request-stop-transaction, reset, unlock-connector, change-availability, trigger-message,
get-configuration <-> get-variables and change-configuration <-> set-variables (through
``KEYS``), get-diagnostics <-> get-log. A stop names the session: 1.6's transactionId is
evgate's session id, 2.0.1's is the charger's own string, so the caller passes the session's
``transaction_ref`` (or id) in; a 2.0.1 request that needs an id of its own (remoteStartId,
requestId) is given one by the caller too.

``ANSWER_TO_16`` reads a 2.0.1 charger's answer in 1.6's terms, so the 1.6 row's after-reply
hook (what an answer means, stored) runs on a translated command as on a 1.6 one; the caller
still gets the charger's own answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from store.errors import Invalid

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
    if "chargingProfile" in p:
        raise Invalid(
            "remote-start-transaction with a chargingProfile is not translated for an OCPP "
            "2.0.1 charger; send request-start-transaction with its chargingProfile"
        )
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


# -- configuration keys <-> device-model variables ------------------------------------------

# The standard 1.6 configuration keys evgate translates, and the 2.0.1 component/variable of
# each (OCPP 2.0.1 part 2, appendix 3, the device model's standard variables). A key not here
# is refused (Invalid) rather than guessed: get-variables and set-variables take any other.
KEYS: dict[str, tuple[str, str]] = {
    "HeartbeatInterval": ("OCPPCommCtrlr", "HeartbeatInterval"),
    "WebSocketPingInterval": ("OCPPCommCtrlr", "WebSocketPingInterval"),
    "ResetRetries": ("OCPPCommCtrlr", "ResetRetries"),
    "MeterValueSampleInterval": ("SampledDataCtrlr", "TxUpdatedInterval"),
    "MeterValuesSampledData": ("SampledDataCtrlr", "TxUpdatedMeasurands"),
    "StopTxnSampledData": ("SampledDataCtrlr", "TxEndedMeasurands"),
    "ClockAlignedDataInterval": ("AlignedDataCtrlr", "Interval"),
    "MeterValuesAlignedData": ("AlignedDataCtrlr", "Measurands"),
    "StopTxnAlignedData": ("AlignedDataCtrlr", "TxEndedMeasurands"),
    "ConnectionTimeOut": ("TxCtrlr", "EVConnectionTimeOut"),
    "StopTransactionOnEVSideDisconnect": ("TxCtrlr", "StopTxOnEVSideDisconnect"),
    "StopTransactionOnInvalidId": ("TxCtrlr", "StopTxOnInvalidId"),
    "AuthorizeRemoteTxRequests": ("AuthCtrlr", "AuthorizeRemoteStart"),
    "LocalAuthorizeOffline": ("AuthCtrlr", "LocalAuthorizeOffline"),
    "LocalPreAuthorize": ("AuthCtrlr", "LocalPreAuthorize"),
    "AllowOfflineTxForUnknownId": ("AuthCtrlr", "OfflineTxForUnknownIdEnabled"),
    "AuthorizationCacheEnabled": ("AuthCacheCtrlr", "Enabled"),
    "LocalAuthListEnabled": ("LocalAuthListCtrlr", "Enabled"),
    "SendLocalListMaxLength": ("LocalAuthListCtrlr", "ItemsPerMessage"),
}
_KEY_OF: dict[tuple[Any, Any], str] = {v: k for k, v in KEYS.items()}


def _variable(key: str) -> Payload:
    found = KEYS.get(key)
    if found is None:
        raise Invalid(
            f"configuration key {key!r} has no OCPP 2.0.1 variable evgate translates (known: "
            f"{', '.join(KEYS)}); send get-variables or set-variables with the component and "
            "variable instead"
        )
    return {"component": {"name": found[0]}, "variable": {"name": found[1]}}


def _key(item: Payload) -> str:
    """The 1.6 key of a getVariableData / setVariableData item (Invalid when there is none)."""
    component, variable = item.get("component") or {}, item.get("variable") or {}
    plain = set(component) <= {"name"} and set(variable) <= {"name"}
    key = _KEY_OF.get((component.get("name"), variable.get("name"))) if plain else None
    if key is None or item.get("attributeType", "Actual") != "Actual":
        raise Invalid(
            f"{component.get('name')}/{variable.get('name')} has no OCPP 1.6 configuration key "
            "evgate translates (an EVSE, instance or attribute type other than Actual has none)"
        )
    return key


def get_configuration_to_201(p: Payload) -> Payload:
    """No keys (1.6: every key) asks for every key of ``KEYS``."""
    return {"getVariableData": [_variable(k) for k in p.get("key") or list(KEYS)]}


def get_variables_to_16(p: Payload) -> Payload:
    return {"key": [_key(item) for item in p["getVariableData"]]}


def change_configuration_to_201(p: Payload) -> Payload:
    return {"setVariableData": [{"attributeValue": p["value"], **_variable(p["key"])}]}


def set_variables_to_16(p: Payload) -> Payload:
    items = p["setVariableData"]
    if len(items) != 1:
        raise Invalid(
            f"set-variables for a 1.6 charger sets one variable at a time (got {len(items)})"
        )
    return {"key": _key(items[0]), "value": items[0]["attributeValue"]}


def variables_answer_to_16(answer: Payload) -> Payload:
    """GetVariablesResponse as a GetConfiguration.conf: Accepted values are keys (readonly
    false: 2.0.1 does not say), anything else an unknown key."""
    known: list[Payload] = []
    unknown: list[str] = []
    for item in answer.get("getVariableResult") or []:
        component, variable = item.get("component") or {}, item.get("variable") or {}
        names = (component.get("name"), variable.get("name"))
        key = _KEY_OF.get(names, f"{names[0]}/{names[1]}")
        if item.get("attributeStatus") == "Accepted":
            entry: Payload = {"key": key, "readonly": False}
            if "attributeValue" in item:
                entry["value"] = item["attributeValue"]
            known.append(entry)
        else:
            unknown.append(key)
    return {"configurationKey": known, "unknownKey": unknown}


_SET_STATUS_16 = {s: s for s in ("Accepted", "RebootRequired", "Rejected")}


def set_answer_to_16(answer: Payload) -> Payload:
    """SetVariablesResponse as a ChangeConfiguration.conf (an unknown variable: NotSupported)."""
    results = answer.get("setVariableResult") or [{}]
    return {"status": _SET_STATUS_16.get(str(results[0].get("attributeStatus")), "NotSupported")}


# -- diagnostics <-> log ---------------------------------------------------------------------


def _retries(p: Payload) -> Payload:
    return {k: p[k] for k in ("retries", "retryInterval") if k in p}


def diagnostics_to_201(p: Payload, request_id: int) -> Payload:
    log: Payload = {"remoteLocation": p["location"]}
    if "startTime" in p:
        log["oldestTimestamp"] = p["startTime"]
    if "stopTime" in p:
        log["latestTimestamp"] = p["stopTime"]
    return {"logType": "DiagnosticsLog", "requestId": request_id, "log": log, **_retries(p)}


def log_to_16(p: Payload) -> Payload:
    if p["logType"] != "DiagnosticsLog":
        raise Invalid(f"get-log of a {p['logType']} has no OCPP 1.6 equivalent (GetDiagnostics)")
    log = p["log"]
    out: Payload = {"location": log["remoteLocation"], **_retries(p)}
    if "oldestTimestamp" in log:
        out["startTime"] = log["oldestTimestamp"]
    if "latestTimestamp" in log:
        out["stopTime"] = log["latestTimestamp"]
    return out


def log_answer_to_16(answer: Payload) -> Payload:
    """GetLogResponse as a GetDiagnostics.conf: the file name, when it gives one."""
    return {"fileName": answer["filename"]} if "filename" in answer else {}


# the translations that need nothing but the payload (start and stop need more: see above)
TO_201: dict[str, Callable[[Payload], Payload]] = {
    "Reset": reset_to_201,
    "UnlockConnector": unlock_to_201,
    "ChangeAvailability": availability_to_201,
    "TriggerMessage": trigger_to_201,
    "GetConfiguration": get_configuration_to_201,
    "ChangeConfiguration": change_configuration_to_201,
}
# the 2.0.1 requests that carry an id of their own, which the caller picks
TO_201_WITH_ID: dict[str, Callable[[Payload, int], Payload]] = {
    "RemoteStartTransaction": start_to_201,
    "GetDiagnostics": diagnostics_to_201,
}
TO_16: dict[str, Callable[[Payload], Payload]] = {
    "Reset": reset_to_16,
    "UnlockConnector": unlock_to_16,
    "ChangeAvailability": availability_to_16,
    "TriggerMessage": trigger_to_16,
    "RequestStartTransaction": start_to_16,
    "GetVariables": get_variables_to_16,
    "SetVariables": set_variables_to_16,
    "GetLog": log_to_16,
}
# 1.6 action -> the 2.0.1 answer read as the 1.6 answer (where the two differ)
ANSWER_TO_16: dict[str, Callable[[Payload], Payload]] = {
    "GetConfiguration": variables_answer_to_16,
    "ChangeConfiguration": set_answer_to_16,
    "GetDiagnostics": log_answer_to_16,
}
