"""OCPP-J framing and the compiled validators."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import ocpp_j, schemas
from gateway.ocpp_j import FrameError, OcppError


def test_decode_valid_frames() -> None:
    assert ocpp_j.decode(b'[2,"a","Heartbeat",{}]') == [2, "a", "Heartbeat", {}]
    assert ocpp_j.decode('[3,"a",{"x":1}]') == [3, "a", {"x": 1}]
    assert ocpp_j.decode('[4,"a","NotImplemented","",{}]')[2] == "NotImplemented"


@pytest.mark.parametrize(
    ("frame", "message_id", "fragment"),
    [
        ('[2, "id1", "Heartbeat", {', "id1", "malformed JSON"),
        ("not json", None, "malformed JSON"),
        ('{"a": 1}', None, "JSON array"),
        ('[2, 17, "Heartbeat", {}]', None, "message id"),
        ('[9, "id2", {}]', "id2", "unknown message type"),
        ('[2, "id3", "Heartbeat"]', "id3", "a Call is"),
        ('[2, "id4", "Heartbeat", []]', "id4", "a Call is"),
        ('[3, "id5", "x"]', "id5", "a CallResult is"),
    ],
)
def test_decode_refuses_with_the_id_when_readable(
    frame: str, message_id: str | None, fragment: str
) -> None:
    with pytest.raises(FrameError) as info:
        ocpp_j.decode(frame)
    assert info.value.message_id == message_id
    assert fragment in info.value.reason


def test_oversized_frame() -> None:
    frame = json.dumps([2, "big", "DataTransfer", {"vendorId": "v", "data": "x" * 70_000}])
    with pytest.raises(FrameError) as info:
        ocpp_j.decode(frame)
    assert info.value.message_id == "big" and "exceeds" in info.value.reason


@given(st.binary(max_size=200))
def test_decode_never_crashes(data: bytes) -> None:
    try:
        msg = ocpp_j.decode(data)
    except FrameError:
        return
    assert msg[0] in (2, 3, 4)


def test_encoders_round_trip() -> None:
    assert json.loads(ocpp_j.call_result("x", {"a": 1})) == [3, "x", {"a": 1}]
    err = json.loads(ocpp_j.call_error("x", "InternalError", "d" * 300))
    assert err[:3] == [4, "x", "InternalError"] and len(err[3]) == 255 and err[4] == {}


def test_schema_errors_map_to_call_error_codes() -> None:
    with pytest.raises(OcppError) as info:
        schemas.check("v16", "Authorize", {"idTag": "x" * 21})
    assert info.value.code == "TypeConstraintViolation"
    with pytest.raises(OcppError) as info:
        schemas.check("v16", "Authorize", {"idTag": "x", "extra": 1})
    assert info.value.code == "FormationViolation"
    with pytest.raises(OcppError) as info:
        schemas.check("v16", "NoSuchAction", {})
    assert info.value.code == "NotImplemented"
    schemas.check("v16", "Authorize", {"idTag": "x"})


def test_repair_fixes_common_quirks_and_says_so() -> None:
    payload = {"connectorId": "2", "errorCode": "noerror", "status": "suspended_ev", "vendorId": 7}
    fixed, fixes = schemas.repair("v16", "StatusNotification", payload)
    assert fixed == {
        "connectorId": 2,
        "errorCode": "NoError",
        "status": "SuspendedEV",
        "vendorId": "7",
    }
    assert len(fixes) == 4
    schemas.check("v16", "StatusNotification", fixed)
    assert payload["connectorId"] == "2"  # the original is not touched
