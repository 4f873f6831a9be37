"""Validators compiled from the `ocpp` library's own JSON schemas, and CallError codes.

gateway.validators turns each schema into straight-line Python once; verdicts are those of
a draft-04 validator and map to OCPP 1.6 CallError codes the way the library maps them.
A lenient mode repairs the usual quirks (numbers as strings, enum case) and says what it did.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from gateway.ocpp_j import OcppError
from gateway.validators import (
    SchemaViolation,
    compile_acceptor,
    compile_exact,
)

Validator = Callable[[Any], Any]

_CODES = {
    "type": "TypeConstraintViolation",
    "required": "ProtocolError",
    "additionalProperties": "FormationViolation",
    "maxLength": "TypeConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
}
# OCPP 2.0.1 spells two of them anew (OCPP-J 2.0.1, section 4.3)
_CODES_201 = {
    **_CODES,
    "additionalProperties": "FormatViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
}
_CODES_OF = {"v16": _CODES, "v201": _CODES_201}


def request_name(version: str, action: str) -> str:
    """The schema of an action's request: 'Reset' in 1.6, 'ResetRequest' in 2.0.1."""
    return f"{action}Request" if version == "v201" else action


def response_name(version: str, action: str) -> str:
    return f"{action}Response"


@cache
def schema(version: str, name: str) -> dict[str, Any] | None:
    """The library's schema `name` (e.g. 'MeterValues', 'MeterValuesResponse'), or None."""
    try:
        text = (
            resources.files("ocpp").joinpath(version, "schemas", f"{name}.json").read_text("utf-8")
        )
    except (FileNotFoundError, OSError):
        return None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _checks(version: str, name: str) -> tuple[Callable[[Any], bool], Validator] | None:
    """(yes/no acceptor, exact validator): the second runs only for what the first refuses."""
    sch = schema(version, name)
    if sch is None:
        return None
    return compile_acceptor(sch), compile_exact(sch)


def check(version: str, name: str, payload: dict[str, Any]) -> None:
    """Raise OcppError with the CallError code for a payload the schema refuses."""
    checks = _checks(version, name)
    if checks is None:
        raise OcppError("NotImplemented", f"no schema for {name} in OCPP {version}")
    accept, exact = checks
    if accept(payload):
        return
    try:
        exact(payload)
    except SchemaViolation as exc:
        code = _CODES_OF.get(version, _CODES).get(exc.rule, "PropertyConstraintViolation")
        path = exc.path.replace("data", name, 1)
        message = exc.message.replace("data", name, 1)
        raise OcppError(code, message, {"path": path}) from None


def repair(version: str, name: str, payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Lenient mode: coerce a quirky payload towards its schema; returns (payload, fixes)."""
    sch = schema(version, name)
    fixes: list[str] = []
    if sch is None:
        return payload, fixes
    fixed = _repair(copy.deepcopy(payload), sch, name, fixes)
    return fixed, fixes


def _repair(value: Any, sch: dict[str, Any], path: str, fixes: list[str]) -> Any:
    kind = sch.get("type")
    if "enum" in sch and isinstance(value, str) and value not in sch["enum"]:
        for option in sch["enum"]:
            if _loose(option) == _loose(value):
                fixes.append(f"{path}: {value!r} -> {option!r}")
                return option
    if kind == "object" and isinstance(value, dict):
        props = sch.get("properties", {})
        for key in list(value):
            if key in props:
                value[key] = _repair(value[key], props[key], f"{path}.{key}", fixes)
            elif sch.get("additionalProperties") is False:
                fixes.append(f"{path}.{key}: unknown field dropped")
                del value[key]
        return value
    if kind == "array" and isinstance(value, list):
        items = sch.get("items", {})
        return [_repair(v, items, f"{path}[{i}]", fixes) for i, v in enumerate(value)]
    if kind == "integer" and isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                return value
            if not as_float.is_integer():
                return value
            number = int(as_float)
        fixes.append(f"{path}: string {value!r} -> integer")
        return number
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        fixes.append(f"{path}: {value!r} -> integer")
        return int(value)
    if kind == "number" and isinstance(value, str):
        try:
            number_f = float(value)
        except ValueError:
            return value
        fixes.append(f"{path}: string {value!r} -> number")
        return number_f
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        fixes.append(f"{path}: number {value!r} -> string")
        return str(value)
    return value


def _loose(text: str) -> str:
    """Enum spelling without case, dots, dashes, underscores or spaces."""
    return "".join(c for c in text.lower() if c.isalnum())
