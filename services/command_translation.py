"""One command name for chargers of either OCPP version: a 1.6 command's payload in 2.0.1's
terms and back, where the two versions have the same command (pure: dicts in, dicts out).

remote-start-transaction <-> request-start-transaction, remote-stop-transaction <->
request-stop-transaction, reset, unlock-connector, change-availability, trigger-message,
get-configuration <-> get-variables and change-configuration <-> set-variables (through
``KEYS``), get-diagnostics <-> get-log, reserve-now, cancel-reservation, update-firmware,
send-local-list, get-local-list-version, clear-cache, set-charging-profile,
clear-charging-profile, get-composite-schedule (csChargingProfiles <-> chargingProfile, its
one chargingSchedule a list of one in 2.0.1 with the profile's id, ChargePointMaxProfile <->
ChargingStationMaxProfile, connectorId <-> evseId).

What one version can say and the other cannot (a reservation by connector type, signed
firmware, a token's EVSE restriction, several schedules) is refused (Invalid), not dropped.
A transaction is named by evgate's session id in 1.6 and by the charger's own string in
2.0.1, so the caller passes the session's ``transaction_ref`` in (a stop, a TxProfile); a
2.0.1 request that carries an id of its own (remoteStartId, requestId) gets one from the
caller too.

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
    "ReserveNow": "ReserveNow",
    "CancelReservation": "CancelReservation",
    "UpdateFirmware": "UpdateFirmware",
    "SendLocalList": "SendLocalList",
    "GetLocalListVersion": "GetLocalListVersion",
    "ClearCache": "ClearCache",
    "SetChargingProfile": "SetChargingProfile",
    "ClearChargingProfile": "ClearChargingProfile",
    "GetCompositeSchedule": "GetCompositeSchedule",
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
    if "chargingProfile" in p:  # a TxProfile without a transaction yet
        out["chargingProfile"] = profile_to_201(p["chargingProfile"], None)
    return out


def start_to_16(p: Payload) -> Payload:
    _only("request-start-transaction", p, {"idToken", "remoteStartId", "evseId", "chargingProfile"})
    out: Payload = {"idTag": _tag(p["idToken"], "request-start-transaction idToken")}
    if p.get("evseId"):
        out["connectorId"] = p["evseId"]
    if "chargingProfile" in p:
        out["chargingProfile"] = profile_to_16(p["chargingProfile"])
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


# -- reservations, firmware, the local list ---------------------------------------------------

# The type a 1.6 idTag gets in 2.0.1 where a driver presents it (a reservation, the local
# list): evgate's tokens are the RFID cards drivers hold. A parent (group) tag is never
# presented, so it is the CSMS's own (Central), as a remote start's token is.
TAG_TYPE = "ISO14443"
GROUP_TYPE = "Central"


def _only(where: str, obj: Payload, allowed: set[str]) -> None:
    extra = sorted(set(obj) - allowed - {"customData"})
    if extra:
        raise Invalid(f"{where}: {', '.join(extra)} has no OCPP 1.6 equivalent evgate translates")


def _token(tag: str, kind: str = TAG_TYPE) -> Payload:
    return {"idToken": tag, "type": kind}


def _tag(token: Payload, where: str) -> str:
    _only(where, token, {"idToken", "type"})
    return str(token["idToken"])


def reserve_to_201(p: Payload) -> Payload:
    out: Payload = {
        "id": p["reservationId"],
        "expiryDateTime": p["expiryDate"],
        "idToken": _token(p["idTag"]),
    }
    if p.get("connectorId"):  # 0: any EVSE, which 2.0.1 says by leaving evseId out
        out["evseId"] = p["connectorId"]
    if "parentIdTag" in p:
        out["groupIdToken"] = _token(p["parentIdTag"], GROUP_TYPE)
    return out


def reserve_to_16(p: Payload) -> Payload:
    _only("reserve-now", p, {"id", "expiryDateTime", "idToken", "evseId", "groupIdToken"})
    out: Payload = {
        "connectorId": p.get("evseId", 0),
        "expiryDate": p["expiryDateTime"],
        "idTag": _tag(p["idToken"], "reserve-now idToken"),
        "reservationId": p["id"],
    }
    if "groupIdToken" in p:
        out["parentIdTag"] = _tag(p["groupIdToken"], "reserve-now groupIdToken")
    return out


def cancel_reservation(p: Payload) -> Payload:
    """The same payload in both versions."""
    return {"reservationId": p["reservationId"]}


def nothing(p: Payload) -> Payload:
    """ClearCache and GetLocalListVersion carry nothing in either version."""
    return {}


def firmware_to_201(p: Payload, request_id: int) -> Payload:
    firmware = {"location": p["location"], "retrieveDateTime": p["retrieveDate"]}
    return {"requestId": request_id, "firmware": firmware, **_retries(p)}


def firmware_to_16(p: Payload) -> Payload:
    _only("update-firmware", p, {"requestId", "firmware", "retries", "retryInterval"})
    firmware = p["firmware"]
    _only("update-firmware firmware", firmware, {"location", "retrieveDateTime"})
    return {"location": firmware["location"], "retrieveDate": firmware["retrieveDateTime"]} | (
        _retries(p)
    )


_STATUS_16 = {"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"}


def _entry_to_201(entry: Payload) -> Payload:
    out: Payload = {"idToken": _token(entry["idTag"])}
    info = entry.get("idTagInfo")
    if info is not None:  # none: a differential update removes the tag
        token_info: Payload = {"status": info["status"]}
        if "expiryDate" in info:
            token_info["cacheExpiryDateTime"] = info["expiryDate"]
        if "parentIdTag" in info:
            token_info["groupIdToken"] = _token(info["parentIdTag"], GROUP_TYPE)
        out["idTokenInfo"] = token_info
    return out


def _entry_to_16(entry: Payload) -> Payload:
    _only("send-local-list entry", entry, {"idToken", "idTokenInfo"})
    out: Payload = {"idTag": _tag(entry["idToken"], "send-local-list idToken")}
    info = entry.get("idTokenInfo")
    if info is not None:
        _only(
            "send-local-list idTokenInfo", info, {"status", "cacheExpiryDateTime", "groupIdToken"}
        )
        if info["status"] not in _STATUS_16:
            raise Invalid(f"send-local-list: status {info['status']} has no OCPP 1.6 equivalent")
        tag_info: Payload = {"status": info["status"]}
        if "cacheExpiryDateTime" in info:
            tag_info["expiryDate"] = info["cacheExpiryDateTime"]
        if "groupIdToken" in info:
            tag_info["parentIdTag"] = _tag(info["groupIdToken"], "send-local-list groupIdToken")
        out["idTagInfo"] = tag_info
    return out


def local_list_to_201(p: Payload) -> Payload:
    """An empty list is left out (2.0.1 wants at least one entry when there is a list)."""
    out: Payload = {"versionNumber": p["listVersion"], "updateType": p["updateType"]}
    entries = p.get("localAuthorizationList") or []
    if entries:
        out["localAuthorizationList"] = [_entry_to_201(e) for e in entries]
    return out


def local_list_to_16(p: Payload) -> Payload:
    entries = p.get("localAuthorizationList") or []
    return {
        "listVersion": p["versionNumber"],
        "updateType": p["updateType"],
        "localAuthorizationList": [_entry_to_16(e) for e in entries],
    }


def list_version_answer_to_16(answer: Payload) -> Payload:
    return {"listVersion": answer["versionNumber"]} if "versionNumber" in answer else {}


# -- smart charging --------------------------------------------------------------------------

_PURPOSE_201 = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}
_PURPOSE_16 = {v: k for k, v in _PURPOSE_201.items()}
_PROFILE_16 = ("stackLevel", "chargingProfileKind", "recurrencyKind", "validFrom", "validTo")
_SCHEDULE = {"startSchedule", "duration", "chargingRateUnit", "chargingSchedulePeriod"}
_SCHEDULE_16 = _SCHEDULE | {"minChargingRate"}


def _purpose_16(purpose: str) -> str:
    if purpose == "ChargingStationExternalConstraints":
        raise Invalid(
            "chargingProfilePurpose ChargingStationExternalConstraints has no OCPP 1.6 equivalent"
        )
    return _PURPOSE_16.get(purpose, purpose)


def profile_to_201(profile: Payload, transaction_ref: str | None) -> Payload:
    """A 1.6 csChargingProfiles (or a remote start's chargingProfile) in 2.0.1's terms: its one
    schedule in a list, with the profile's id; ``transaction_ref`` is what 2.0.1 calls the
    transaction the 1.6 profile names by session id."""
    out: Payload = {
        "id": profile["chargingProfileId"],
        "chargingProfilePurpose": _PURPOSE_201.get(
            profile["chargingProfilePurpose"], profile["chargingProfilePurpose"]
        ),
        **{k: profile[k] for k in _PROFILE_16 if k in profile},
        "chargingSchedule": [{"id": profile["chargingProfileId"], **profile["chargingSchedule"]}],
    }
    if "transactionId" in profile:
        if transaction_ref is None:
            raise Invalid(f"transaction {profile['transactionId']} has no OCPP 2.0.1 transactionId")
        out["transactionId"] = transaction_ref
    return out


def profile_to_16(profile: Payload) -> Payload:
    """A 2.0.1 chargingProfile in 1.6's terms: one schedule only, no sales tariff, no
    phaseToUse; a transactionId of a 1.6 charger is the session id."""
    _only(
        "chargingProfile",
        profile,
        {"id", "chargingProfilePurpose", "chargingSchedule", "transactionId", *_PROFILE_16},
    )
    schedules = profile["chargingSchedule"]
    if len(schedules) != 1:
        raise Invalid(f"chargingProfile has {len(schedules)} chargingSchedules; OCPP 1.6 takes one")
    schedule = dict(schedules[0])
    schedule.pop("id")
    _only("chargingSchedule", schedule, _SCHEDULE_16)
    for period in schedule["chargingSchedulePeriod"]:
        _only("chargingSchedulePeriod", period, {"startPeriod", "limit", "numberPhases"})
    out: Payload = {
        "chargingProfileId": profile["id"],
        "chargingProfilePurpose": _purpose_16(profile["chargingProfilePurpose"]),
        **{k: profile[k] for k in _PROFILE_16 if k in profile},
        "chargingSchedule": schedule,
    }
    if "transactionId" in profile:
        ref = str(profile["transactionId"])
        if not ref.isdigit():
            raise Invalid(f"transactionId {ref!r} of a 1.6 charger is a session id")
        out["transactionId"] = int(ref)
    return out


def set_profile_to_201(p: Payload, transaction_ref: str | None) -> Payload:
    return {
        "evseId": p["connectorId"],
        "chargingProfile": profile_to_201(p["csChargingProfiles"], transaction_ref),
    }


def set_profile_to_16(p: Payload) -> Payload:
    return {"connectorId": p["evseId"], "csChargingProfiles": profile_to_16(p["chargingProfile"])}


def clear_profile_to_201(p: Payload) -> Payload:
    out: Payload = {}
    if "id" in p:
        out["chargingProfileId"] = p["id"]
    criteria: Payload = {}
    if "connectorId" in p:
        criteria["evseId"] = p["connectorId"]
    if "chargingProfilePurpose" in p:
        purpose = p["chargingProfilePurpose"]
        criteria["chargingProfilePurpose"] = _PURPOSE_201.get(purpose, purpose)
    if "stackLevel" in p:
        criteria["stackLevel"] = p["stackLevel"]
    if criteria:
        out["chargingProfileCriteria"] = criteria
    return out


def clear_profile_to_16(p: Payload) -> Payload:
    out: Payload = {}
    if "chargingProfileId" in p:
        out["id"] = p["chargingProfileId"]
    criteria = p.get("chargingProfileCriteria") or {}
    if "evseId" in criteria:
        out["connectorId"] = criteria["evseId"]
    if "chargingProfilePurpose" in criteria:
        out["chargingProfilePurpose"] = _purpose_16(criteria["chargingProfilePurpose"])
    if "stackLevel" in criteria:
        out["stackLevel"] = criteria["stackLevel"]
    return out


def composite_to_201(p: Payload) -> Payload:
    out: Payload = {"evseId": p["connectorId"], "duration": p["duration"]}
    if "chargingRateUnit" in p:
        out["chargingRateUnit"] = p["chargingRateUnit"]
    return out


def composite_to_16(p: Payload) -> Payload:
    out: Payload = {"connectorId": p["evseId"], "duration": p["duration"]}
    if "chargingRateUnit" in p:
        out["chargingRateUnit"] = p["chargingRateUnit"]
    return out


# the translations that need nothing but the payload (start and stop need more: see above)
TO_201: dict[str, Callable[[Payload], Payload]] = {
    "Reset": reset_to_201,
    "UnlockConnector": unlock_to_201,
    "ChangeAvailability": availability_to_201,
    "TriggerMessage": trigger_to_201,
    "GetConfiguration": get_configuration_to_201,
    "ChangeConfiguration": change_configuration_to_201,
    "ReserveNow": reserve_to_201,
    "CancelReservation": cancel_reservation,
    "SendLocalList": local_list_to_201,
    "GetLocalListVersion": nothing,
    "ClearCache": nothing,
    "ClearChargingProfile": clear_profile_to_201,
    "GetCompositeSchedule": composite_to_201,
}
# the 2.0.1 requests that carry an id of their own, which the caller picks
TO_201_WITH_ID: dict[str, Callable[[Payload, int], Payload]] = {
    "RemoteStartTransaction": start_to_201,
    "GetDiagnostics": diagnostics_to_201,
    "UpdateFirmware": firmware_to_201,
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
    "ReserveNow": reserve_to_16,
    "CancelReservation": cancel_reservation,
    "UpdateFirmware": firmware_to_16,
    "SendLocalList": local_list_to_16,
    "GetLocalListVersion": nothing,
    "ClearCache": nothing,
    "SetChargingProfile": set_profile_to_16,
    "ClearChargingProfile": clear_profile_to_16,
    "GetCompositeSchedule": composite_to_16,
}
# 1.6 action -> the 2.0.1 answer read as the 1.6 answer (where the two differ)
ANSWER_TO_16: dict[str, Callable[[Payload], Payload]] = {
    "GetConfiguration": variables_answer_to_16,
    "ChangeConfiguration": set_answer_to_16,
    "GetDiagnostics": log_answer_to_16,
    "GetLocalListVersion": list_version_answer_to_16,
}
