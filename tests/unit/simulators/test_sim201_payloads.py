"""The 2.0.1 payload builders against the official OCPP 2.0.1 JSON schemas (from `ocpp`)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import ocpp.v201
import orjson
import pytest
from jsonschema.validators import validator_for

from simulators import payloads201 as p201
from simulators.configuration import Configuration
from simulators.physics import EV, MJ_PER_WH, ChargerSpec, Flow
from simulators.variables201 import DeviceModel

SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"
MEASURANDS = {
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Voltage",
    "Current.Offered",
    "Power.Offered",
}


def valid(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Validate what goes on the wire (the encoded JSON read back) and return it."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    wire = p201.wire(payload)
    validator_for(schema)(schema).validate(wire)
    return wire


def test_numbers_are_written_from_integers_exactly() -> None:
    assert p201.number("15") == 15
    assert orjson.dumps({"v": p201.number("532363.9")}) == b'{"v":532363.9}'
    mj = 532_363 * MJ_PER_WH + 95 * MJ_PER_WH // 100  # 532363.95 Wh
    assert orjson.dumps(p201.register_value(mj)) == b"532363.9"  # floored to 0.1 Wh
    assert p201.register_value(mj, whole=True) == 532_363
    assert orjson.dumps(p201.register_value(mj, kwh=True)) == b"532.3639"
    assert orjson.dumps(p201.register_value(mj, kwh=True, whole=True)) == b"532.363"
    assert orjson.dumps(p201.register_value(7 * MJ_PER_WH // 10)) == b"0.7"
    with pytest.raises(ValueError):
        p201.number("1e5")


def test_boot_status_and_authorize_match_the_schemas() -> None:
    boot = valid("BootNotificationRequest", p201.boot(ChargerSpec(), "WB-" + "9" * 30, "PowerUp"))
    assert boot["chargingStation"]["vendorName"] == "Wall Box Chargers"
    assert len(boot["chargingStation"]["serialNumber"]) == 25
    status = valid("StatusNotificationRequest", p201.status(2, "Occupied", "2026-12-04T10:00:00Z"))
    assert (status["evseId"], status["connectorId"]) == (2, 1)
    token = valid("AuthorizeRequest", {"idToken": p201.id_token("RFID-1")})
    assert token["idToken"] == {"idToken": "RFID-1", "type": "ISO14443"}


@pytest.mark.parametrize("kwh", [False, True])
def test_transaction_events_match_the_schema(kwh: bool) -> None:
    spec = ChargerSpec()
    flow = Flow(spec, EV(soc_percent=30), 532_363 * MJ_PER_WH + 7, 0)
    flow.advance(61_000)
    ts = "2026-12-04T10:00:00Z"
    begin = p201.register_sample(532_363 * MJ_PER_WH, "Transaction.Begin", kwh)
    started = valid(
        "TransactionEventRequest",
        p201.transaction_event(
            "Started",
            ts,
            "RemoteStart",
            0,
            "c0ffee00-0000-4000-8000-000000000001",
            1,
            "Charging",
            [p201.meter_value(ts, [begin])],
            idToken=p201.id_token("RFID-1"),
            numberOfPhasesUsed=3,
            remoteStartId=42,
            reservationId=None,
        ),
    )
    assert started["transactionInfo"]["remoteStartId"] == 42
    assert "reservationId" not in started and "offline" not in started
    value = started["meterValue"][0]["sampledValue"][0]
    assert value["context"] == "Transaction.Begin"
    assert value["value"] == (Decimal("532.363") if kwh else 532_363)
    values = p201.sampled_values(
        spec, flow.register_mj, flow, None, "Sample.Periodic", MEASURANDS, kwh
    )
    updated = valid(
        "TransactionEventRequest",
        p201.transaction_event(
            "Updated",
            ts,
            "MeterValuePeriodic",
            1,
            "t",
            1,
            None,
            [p201.meter_value(ts, values)],
            True,
        ),
    )
    assert updated["offline"] is True
    samples = updated["meterValue"][0]["sampledValue"]
    assert len(samples) == 10
    register = samples[0]["value"]
    # 61 s at 11 kW = 186.38 Wh on top of the start, floored to 0.1 Wh: an exact decimal
    expected = Decimal("532.5493") if kwh else Decimal("532549.3")
    assert register == expected and not isinstance(register, float)
    assert samples[2]["value"] == Decimal("15.9")  # 11 kW over 3 x 230 V
    ended = valid(
        "TransactionEventRequest",
        p201.transaction_event(
            "Ended",
            ts,
            "StopAuthorized",
            2,
            "t",
            1,
            "EVConnected",
            [
                p201.meter_value(
                    ts, [p201.register_sample(flow.register_mj, "Transaction.End", kwh)]
                )
            ],
            stoppedReason="Local",
        ),
    )
    assert ended["transactionInfo"]["stoppedReason"] == "Local"


def test_meter_values_without_a_transaction_match_the_schema() -> None:
    values = p201.sampled_values(ChargerSpec(), 5 * MJ_PER_WH, None, 16, "Trigger", MEASURANDS)
    body = valid(
        "MeterValuesRequest",
        {"evseId": 1, "meterValue": [p201.meter_value("2026-12-04T10:00:00Z", values)]},
    )
    assert body["meterValue"][0]["sampledValue"][-2]["value"] == 16  # Current.Offered


def device() -> DeviceModel:
    return DeviceModel(
        Configuration(1, 300, 60, False),
        {"Identity": "WB-1", "SecurityProfile": "1", "SupplyPhases": "3"},
    )


def test_device_model_answers_and_reports_match_the_schemas() -> None:
    model = device()
    hb = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    unknown_c = {"component": {"name": "Nope"}, "variable": {"name": "X"}}
    unknown_v = {"component": {"name": "ocppcommctrlr"}, "variable": {"name": "X"}}
    got = valid(
        "GetVariablesResponse",
        {"getVariableResult": [model.get(v) for v in (hb, unknown_c, unknown_v)]},
    )
    assert [r["attributeStatus"] for r in got["getVariableResult"]] == [
        "Accepted",
        "UnknownComponent",
        "UnknownVariable",
    ]
    assert got["getVariableResult"][0]["attributeValue"] == "300"
    sets = [
        {**hb, "attributeValue": "45"},
        {**hb, "attributeValue": "soon"},
        {
            "component": {"name": "SecurityCtrlr"},
            "variable": {"name": "Identity"},
            "attributeValue": "x",
        },
        {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "WebSocketPingInterval"},
            "attributeValue": "30",
        },
    ]
    answer = valid("SetVariablesResponse", {"setVariableResult": [model.set(v) for v in sets]})
    assert [r["attributeStatus"] for r in answer["setVariableResult"]] == [
        "Accepted",
        "Rejected",
        "Rejected",
        "RebootRequired",
    ]
    assert model.config.int("HeartbeatInterval") == 45
    full = model.report("FullInventory")
    assert full is not None
    valid(
        "NotifyReportRequest",
        {"requestId": 1, "generatedAt": "2026-12-04T10:00:00Z", "seqNo": 0, "reportData": full},
    )
    writable = model.report("ConfigurationInventory")
    assert writable is not None and 0 < len(writable) < len(full)
    assert {e["variableAttribute"][0]["mutability"] for e in writable} == {"ReadWrite"}
    assert model.report("SummaryInventory") is None
