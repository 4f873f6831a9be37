"""Our compiled validators give the same verdicts as fastjsonschema on the OCPP schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.validators import (
    SchemaViolation,
    compile_acceptor,
    compile_exact,
)


def compile_validator(schema: dict[str, Any]) -> Any:
    """What gateway/schemas.py does with the two compiled functions: the acceptor answers
    valid payloads, the exact checks run only to say what is wrong (None or SchemaViolation)."""
    accept, exact = compile_acceptor(schema), compile_exact(schema)

    def validate(data: Any) -> None:
        if not accept(data):
            exact(data)

    return validate


def schema_names(version: str) -> list[str]:
    folder = resources.files("ocpp").joinpath(version, "schemas")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load(version: str, name: str) -> dict[str, Any]:
    text = resources.files("ocpp").joinpath(version, "schemas", f"{name}.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.isoformat().replace("+00:00", "Z"))
anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | timestamps,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)


def valid(root: dict[str, Any], node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Instances the schema accepts (so that mutations below hit one rule at a time)."""
    node = resolve(root, node)
    kind = node.get("type")
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if kind == "string":
        if node.get("format") == "date-time":
            return timestamps
        return st.text(max_size=node.get("maxLength", 30))
    if kind == "integer":
        return st.integers(-10, 10**6)
    if kind == "number":
        return st.integers(0, 100) | st.sampled_from([0.1, 6.5, 16.0, 32.2, 11.04])
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = node.get("items", {})
        return st.lists(
            valid(root, items, depth + 1) if depth < 4 else st.just({}),
            min_size=node.get("minItems", 0),
            max_size=min(3, node.get("maxItems", 3)),
        )
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", []))
        if depth >= 5:
            return st.just({})
        return st.fixed_dictionaries(
            {k: valid(root, v, depth + 1) for k, v in props.items() if k in required},
            optional={k: valid(root, v, depth + 1) for k, v in props.items() if k not in required},
        )
    return anything


def nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += nodes(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            found += nodes(sub, (*path, i))
    return found


# one character over each maxLength the OCPP schemas use: boundaries are where bugs hide
TOO_LONG = ["x" * (n + 1) for n in (8, 20, 25, 36, 50, 255, 500)]
WRONG = st.one_of(
    anything,
    st.sampled_from(TOO_LONG),
    st.sampled_from(
        [
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "yesterday",
            "x" * 600,
            "2026-10-01 12:00:00",
            "2026-10-01T12:00:00",
            "charging",
            "",
            1.5,
            True,
            -1,
        ]
    ),
)


@st.composite
def instances(draw: st.DrawFn, root: dict[str, Any]) -> Any:
    """A valid payload, then (mostly) one mutation: a wrong value, a dropped or extra key."""
    payload = draw(valid(root, root))
    mutation = draw(st.sampled_from(["none", "replace", "replace", "drop", "extra"]))
    if mutation == "none":
        return payload
    path = draw(st.sampled_from(nodes(payload)))
    if not path:
        return draw(WRONG) if mutation == "replace" else payload
    parent: Any = payload
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if mutation == "replace":
        parent[last] = draw(WRONG)
    elif mutation == "drop" and isinstance(parent, dict):
        del parent[last]
    elif mutation == "extra" and isinstance(parent, dict):
        parent["unexpectedField"] = 1
    return payload


def verdict(validate: Any, payload: Any, errors: tuple[type[Exception], ...]) -> bool:
    try:
        validate(payload)
    except errors:
        return False
    return True


@pytest.mark.parametrize("version", ["v16", "v201"])
def test_every_schema_compiles(version: str) -> None:
    for name in schema_names(version):
        compile_validator(load(version, name))


def _differential(version: str, name: str) -> None:
    root = load(version, name)
    ours = compile_validator(root)
    accept, exact = compile_acceptor(root), compile_exact(root)
    reference = fastjsonschema.compile(root, use_default=False)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(instances(root))
    def check(payload: Any) -> None:
        expected = verdict(reference, payload, (fastjsonschema.JsonSchemaValueException,))
        assert verdict(ours, payload, (SchemaViolation,)) == expected, payload
        # each half alone agrees too: the acceptor is not merely cautious, nor too kind
        assert verdict(exact, payload, (SchemaViolation,)) == expected, payload
        assert accept(payload) is expected, payload

    check()


HOT_16 = [
    "BootNotification",
    "StatusNotification",
    "Authorize",
    "StartTransaction",
    "MeterValues",
    "StopTransaction",
    "DataTransfer",
    "Heartbeat",
    "RemoteStartTransaction",
    "SetChargingProfile",
    "GetConfigurationResponse",
    "TriggerMessage",
    "GetCompositeScheduleResponse",
    "ChangeAvailability",
    "Reset",
]


@pytest.mark.parametrize("name", HOT_16)
def test_same_verdicts_v16(name: str) -> None:
    _differential("v16", name)


@pytest.mark.parametrize(
    "name",
    [
        "BootNotificationRequest",
        "TransactionEventRequest",
        "MeterValuesRequest",
        "StatusNotificationRequest",
        "SetChargingProfileRequest",
    ],
)
def test_same_verdicts_v201(name: str) -> None:
    _differential("v201", name)
