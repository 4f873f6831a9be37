"""1.6 <-> 2.0.1 command payloads: each translation, and back again where both ways exist."""

from __future__ import annotations

from typing import Any

import pytest

from gateway import schemas
from gateway.ocpp_j import OcppError
from services import command_translation as t
from store.errors import Invalid


def test_start_both_ways() -> None:
    out = t.start_to_201({"idTag": "TAG1", "connectorId": 2}, 9)
    assert out == {
        "idToken": {"idToken": "TAG1", "type": "Central"},
        "remoteStartId": 9,
        "evseId": 2,
    }
    assert t.start_to_16(out) == {"idTag": "TAG1", "connectorId": 2}
    assert "evseId" not in t.start_to_201({"idTag": "TAG1"}, 1)


def test_reset_unlock_availability_trigger_round_trip() -> None:
    cases = [
        ("Reset", {"type": "Hard"}, {"type": "Immediate"}),
        ("Reset", {"type": "Soft"}, {"type": "OnIdle"}),
        ("UnlockConnector", {"connectorId": 2}, {"evseId": 2, "connectorId": 1}),
        (
            "ChangeAvailability",
            {"connectorId": 1, "type": "Inoperative"},
            {"operationalStatus": "Inoperative", "evse": {"id": 1}},
        ),
        (
            "ChangeAvailability",
            {"connectorId": 0, "type": "Operative"},
            {"operationalStatus": "Operative"},
        ),
        (
            "TriggerMessage",
            {"requestedMessage": "DiagnosticsStatusNotification", "connectorId": 1},
            {"requestedMessage": "LogStatusNotification", "evse": {"id": 1}},
        ),
    ]
    for action, v16, v201 in cases:
        assert t.TO_201[action](v16) == v201, action
        assert t.TO_16[action](v201) == v16, action


def _valid(version: str, action: str, payload: dict[str, Any]) -> None:
    """The translated payload passes the target version's official schema."""
    schemas.check(version, schemas.request_name(version, action), payload)


def test_configuration_keys_both_ways_and_valid() -> None:
    v16 = {"key": ["HeartbeatInterval", "MeterValueSampleInterval"]}
    v201 = t.get_configuration_to_201(v16)
    assert v201 == {
        "getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}},
        ]
    }
    _valid("v201", "GetVariables", v201)
    assert t.get_variables_to_16(v201) == v16
    _valid("v16", "GetConfiguration", t.get_variables_to_16(v201))
    # every key of the table round-trips, and no two keys share a variable
    assert len(set(t.KEYS.values())) == len(t.KEYS)
    everything = t.get_configuration_to_201({})  # 1.6 without keys: all of them
    assert t.get_variables_to_16(everything) == {"key": list(t.KEYS)}
    _valid("v201", "GetVariables", everything)


def test_unknown_keys_and_variables_are_refused_by_name() -> None:
    with pytest.raises(Invalid, match="'SupportedFeatureProfiles' has no OCPP 2.0.1 variable"):
        t.get_configuration_to_201({"key": ["HeartbeatInterval", "SupportedFeatureProfiles"]})
    with pytest.raises(Invalid, match="'Vendor.X'"):
        t.change_configuration_to_201({"key": "Vendor.X", "value": "1"})
    odd = [
        {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}},
        {  # a known variable, but of one EVSE: no 1.6 key says that
            "component": {"name": "OCPPCommCtrlr", "evse": {"id": 1}},
            "variable": {"name": "HeartbeatInterval"},
        },
        {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
            "attributeType": "MaxSet",
        },
    ]
    for item in odd:
        with pytest.raises(Invalid, match="no OCPP 1.6 configuration key"):
            t.get_variables_to_16({"getVariableData": [item]})
    plain = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    assert t.get_variables_to_16({"getVariableData": [{**plain, "attributeType": "Actual"}]})


def test_change_configuration_both_ways() -> None:
    v16 = {"key": "LocalAuthListEnabled", "value": "false"}
    v201 = t.change_configuration_to_201(v16)
    assert v201 == {
        "setVariableData": [
            {
                "attributeValue": "false",
                "component": {"name": "LocalAuthListCtrlr"},
                "variable": {"name": "Enabled"},
            }
        ]
    }
    _valid("v201", "SetVariables", v201)
    assert t.set_variables_to_16(v201) == v16
    two = {"setVariableData": v201["setVariableData"] * 2}
    with pytest.raises(Invalid, match="one variable at a time"):
        t.set_variables_to_16(two)


def test_answers_read_in_16_terms() -> None:
    got = t.variables_answer_to_16(
        {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "true",
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "Enabled"},
                },
                {
                    "attributeStatus": "UnknownComponent",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                },
            ]
        }
    )
    assert got == {
        "configurationKey": [{"key": "LocalAuthListEnabled", "readonly": False, "value": "true"}],
        "unknownKey": ["HeartbeatInterval"],
    }
    schemas.check("v16", "GetConfigurationResponse", got)
    statuses = {
        "Accepted": "Accepted",
        "RebootRequired": "RebootRequired",
        "Rejected": "Rejected",
        "UnknownVariable": "NotSupported",
        "NotSupportedAttributeType": "NotSupported",
    }
    for status, v16 in statuses.items():
        answer = {"setVariableResult": [{"attributeStatus": status, **_hb()}]}
        assert t.set_answer_to_16(answer) == {"status": v16}
    assert t.log_answer_to_16({"status": "Accepted", "filename": "d.zip"}) == {"fileName": "d.zip"}
    assert t.log_answer_to_16({"status": "Rejected"}) == {}


def _hb() -> dict[str, Any]:
    return {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def test_diagnostics_and_log_both_ways() -> None:
    v16 = {
        "location": "https://evgate.example/upload/diagnostics/x",
        "startTime": "2026-12-01T00:00:00Z",
        "stopTime": "2026-12-02T00:00:00Z",
        "retries": 2,
        "retryInterval": 60,
    }
    v201 = t.diagnostics_to_201(v16, 41)
    assert v201 == {
        "logType": "DiagnosticsLog",
        "requestId": 41,
        "log": {
            "remoteLocation": v16["location"],
            "oldestTimestamp": v16["startTime"],
            "latestTimestamp": v16["stopTime"],
        },
        "retries": 2,
        "retryInterval": 60,
    }
    _valid("v201", "GetLog", v201)
    assert t.log_to_16(v201) == v16
    bare = t.diagnostics_to_201({"location": "ftp://x/y"}, 1)
    assert bare == {
        "logType": "DiagnosticsLog",
        "requestId": 1,
        "log": {"remoteLocation": "ftp://x/y"},
    }
    assert t.log_to_16(bare) == {"location": "ftp://x/y"}
    with pytest.raises(Invalid, match="SecurityLog"):
        t.log_to_16({**bare, "logType": "SecurityLog"})
    # a location longer than 2.0.1's 512 characters is caught by the 2.0.1 schema
    long = t.diagnostics_to_201({"location": "https://x/" + "a" * 600}, 1)
    with pytest.raises(OcppError):
        _valid("v201", "GetLog", long)


def test_reserve_now_both_ways() -> None:
    v16 = {
        "connectorId": 2,
        "expiryDate": "2026-12-06T22:00:00Z",
        "idTag": "TAG1",
        "reservationId": 7,
        "parentIdTag": "FLEET",
    }
    v201 = t.TO_201["ReserveNow"](v16)
    assert v201 == {
        "id": 7,
        "expiryDateTime": "2026-12-06T22:00:00Z",
        "idToken": {"idToken": "TAG1", "type": "ISO14443"},
        "evseId": 2,
        "groupIdToken": {"idToken": "FLEET", "type": "Central"},
    }
    _valid("v201", "ReserveNow", v201)
    assert t.TO_16["ReserveNow"](v201) == v16
    any_connector = {**v16, "connectorId": 0}
    del any_connector["parentIdTag"]
    assert "evseId" not in t.TO_201["ReserveNow"](any_connector)
    assert t.TO_16["ReserveNow"](t.TO_201["ReserveNow"](any_connector)) == any_connector
    _valid("v16", "ReserveNow", t.TO_16["ReserveNow"](v201))
    with pytest.raises(Invalid, match="connectorType"):
        t.TO_16["ReserveNow"]({**v201, "connectorType": "cType2"})
    extra = {"additionalIdToken": "x", "type": "y"}
    with pytest.raises(Invalid, match="additionalInfo"):
        t.TO_16["ReserveNow"]({**v201, "idToken": {**v201["idToken"], "additionalInfo": [extra]}})


def test_the_payloads_both_versions_share() -> None:
    for action, payload in [
        ("CancelReservation", {"reservationId": 3}),
        ("ClearCache", {}),
        ("GetLocalListVersion", {}),
    ]:
        assert t.TO_201[action](payload) == payload == t.TO_16[action](payload)
        _valid("v201", action, payload)
        _valid("v16", action, payload)
    assert t.ANSWER_TO_16["GetLocalListVersion"]({"versionNumber": 4}) == {"listVersion": 4}


def test_update_firmware_both_ways() -> None:
    v16 = {
        "location": "https://fw.example/6.6.bin",
        "retrieveDate": "2026-12-07T01:00:00Z",
        "retries": 3,
        "retryInterval": 120,
    }
    v201 = t.TO_201_WITH_ID["UpdateFirmware"](v16, 12)
    assert v201 == {
        "requestId": 12,
        "firmware": {"location": v16["location"], "retrieveDateTime": v16["retrieveDate"]},
        "retries": 3,
        "retryInterval": 120,
    }
    _valid("v201", "UpdateFirmware", v201)
    assert t.TO_16["UpdateFirmware"](v201) == v16
    _valid("v16", "UpdateFirmware", v16)
    signed = {**v201, "firmware": {**v201["firmware"], "signature": "c2ln"}}
    with pytest.raises(Invalid, match="signature"):
        t.TO_16["UpdateFirmware"](signed)


def test_send_local_list_both_ways() -> None:
    v16 = {
        "listVersion": 5,
        "updateType": "Differential",
        "localAuthorizationList": [
            {
                "idTag": "TAG1",
                "idTagInfo": {
                    "status": "Accepted",
                    "expiryDate": "2027-01-01T00:00:00Z",
                    "parentIdTag": "FLEET",
                },
            },
            {"idTag": "TAG2", "idTagInfo": {"status": "Blocked"}},
            {"idTag": "GONE"},  # a differential removal
        ],
    }
    v201 = t.TO_201["SendLocalList"](v16)
    assert v201 == {
        "versionNumber": 5,
        "updateType": "Differential",
        "localAuthorizationList": [
            {
                "idToken": {"idToken": "TAG1", "type": "ISO14443"},
                "idTokenInfo": {
                    "status": "Accepted",
                    "cacheExpiryDateTime": "2027-01-01T00:00:00Z",
                    "groupIdToken": {"idToken": "FLEET", "type": "Central"},
                },
            },
            {
                "idToken": {"idToken": "TAG2", "type": "ISO14443"},
                "idTokenInfo": {"status": "Blocked"},
            },
            {"idToken": {"idToken": "GONE", "type": "ISO14443"}},
        ],
    }
    _valid("v201", "SendLocalList", v201)
    assert t.TO_16["SendLocalList"](v201) == v16
    # a full update that empties the list: 2.0.1 says so by leaving the list out
    empty = {"listVersion": 6, "updateType": "Full", "localAuthorizationList": []}
    cleared = t.TO_201["SendLocalList"](empty)
    assert cleared == {"versionNumber": 6, "updateType": "Full"}
    _valid("v201", "SendLocalList", cleared)
    assert t.TO_16["SendLocalList"](cleared) == empty
    only_201 = {
        "idToken": {"idToken": "T", "type": "ISO14443"},
        "idTokenInfo": {"status": "NoCredit"},
    }
    with pytest.raises(Invalid, match="NoCredit"):
        t.TO_16["SendLocalList"]({**cleared, "localAuthorizationList": [only_201]})
    limited = {**only_201, "idTokenInfo": {"status": "Accepted", "evseId": [1]}}
    with pytest.raises(Invalid, match="evseId"):
        t.TO_16["SendLocalList"]({**cleared, "localAuthorizationList": [limited]})


def test_every_equivalent_translates_both_ways() -> None:
    """A name in EQUIVALENT_201 has a translation to 2.0.1 (or is a stop, which needs the
    session), and its 2.0.1 twin one back."""
    for v16, v201 in t.EQUIVALENT_201.items():
        needs_session = v16 in ("RemoteStopTransaction", "SetChargingProfile")
        assert v16 in t.TO_201 or v16 in t.TO_201_WITH_ID or needs_session, v16
        assert v201 in t.TO_16 or v201 == "RequestStopTransaction", v201


def _profile(**extra: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": 1000000042,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 7400},
                {"startPeriod": 600, "limit": 3700.5, "numberPhases": 1},
            ],
            "minChargingRate": 1380,
        },
        **extra,
    }


def test_set_charging_profile_both_ways() -> None:
    v16 = {"connectorId": 1, "csChargingProfiles": _profile(transactionId=42)}
    v201 = t.set_profile_to_201(v16, "tx-abc")
    assert v201 == {
        "evseId": 1,
        "chargingProfile": {
            "id": 1000000042,
            "chargingProfilePurpose": "TxProfile",
            "stackLevel": 0,
            "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 1000000042, **_profile()["chargingSchedule"]}],
            "transactionId": "tx-abc",
        },
    }
    _valid("v201", "SetChargingProfile", v201)
    # a 1.6 charger's transactionId is the session id, written as digits in 2.0.1 terms
    as_16 = {**v201, "chargingProfile": {**v201["chargingProfile"], "transactionId": "42"}}
    assert t.TO_16["SetChargingProfile"](as_16) == v16
    with pytest.raises(Invalid, match="session id"):
        t.TO_16["SetChargingProfile"](v201)
    with pytest.raises(Invalid, match="no OCPP 2.0.1 transactionId"):
        t.set_profile_to_201(v16, None)


def test_station_max_profile_and_what_16_cannot_hold() -> None:
    recurring = _profile(
        chargingProfilePurpose="ChargePointMaxProfile",
        chargingProfileKind="Recurring",
        recurrencyKind="Daily",
        validFrom="2026-12-01T00:00:00Z",
        validTo="2027-12-01T00:00:00Z",
    )
    v16 = {"connectorId": 0, "csChargingProfiles": recurring}
    v201 = t.set_profile_to_201(v16, None)
    profile = v201["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    assert (profile["recurrencyKind"], profile["validTo"]) == ("Daily", "2027-12-01T00:00:00Z")
    _valid("v201", "SetChargingProfile", v201)
    assert t.TO_16["SetChargingProfile"](v201) == v16
    _valid("v16", "SetChargingProfile", t.TO_16["SetChargingProfile"](v201))
    schedule = profile["chargingSchedule"][0]
    refused = [
        ({**profile, "chargingProfilePurpose": "ChargingStationExternalConstraints"}, "External"),
        ({**profile, "chargingSchedule": [schedule, {**schedule, "id": 2}]}, "2 charging"),
        ({**profile, "chargingSchedule": [{**schedule, "salesTariff": {}}]}, "salesTariff"),
        (
            {
                **profile,
                "chargingSchedule": [
                    {
                        **schedule,
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6, "phaseToUse": 1}],
                    }
                ],
            },
            "phaseToUse",
        ),
    ]
    for bad, words in refused:
        with pytest.raises(Invalid, match=words):
            t.TO_16["SetChargingProfile"]({"evseId": 0, "chargingProfile": bad})


def test_a_remote_start_keeps_its_profile() -> None:
    v16 = {"idTag": "TAG1", "connectorId": 1, "chargingProfile": _profile()}
    v201 = t.start_to_201(v16, 5)
    assert v201["chargingProfile"]["chargingSchedule"][0]["id"] == 1000000042
    _valid("v201", "RequestStartTransaction", v201)
    assert t.start_to_16(v201) == v16
    with pytest.raises(Invalid, match="groupIdToken"):
        t.start_to_16({**v201, "groupIdToken": {"idToken": "G", "type": "Central"}})


def test_clear_and_composite_both_ways() -> None:
    cases = [
        ({}, {}),
        ({"id": 7}, {"chargingProfileId": 7}),
        (
            {"connectorId": 1, "chargingProfilePurpose": "ChargePointMaxProfile", "stackLevel": 2},
            {
                "chargingProfileCriteria": {
                    "evseId": 1,
                    "chargingProfilePurpose": "ChargingStationMaxProfile",
                    "stackLevel": 2,
                }
            },
        ),
    ]
    for v16, v201 in cases:
        assert t.TO_201["ClearChargingProfile"](v16) == v201
        _valid("v201", "ClearChargingProfile", v201)
        assert t.TO_16["ClearChargingProfile"](v201) == v16
    v16 = {"connectorId": 0, "duration": 3600, "chargingRateUnit": "W"}
    v201 = {"evseId": 0, "duration": 3600, "chargingRateUnit": "W"}
    assert t.TO_201["GetCompositeSchedule"](v16) == v201
    _valid("v201", "GetCompositeSchedule", v201)
    assert t.TO_16["GetCompositeSchedule"](v201) == v16
    bare = t.TO_201["GetCompositeSchedule"]({"connectorId": 2, "duration": 60})
    assert t.TO_16["GetCompositeSchedule"](bare) == {"connectorId": 2, "duration": 60}
