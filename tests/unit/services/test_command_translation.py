"""1.6 <-> 2.0.1 command payloads: each translation, and back again where both ways exist."""

from __future__ import annotations

from services import command_translation as t


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
