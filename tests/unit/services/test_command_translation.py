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


def test_a_remote_start_with_a_profile_is_not_dropped_silently() -> None:
    with pytest.raises(Invalid, match="chargingProfile"):
        t.start_to_201({"idTag": "T", "chargingProfile": {}}, 1)
