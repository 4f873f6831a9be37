"""2.0.1 requests in the 1.6 simulator's terms, and its answers back (pure: no I/O).

The 2.0.1 charger reuses the 1.6 reservation book, local list, smart charging and firmware
logic; what differs is the shape of the payloads. Each function here takes what the CSMS sent
and returns what the 1.6 handler reads, or takes the 1.6 answer and returns the 2.0.1 one.
A request that lacks what the schema requires is a FormationViolation, never a crash.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulators import payloads201 as p201
from simulators.framing import CallErrorReply

# 2.0.1 chargingProfilePurpose -> the 1.6 purpose the smart charging book knows
PURPOSE_16 = {
    "ChargingStationMaxProfile": "ChargePointMaxProfile",
    "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}
# 1.6 upload statuses -> 2.0.1 UploadLogStatusEnumType
LOG_STATUS = {"UploadFailed": "UploadFailure"}
SCHEDULE_KEYS = ("startSchedule", "duration", "chargingRateUnit", "chargingSchedulePeriod")


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise CallErrorReply("FormationViolation", what)


def _token(value: Any, what: str) -> str:
    token = value.get("idToken") if isinstance(value, dict) else None
    _need(isinstance(token, str), f"{what} must be an IdTokenType")
    assert isinstance(token, str)
    return token


# ---------------------------------------------------------------- reservations


def reserve_now(p: dict[str, Any]) -> dict[str, Any]:
    """ReserveNow -> the 1.6 ReserveNow (no evseId: any EVSE, the 1.6 connector 0)."""
    _need(isinstance(p.get("id"), int), "id must be an integer")
    _need(isinstance(p.get("expiryDateTime"), str), "expiryDateTime is required")
    evse = p.get("evseId")
    _need(evse is None or isinstance(evse, int), "evseId must be an integer")
    request: dict[str, Any] = {
        "connectorId": 0 if evse is None else evse,
        "reservationId": p["id"],
        "idTag": _token(p.get("idToken"), "idToken"),
        "expiryDate": p["expiryDateTime"].replace("Z", "+00:00"),
    }
    if p.get("groupIdToken") is not None:
        request["parentIdTag"] = _token(p["groupIdToken"], "groupIdToken")
    return request


# ---------------------------------------------------------------- local list


def send_local_list(p: dict[str, Any]) -> dict[str, Any]:
    """SendLocalList -> the 1.6 SendLocalList: idToken -> idTag, idTokenInfo -> idTagInfo
    (cacheExpiryDateTime as expiryDate, groupIdToken as parentIdTag); no idTokenInfo removes
    the token, as in 1.6."""
    _need(isinstance(p.get("versionNumber"), int), "versionNumber must be an integer")
    _need(p.get("updateType") in ("Full", "Differential"), "updateType: Full or Differential")
    entries = []
    for entry in p.get("localAuthorizationList") or []:
        _need(isinstance(entry, dict), "localAuthorizationList holds AuthorizationData")
        item: dict[str, Any] = {"idTag": _token(entry.get("idToken"), "idToken")}
        info = entry.get("idTokenInfo")
        if isinstance(info, dict):
            _need(isinstance(info.get("status"), str), "idTokenInfo.status is required")
            tag_info: dict[str, Any] = {"status": info["status"]}
            if isinstance(info.get("cacheExpiryDateTime"), str):
                tag_info["expiryDate"] = info["cacheExpiryDateTime"].replace("Z", "+00:00")
            if info.get("groupIdToken") is not None:
                tag_info["parentIdTag"] = _token(info["groupIdToken"], "groupIdToken")
            item["idTagInfo"] = tag_info
        entries.append(item)
    return {
        "listVersion": p["versionNumber"],
        "updateType": p["updateType"],
        "localAuthorizationList": entries,
    }


# ---------------------------------------------------------------- smart charging


def charging_profile(profile: Any) -> dict[str, Any] | None:
    """A 2.0.1 ChargingProfileType as the 1.6 csChargingProfiles; None for a purpose the
    charger does not take (ChargingStationExternalConstraints: the CSMS may not set it).
    Only the first chargingSchedule is used: the others are for ISO 15118 cars."""
    _need(isinstance(profile, dict), "chargingProfile is required")
    for key in ("id", "stackLevel"):
        _need(isinstance(profile.get(key), int), f"chargingProfile.{key} must be an integer")
    schedules = profile.get("chargingSchedule")
    _need(isinstance(schedules, list) and bool(schedules), "chargingSchedule is required")
    first = schedules[0]
    _need(isinstance(first, dict), "chargingSchedule holds ChargingScheduleType")
    periods = first.get("chargingSchedulePeriod")
    _need(isinstance(periods, list) and bool(periods), "chargingSchedulePeriod is required")
    for period in periods:
        _need(
            isinstance(period, dict)
            and isinstance(period.get("startPeriod"), int)
            and isinstance(period.get("limit"), int | float),
            "a chargingSchedulePeriod needs startPeriod and limit",
        )
    _need(first.get("chargingRateUnit") in ("A", "W"), "chargingRateUnit: A or W")
    purpose = PURPOSE_16.get(str(profile.get("chargingProfilePurpose")))
    if purpose is None:
        return None
    raw: dict[str, Any] = {
        "chargingProfileId": profile["id"],
        "stackLevel": profile["stackLevel"],
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": profile.get("chargingProfileKind"),
        "chargingSchedule": {k: first[k] for k in SCHEDULE_KEYS if k in first},
    }
    for key in ("recurrencyKind", "validFrom", "validTo", "transactionId"):
        if profile.get(key) is not None:
            raw[key] = profile[key]
    return raw


def clear_charging_profile(p: dict[str, Any]) -> dict[str, Any]:
    """ClearChargingProfile -> the 1.6 one (chargingProfileId, or the criteria)."""
    criteria = p.get("chargingProfileCriteria") or {}
    _need(isinstance(criteria, dict), "chargingProfileCriteria must be an object")
    request: dict[str, Any] = {}
    if p.get("chargingProfileId") is not None:
        request["id"] = p["chargingProfileId"]
    if criteria.get("evseId") is not None:
        request["connectorId"] = criteria["evseId"]
    if criteria.get("chargingProfilePurpose") is not None:
        request["chargingProfilePurpose"] = PURPOSE_16.get(
            criteria["chargingProfilePurpose"], criteria["chargingProfilePurpose"]
        )
    if criteria.get("stackLevel") is not None:
        request["stackLevel"] = criteria["stackLevel"]
    return request


def _limit(value: Any) -> p201.Number:
    """A 1.6 composite limit (an int, or a float of one decimal) as an exact JSON number."""
    if isinstance(value, int):
        return value
    return p201.number(str(Decimal(str(value))))


def composite_schedule(answer: dict[str, Any], evse_id: int) -> dict[str, Any]:
    """The 1.6 GetCompositeSchedule answer as the 2.0.1 one (a CompositeScheduleType)."""
    if answer.get("status") != "Accepted":
        return {"status": "Rejected"}
    schedule = answer["chargingSchedule"]
    return {
        "status": "Accepted",
        "schedule": {
            "evseId": evse_id,
            "duration": schedule["duration"],
            "scheduleStart": answer["scheduleStart"],
            "chargingRateUnit": schedule["chargingRateUnit"],
            "chargingSchedulePeriod": [
                {"startPeriod": x["startPeriod"], "limit": _limit(x["limit"])}
                for x in schedule["chargingSchedulePeriod"]
            ],
        },
    }


# ---------------------------------------------------------------- firmware and logs


def update_firmware(p: dict[str, Any]) -> dict[str, Any]:
    """UpdateFirmware -> the 1.6 one (firmware.location, firmware.retrieveDateTime)."""
    _need(isinstance(p.get("requestId"), int), "requestId must be an integer")
    firmware = p.get("firmware")
    _need(isinstance(firmware, dict), "firmware is required")
    assert isinstance(firmware, dict)
    _need(isinstance(firmware.get("location"), str), "firmware.location is required")
    _need(isinstance(firmware.get("retrieveDateTime"), str), "retrieveDateTime is required")
    return {
        "location": firmware["location"],
        "retrieveDate": firmware["retrieveDateTime"],
        "retries": p.get("retries"),
        "retryInterval": p.get("retryInterval"),
    }


def get_log(p: dict[str, Any]) -> dict[str, Any]:
    """GetLog -> the 1.6 GetDiagnostics (log.remoteLocation, the oldest/latest window)."""
    _need(isinstance(p.get("requestId"), int), "requestId must be an integer")
    _need(p.get("logType") in ("DiagnosticsLog", "SecurityLog"), "logType is required")
    log = p.get("log")
    _need(isinstance(log, dict) and isinstance(log.get("remoteLocation"), str), "log is required")
    assert isinstance(log, dict)
    request: dict[str, Any] = {
        "location": log["remoteLocation"],
        "retries": p.get("retries"),
        "retryInterval": p.get("retryInterval"),
    }
    if log.get("oldestTimestamp") is not None:
        request["startTime"] = log["oldestTimestamp"]
    if log.get("latestTimestamp") is not None:
        request["stopTime"] = log["latestTimestamp"]
    return request
