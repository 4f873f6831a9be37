"""Hypothesis strategies for requests built from the API's own OpenAPI document.

A small stand-in for schemathesis (not a dependency here): for each operation, path and
query parameters and JSON bodies are drawn from their JSON schemas, mixed with values that
break those schemas and with ids that exist, so requests reach the handlers' code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# strings that break storage or routing when they slip through
ODD = st.sampled_from(["", "\x00", "x\x00y", "%00", "a/b", " ", "ø€", "9" * 70, "\u2028"])
KNOWN: dict[str, list[Any]] = {
    "site_id": ["S1", "S2", "NOPE"],
    "charger_id": ["CP1", "CP2", "NOPASS", "NOPE"],
    "id_tag": ["TAG1", "TAG2", "SUSP"],
    "currency": ["NOK", "EUR"],
    "email": ["ola@example.no"],
    "tz": ["Europe/Oslo", "UTC"],
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None

    def __repr__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(spec: dict[str, Any]) -> list[Operation]:
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            out.append(
                Operation(
                    method,
                    path,
                    tuple(op.get("parameters", ())),
                    content["schema"] if content else None,
                )
            )
    return out


class Schemas:
    def __init__(self, spec: dict[str, Any], seeded: dict[str, Any]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})
        self.seeded = seeded

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(
        self, schema: dict[str, Any], name: str = "", depth: int = 0
    ) -> st.SearchStrategy[Any]:
        """Mostly values the schema allows (and ids that exist), sometimes anything at all."""
        good = self._valid(self.resolve(schema), name, depth)
        if name in KNOWN:
            known = st.sampled_from(KNOWN[name])
            # known values, and known values with a few odd characters at the end (NUL...)
            odd = st.tuples(known, ODD | st.text(max_size=2)).map("".join)
            good = st.one_of(known, known, known, odd, odd, good)
        return st.one_of(good, good, good, good, good, JSON) if depth < 3 else good

    def _valid(self, schema: dict[str, Any], name: str, depth: int) -> st.SearchStrategy[Any]:
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of([self.value(s, name, depth + 1) for s in schema[key]])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        if "const" in schema:
            return st.just(schema["const"])
        kind = schema.get("type")
        if kind == "string":
            if "pattern" in schema:
                return st.from_regex(schema["pattern"], fullmatch=True) | ODD | st.text(max_size=12)
            if schema.get("format") == "date-time":
                return st.datetimes(timezones=st.none() | st.timezones()).map(
                    lambda d: d.isoformat()
                )
            fitting = st.text(
                min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30)
            )
            return fitting | fitting | ODD | st.text(max_size=300)
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            if name.endswith("_id") or name == "id":  # mostly ids that exist
                return st.one_of(*[st.integers(1, 8)] * 4, st.integers(low, high), st.integers())
            return st.integers(low, high) | st.integers()
        if kind == "number":
            return (
                st.integers()
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str)
            )
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "array":
            return st.lists(self.value(schema.get("items", {}), name, depth + 1), max_size=3)
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            required = set(schema.get("required", ()))
            return st.fixed_dictionaries(
                {k: self.value(v, k, depth + 1) for k, v in props.items() if k in required},
                optional={
                    k: self.value(v, k, depth + 1) for k, v in props.items() if k not in required
                },
            )
        return JSON


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    query: dict[str, str]
    body: Any
    send_body: bool


def requests(op: Operation, schemas: Schemas) -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        url, query = op.path, {}
        for param in op.parameters:
            name = param["name"]
            if name == "token" and param["in"] == "path":
                value = draw(
                    st.sampled_from([schemas.seeded["invitation"], "inv_x"])
                    | st.text(min_size=1, max_size=40)
                )
            elif name == "token_id":
                value = draw(st.integers(6, 2**63))  # keep the fixture's own tokens alive
            elif param["in"] == "path" and name in KNOWN and draw(st.integers(0, 4)):
                value = draw(st.sampled_from(KNOWN[name][:2]))  # mostly reach the handler
            else:
                value = draw(schemas.value(param.get("schema", {}), name))
            if param["in"] == "path":
                url = url.replace("{" + name + "}", quote(str(value), safe="") or "x")
            elif param["in"] == "query" and (param.get("required") or draw(st.booleans())):
                query[name] = str(value) if not isinstance(value, bool) else str(value).lower()
        body = draw(schemas.value(op.body)) if op.body is not None else None
        return Request(op.method.upper(), url, query, body, op.body is not None)

    return build()
