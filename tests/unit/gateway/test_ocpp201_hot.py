"""gateway.ocpp201_hot against the schema and the ordinary path it stands in for.

The one-pass reader of a TransactionEvent Updated may say "not sure" (None) as often as it
likes, but never yes to what the schema refuses, and when it says yes its readings are those
of gateway.ocpp201.readings. Two judges: our compiled schema check (what the ordinary path
runs) and fastjsonschema (independent of our compiler). Payloads are the hot shape with
random options, then mostly one mutation: a wrong value, a dropped or extra key, an integer
as a float, a customData.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import ocpp201, ocpp201_hot, schemas
from gateway.ocpp_j import OcppError
from metering import EAIR, POWER, parse_timestamp
from tests.unit.gateway.test_validators_differential import nodes as paths

SCHEMA = schemas.schema("v201", "TransactionEventRequest")
assert SCHEMA is not None
DEFS = SCHEMA["definitions"]
REFERENCE = fastjsonschema.compile(SCHEMA, use_default=False)


def enum(name: str) -> list[str]:
    return list(DEFS[name]["enum"])


stamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.isoformat().replace("+00:00", "Z"))
numbers = st.one_of(
    st.integers(-(10**6), 10**7),
    st.integers(10**11, 10**13),  # around the register bound (10**12 Wh)
    st.floats(-1e7, 1e7, allow_nan=False),
    st.sampled_from([0, 0.0, -0.0, 1234.56, 0.0005, 0.0015, 2.5, 1e16, 1e-7, 7.4, 10.7]),
)
units = st.sampled_from(["Wh", "kWh", "W", "kW", "A", "V", "Percent", "", "x" * 20])
multipliers = st.one_of(st.integers(-3, 3), st.sampled_from([-9, 9, 999_999, -999_999]))


@st.composite
def sampled_values(draw: st.DrawFn) -> dict[str, Any]:
    sv: dict[str, Any] = {"value": draw(numbers)}
    if draw(st.booleans()):
        sv["context"] = draw(st.sampled_from(enum("ReadingContextEnumType")))
    if draw(st.integers(0, 4)):  # mostly the two that are read
        sv["measurand"] = draw(
            st.sampled_from([EAIR, EAIR, POWER, POWER, *enum("MeasurandEnumType")])
        )
    if draw(st.booleans()):
        sv["phase"] = draw(st.sampled_from(enum("PhaseEnumType")))
    if draw(st.booleans()):
        sv["location"] = draw(st.sampled_from(["Outlet", *enum("LocationEnumType")]))
    if draw(st.integers(0, 3)):
        unit: dict[str, Any] = {}
        if draw(st.integers(0, 4)):
            unit["unit"] = draw(units)
        if draw(st.booleans()):
            unit["multiplier"] = draw(multipliers)
        sv["unitOfMeasure"] = unit
    return sv


@st.composite
def hot_shapes(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Updated of the shape the one-pass reader takes."""
    stamp = draw(stamps)
    info: dict[str, Any] = {"transactionId": draw(st.text(min_size=1, max_size=36))}
    if draw(st.booleans()):
        info["chargingState"] = draw(st.sampled_from(enum("ChargingStateEnumType")))
    for key in ("timeSpentCharging", "remoteStartId"):
        if draw(st.integers(0, 3)) == 0:
            info[key] = draw(st.integers(0, 10**6))
    meter = []
    for _ in range(draw(st.integers(1, 3))):
        at = stamp if draw(st.integers(0, 2)) else draw(stamps)
        values = draw(st.lists(sampled_values(), min_size=1, max_size=10))
        meter.append({"timestamp": at, "sampledValue": values})
    p: dict[str, Any] = {
        "eventType": "Updated",
        "timestamp": stamp,
        "triggerReason": draw(st.sampled_from(enum("TriggerReasonEnumType"))),
        "seqNo": draw(st.integers(0, 2**31 - 1)),
        "transactionInfo": info,
        "meterValue": meter,
    }
    if draw(st.integers(0, 3)) == 0:
        p["offline"] = draw(st.booleans())
    for key in ("numberOfPhasesUsed", "cableMaxCurrent"):
        if draw(st.integers(0, 3)) == 0:
            p[key] = draw(st.integers(0, 64))
    if draw(st.integers(0, 3)) == 0:
        evse: dict[str, Any] = {"id": draw(st.integers(0, 10))}
        if draw(st.booleans()):
            evse["connectorId"] = draw(st.integers(0, 10))
        p["evse"] = evse
    return p


WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([2**31, -(2**31), 2**40]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.sampled_from(["x" * 21, "x" * 37, "x" * 256]),  # one past each maxLength of the shape
    st.sampled_from(["Started", "Ended", "Outlet", "Wh", "charging"]),
    st.sampled_from(
        [
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-10-01T23:59:60Z",  # the schema's date-time allows a leap second
            "2026-10-01T12:00:00",
            "2026-10-01 12:00:00Z",
            "2026-10-01T12:00:00.1234567+0100",
        ]
    ),
    st.just([]),
    st.just({}),
    st.just([{}]),
    st.just({"vendorId": "v"}),
)


@st.composite
def payloads(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A hot shape, then (mostly) one mutation; with the mutation's name."""
    p = draw(hot_shapes())
    mutation = draw(
        st.sampled_from(["none", "replace", "replace", "replace", "drop", "extra", "float", "data"])
    )
    if mutation == "none":
        return p, mutation
    path = draw(st.sampled_from(paths(p)[1:]))
    parent: Any = p
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if mutation == "replace":
        parent[last] = draw(WRONG)
    elif mutation == "drop" and isinstance(parent, dict):
        del parent[last]
    elif mutation == "extra" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["unexpectedField", "signedMeterValue", "idToken"]))] = 1
    elif mutation == "float" and type(parent[last]) is int:
        parent[last] = float(parent[last])  # 1.0 is an integer to the draft-06 schema
    elif mutation == "data":
        target = parent[last] if isinstance(parent[last], dict) else p
        target["customData"] = {"vendorId": draw(st.sampled_from(["acme", "x" * 256]))}
    return p, mutation


def schema_accepts(p: Any) -> bool:
    """What the ordinary path decides: the compiled check plus the store's integer bounds."""
    try:
        ocpp201._check("TransactionEvent", p)
    except OcppError:
        return False
    return True


def ordinary_readings(p: dict[str, Any]) -> list[Any] | None:
    """gateway.ocpp201.readings as _quick_updated's fallback calls it (None: a CallError)."""
    try:
        stamp = p["timestamp"]
        meter = p.get("meterValue") or []  # _quick_updated wants one; handle() takes none
        return ocpp201.readings(meter, stamp, ocpp201._time(stamp, "timestamp"))
    except OcppError:
        return None


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(payloads())
def test_never_yes_to_what_the_schema_refuses_and_reads_the_same(
    case: tuple[dict[str, Any], str],
) -> None:
    p, mutation = case
    before = copy.deepcopy(p)
    got = ocpp201_hot.updated_readings(p)
    assert p == before  # read, not repaired
    accepted = schema_accepts(p)
    try:
        REFERENCE(copy.deepcopy(p))
        reference = True
    except fastjsonschema.JsonSchemaValueException:
        reference = False
    seq = p.get("seqNo")
    fits = type(seq) is not int or -(2**31) < seq < 2**31  # the store's 32-bit column
    assert accepted == (reference and fits), p
    if got is not None:
        assert accepted, p
        assert got == ordinary_readings(p), p
    elif accepted:
        # the ordinary way takes it: the full check, then readings without an exception
        ordinary_readings(p)
    if mutation == "none":
        assert got is not None, p  # the shape itself is taken, not merely declined


def test_the_hot_shape_is_the_schemas() -> None:
    """Every property of the shape is the schema's, of the kind the reader tests it for."""
    top = SCHEMA["properties"]
    kinds = {
        **{k: "integer" for k in ("seqNo", "numberOfPhasesUsed", "cableMaxCurrent")},
        "offline": "boolean",
        "timestamp": "string",
    }
    assert set(top) >= ocpp201_hot.TOP
    for key, kind in kinds.items():
        assert top[key]["type"] == kind
    assert set(SCHEMA["required"]) <= ocpp201_hot.TOP
    shapes = {
        "TransactionType": ocpp201_hot.TRANSACTION,
        "EVSEType": ocpp201_hot.EVSE,
        "MeterValueType": ocpp201_hot.METER_VALUE,
        "SampledValueType": ocpp201_hot.SAMPLED_VALUE,
        "UnitOfMeasureType": ocpp201_hot.UNIT,
    }
    for name, keys in shapes.items():
        assert keys <= set(DEFS[name]["properties"]), name
        assert set(DEFS[name].get("required", ())) <= keys, name
    assert DEFS["SampledValueType"]["properties"]["value"]["type"] == "number"
    assert DEFS["UnitOfMeasureType"]["properties"]["multiplier"]["type"] == "integer"


@pytest.mark.parametrize(
    ("unit", "value", "mwh"),
    [
        ({"unit": "kWh", "multiplier": 1.0}, 5, 50_000_000),  # 1.0: an integer to draft-06
        ({"unit": "Wh", "multiplier": 999_999}, 12.5, None),  # past Decimal: no register
        ({"unit": "Wh", "multiplier": 999_998}, 12.5, None),  # overflows once scaled
        ({"unit": "Wh", "multiplier": -3}, 1234.5, 1234),  # 1234.5 mWh, half-even
    ],
)
def test_a_multiplier_reads_without_an_exception(unit: Any, value: Any, mwh: int | None) -> None:
    mv = {"sampledValue": [{"value": value, "unitOfMeasure": unit}]}
    at = parse_timestamp("2026-11-01T08:00:00Z")
    assert ocpp201.reading(mv, at).energy_mwh == mwh


def bench_like() -> dict[str, Any]:
    """A periodic Updated as bench.ocpp201_hot_path sends it (two of the nine values)."""
    stamp = "2026-11-01T08:00:05Z"
    values = [
        {
            "context": "Sample.Periodic",
            "measurand": EAIR,
            "location": "Outlet",
            "value": 1050,
            "unitOfMeasure": {"unit": "Wh"},
        },
        {"context": "Sample.Periodic", "measurand": POWER, "value": 7.4, "unitOfMeasure": {}},
    ]
    return {
        "eventType": "Updated",
        "timestamp": stamp,
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 5,
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
        "meterValue": [{"timestamp": stamp, "sampledValue": values}],
    }


SV = ("meterValue", 0, "sampledValue", 0)
EDGES = [
    # (path, value, taken by the one-pass reader)
    (("transactionInfo", "transactionId"), "x" * 36, True),
    (("transactionInfo", "transactionId"), "x" * 37, False),
    ((*SV, "unitOfMeasure", "unit"), "x" * 20, True),
    ((*SV, "unitOfMeasure", "unit"), "x" * 21, False),
    ((*SV, "unitOfMeasure", "unit"), None, False),
    ((*SV, "unitOfMeasure", "multiplier"), 3, True),
    ((*SV, "unitOfMeasure", "multiplier"), 3.0, False),  # valid: the full check takes it
    ((*SV, "unitOfMeasure"), None, False),
    ((*SV, "value"), True, False),
    ((*SV, "value"), "1050", False),
    ((*SV, "value"), None, False),
    ((*SV, "context"), "Sample.Clock", True),
    ((*SV, "context"), "Sample.periodic", False),
    ((*SV, "context"), ["Sample.Periodic"], False),  # unhashable where an enum is
    ((*SV, "phase"), "L1-N", True),
    ((*SV, "phase"), None, False),
    ((*SV, "location"), "Cable", True),
    ((*SV, "customData"), {"vendorId": "acme"}, False),
    ((*SV, "signedMeterValue"), {}, False),
    (("meterValue", 0, "timestamp"), "2026-11-01T08:00:06+01:00", True),
    (("meterValue", 0, "timestamp"), "2026-02-30T08:00:06Z", False),
    (("meterValue", 0, "timestamp"), "2026-11-01T23:59:60Z", False),
    (("meterValue", 0, "sampledValue"), [], False),
    (("meterValue",), [], False),
    (("seqNo",), 2**31 - 1, True),
    (("seqNo",), 2**31, False),
    (("seqNo",), -(2**31), False),
    (("seqNo",), 5.0, False),
    (("timestamp",), "2026-11-01T08:00:05", False),
    (("triggerReason",), "Trigger", True),
    (("triggerReason",), None, False),
    (("eventType",), "Ended", False),
    (("offline",), True, True),
    (("offline",), None, False),
    (("evse",), {"id": 1, "connectorId": 1}, True),
    (("evse",), {"connectorId": 1}, False),
    (("evse",), None, False),
    (("idToken",), {"idToken": "T", "type": "ISO14443"}, False),
    (("customData",), {"vendorId": "acme"}, False),
    (("transactionInfo", "stoppedReason"), "Local", False),
]


@pytest.mark.parametrize(("path", "value", "taken"), EDGES)
def test_edges_of_the_shape(path: tuple[Any, ...], value: Any, taken: bool) -> None:
    p = bench_like()
    parent: Any = p
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    got = ocpp201_hot.updated_readings(p)
    assert (got is not None) is taken
    if taken:
        assert schema_accepts(p)
        assert got == ordinary_readings(p)


def test_the_bench_shape_reads_its_register_and_power() -> None:
    got = ocpp201_hot.updated_readings(bench_like())
    assert got is not None
    [(reading, values)] = got
    assert (reading.energy_mwh, reading.power_w, reading.context) == (
        1_050_000,
        7,  # 7.4 W, half-even to whole W
        "Sample.Periodic",
    )
    assert values == bench_like()["meterValue"][0]["sampledValue"]  # kept as sent
