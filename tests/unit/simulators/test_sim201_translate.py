"""The 2.0.1 -> 1.6 translations of profiles201 (pure): what the 1.6 logic is handed, the
2.0.1 answers against the official response schemas, and bad requests as CallErrors."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ocpp.v201
import orjson
import pytest
from jsonschema.validators import validator_for

from simulators import payloads201 as p201
from simulators import profiles201
from simulators.clock import to_ms
from simulators.framing import CallErrorReply
from simulators.smart_charging import SmartCharging

SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"


def valid(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    wire = p201.wire(payload)
    validator_for(schema)(schema).validate(wire)
    return wire


def test_reserve_now_any_evse_is_connector_zero_with_the_group_as_parent() -> None:
    got = profiles201.reserve_now(
        {
            "id": 4,
            "expiryDateTime": "2026-12-06T10:00:00Z",
            "idToken": {"idToken": "T", "type": "ISO14443"},
            "groupIdToken": {"idToken": "G", "type": "Central"},
        }
    )
    assert got == {
        "connectorId": 0,
        "reservationId": 4,
        "idTag": "T",
        "expiryDate": "2026-12-06T10:00:00+00:00",
        "parentIdTag": "G",
    }


def test_local_list_entries_become_id_tags() -> None:
    got = profiles201.send_local_list(
        {
            "versionNumber": 2,
            "updateType": "Differential",
            "localAuthorizationList": [
                {
                    "idToken": {"idToken": "A", "type": "ISO14443"},
                    "idTokenInfo": {
                        "status": "Accepted",
                        "cacheExpiryDateTime": "2027-01-01T00:00:00Z",
                        "groupIdToken": {"idToken": "G", "type": "Central"},
                    },
                },
                {"idToken": {"idToken": "B", "type": "ISO14443"}},
            ],
        }
    )
    assert got["localAuthorizationList"] == [
        {
            "idTag": "A",
            "idTagInfo": {
                "status": "Accepted",
                "expiryDate": "2027-01-01T00:00:00+00:00",
                "parentIdTag": "G",
            },
        },
        {"idTag": "B"},
    ]


def _profile(purpose: str, limit: Any) -> dict[str, Any]:
    return {
        "id": 9,
        "stackLevel": 1,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": "2026-12-06T10:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
            {"id": 2, "chargingRateUnit": "W", "chargingSchedulePeriod": []},
        ],
    }


def test_a_station_max_profile_is_the_1_6_charge_point_max_with_the_first_schedule() -> None:
    got = profiles201.charging_profile(_profile("ChargingStationMaxProfile", 6.1))
    assert got == {
        "chargingProfileId": 9,
        "stackLevel": 1,
        "chargingProfilePurpose": "ChargePointMaxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": "2026-12-06T10:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.1}],
        },
    }
    assert profiles201.charging_profile(_profile("ChargingStationExternalConstraints", 6)) is None


def test_a_composite_schedule_with_decimals_passes_the_schema_exactly() -> None:
    book = SmartCharging(3, 230, 32)
    raw = profiles201.charging_profile(_profile("ChargingStationMaxProfile", 6.1))
    assert raw is not None
    book.install(0, raw)
    now = to_ms(datetime.fromisoformat("2026-12-06T10:00:00+00:00"))
    answer = book.composite({"connectorId": 1, "duration": 60}, now, None, {1})
    got = valid("GetCompositeScheduleResponse", profiles201.composite_schedule(answer, 1))
    assert got["schedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": Decimal("6.1")}
    ]
    assert b'"limit":6.1' in orjson.dumps(profiles201.composite_schedule(answer, 1))
    rejected = book.composite({"connectorId": 5, "duration": 60}, now, None, {1})
    assert valid("GetCompositeScheduleResponse", profiles201.composite_schedule(rejected, 5)) == {
        "status": "Rejected"
    }


def test_clear_by_criteria_maps_the_purpose() -> None:
    got = profiles201.clear_charging_profile(
        {
            "chargingProfileCriteria": {
                "evseId": 0,
                "chargingProfilePurpose": "ChargingStationMaxProfile",
                "stackLevel": 2,
            }
        }
    )
    assert got == {
        "connectorId": 0,
        "chargingProfilePurpose": "ChargePointMaxProfile",
        "stackLevel": 2,
    }


@pytest.mark.parametrize(
    ("translate", "payload"),
    [
        (profiles201.reserve_now, {"id": 1, "expiryDateTime": "2026-12-06T10:00:00Z"}),
        (profiles201.reserve_now, {"id": "1", "expiryDateTime": "x", "idToken": {"idToken": "T"}}),
        (profiles201.send_local_list, {"versionNumber": 1, "updateType": "Sometimes"}),
        (
            profiles201.send_local_list,
            {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [{}]},
        ),
        (profiles201.charging_profile, {"id": 1, "stackLevel": 0, "chargingSchedule": []}),
        (profiles201.charging_profile, None),
        (profiles201.update_firmware, {"requestId": 1, "firmware": {"location": "http://x"}}),
        (profiles201.get_log, {"requestId": 1, "logType": "DiagnosticsLog"}),
        (profiles201.get_log, {"requestId": 1, "logType": "Other", "log": {"remoteLocation": "x"}}),
    ],
)
def test_a_request_missing_what_it_needs_is_a_formation_violation(
    translate: Any, payload: Any
) -> None:
    with pytest.raises(CallErrorReply) as err:
        translate(payload)
    assert err.value.code == "FormationViolation"
