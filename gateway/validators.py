"""A JSON-schema compiler for the OCPP schemas: straight-line Python per action.

The OCPP 1.6 and 2.0.1 schemas use a small subset of draft-04 (type, properties, required,
additionalProperties, enum, maxLength, items, min/maxItems, minimum/maximum, multipleOf,
format date-time/uri, local $ref). A generic validator pays for generality on every message
(fastjsonschema makes ~450 isinstance calls per MeterValues); this one emits exact-type checks
inline, builds error paths only when something is wrong, and gives the same verdicts
(tests/unit/gateway/test_validators_differential.py checks that against fastjsonschema).
Each schema compiles twice: a yes/no acceptor that every valid payload passes through
cheaply, and the exact validator that runs only to say what a refused payload got wrong.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt](?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):?[0-5]\d)"
)
_URI = re.compile(r"\w+:/?/?\S+")


class SchemaViolation(Exception):
    def __init__(self, rule: str, path: str, message: str) -> None:
        super().__init__(f"{path} {message}")
        self.rule = rule
        self.path = path
        self.message = f"{path} {message}"


def _fail(rule: str, path: str, message: str) -> None:
    raise SchemaViolation(rule, path, message)


def date_time(value: str) -> bool:
    """The schemas' format date-time: RFC 3339 with a real calendar date."""
    if _DATE_TIME.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _multiple_of(value: int | float, step: int | float) -> bool:
    if isinstance(value, int) and isinstance(step, int):
        return value % step == 0
    quotient = Decimal(repr(value)) / Decimal(repr(step))
    return int(quotient) == quotient


_TYPE_TESTS = {
    "object": "type({v}) is not dict",
    "array": "type({v}) is not list",
    "string": "type({v}) is not str",
    "integer": "type({v}) is not int",
    "number": "type({v}) is not int and type({v}) is not float",
    "boolean": "type({v}) is not bool",
    "null": "{v} is not None",
}


# draft-06 and later count 1.0 as an integer; draft-04 does not
_INTEGER_06 = "type({v}) is not int and not (type({v}) is float and {v}.is_integer())"


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.types = dict(_TYPE_TESTS)
        if "draft-04" not in root.get("$schema", "draft-04"):
            self.types["integer"] = _INTEGER_06
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.depth = 0

    def const(self, value: Any) -> str:
        name = f"K{len(self.consts)}"
        self.consts[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref is supported, not {ref!r}")
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def node(self, schema: dict[str, Any], v: str, path: str, indent: int) -> None:
        """Emit checks of value expression `v`; `path` is an f-string body for errors."""
        schema = self.resolve(schema)
        kind = schema.get("type")
        if isinstance(kind, list):
            tests = " and ".join(f"({self.types[k].format(v=v)})" for k in kind)
            self.emit(indent, f"if {tests}:")
            self.emit(indent + 1, f"fail('type', f'{path}', 'must be {' or '.join(kind)}')")
        elif kind is not None:
            self.emit(indent, f"if {self.types[kind].format(v=v)}:")
            self.emit(indent + 1, f"fail('type', f'{path}', 'must be {kind}')")
        if "enum" in schema:
            options = schema["enum"]
            self.emit(indent, f"if {v} not in {self.const(frozenset(options))}:")
            self.emit(
                indent + 1, f"fail('enum', f'{path}', {repr('must be one of ' + repr(options))})"
            )
        if "maxLength" in schema:
            n = schema["maxLength"]
            self.emit(indent, f"if type({v}) is str and len({v}) > {n}:")
            self.emit(
                indent + 1,
                f"fail('maxLength', f'{path}', 'must be shorter than or equal to {n} characters')",
            )
        fmt = schema.get("format")
        if fmt in ("date-time", "uri"):
            test = "date_time" if fmt == "date-time" else "URI.fullmatch"
            self.emit(indent, f"if type({v}) is str and not {test}({v}):")
            self.emit(indent + 1, f"fail('format', f'{path}', 'must be {fmt}')")
        numeric = f"(type({v}) is int or type({v}) is float)"
        for rule, op, words in (("minimum", "<", "bigger"), ("maximum", ">", "smaller")):
            if rule in schema:
                limit = schema[rule]
                self.emit(indent, f"if {numeric} and {v} {op} {limit!r}:")
                message = f"must be {words} than or equal to {limit}"
                self.emit(indent + 1, f"fail('{rule}', f'{path}', '{message}')")
        if "multipleOf" in schema:
            step = schema["multipleOf"]
            self.emit(indent, f"if {numeric} and not multiple_of({v}, {step!r}):")
            self.emit(indent + 1, f"fail('multipleOf', f'{path}', 'must be multiple of {step}')")
        if kind == "array" or "items" in schema:
            self.array(schema, v, path, indent)
        if kind == "object" or "properties" in schema or "required" in schema:
            self.object(schema, v, path, indent)

    def array(self, schema: dict[str, Any], v: str, path: str, indent: int) -> None:
        inner = indent
        if schema.get("type") != "array":
            self.emit(indent, f"if type({v}) is list:")
            inner = indent + 1
        if "minItems" in schema:
            n = schema["minItems"]
            self.emit(inner, f"if len({v}) < {n}:")
            self.emit(inner + 1, f"fail('minItems', f'{path}', 'must contain at least {n} items')")
        if "maxItems" in schema:
            n = schema["maxItems"]
            self.emit(inner, f"if len({v}) > {n}:")
            self.emit(
                inner + 1,
                f"fail('maxItems', f'{path}', 'must contain less than or equal to {n} items')",
            )
        items = schema.get("items")
        if isinstance(items, dict) and items:
            self.depth += 1
            i, x = f"i{self.depth}", f"x{self.depth}"
            self.emit(inner, f"for {i}, {x} in enumerate({v}):")
            self.node(items, x, f"{path}[{{{i}}}]", inner + 1)
            self.depth -= 1

    def object(self, schema: dict[str, Any], v: str, path: str, indent: int) -> None:
        inner = indent
        if schema.get("type") != "object":
            self.emit(indent, f"if type({v}) is dict:")
            inner = indent + 1
        required = schema.get("required") or []
        if required:
            self.emit(inner, f"for key in {self.const(tuple(required))}:")
            self.emit(inner + 1, f"if key not in {v}:")
            message = repr(f"must contain {required!r} properties")
            self.emit(inner + 2, f"fail('required', f'{path}', {message})")
        props: dict[str, Any] = schema.get("properties") or {}
        for name, sub in props.items():
            self.depth += 1
            x = f"p{self.depth}"
            self.emit(inner, f"{x} = {v}.get({name!r}, MISSING)")
            self.emit(inner, f"if {x} is not MISSING:")
            before = len(self.lines)
            self.node(sub, x, f"{path}.{name}", inner + 1)
            if len(self.lines) == before:
                self.emit(inner + 1, "pass")
            self.depth -= 1
        if schema.get("additionalProperties") is False:
            allowed = self.const(frozenset(props))
            self.emit(inner, f"if not {v}.keys() <= {allowed}:")
            self.emit(inner + 1, f"extra = sorted(set({v}) - {allowed})")
            message = "f'must not contain {extra} properties'"
            self.emit(inner + 1, f"fail('additionalProperties', f'{path}', {message})")


_FOR_INDEX = re.compile(r"for (i\d+), (x\d+) in enumerate\((.+)\):$")
_SIMPLE_TYPES = {"string": ("str", "''"), "boolean": ("bool", "False")}
_WORDS = frozenset({"description", "title", "$comment", "javaType", "tsEnumNames", "default"})


class _Acceptor(_Compiler):
    """The same checks as a yes/no answer, for the path every valid payload takes.

    A failed check returns False instead of building its message; a property that is only
    a type or a string enum is one `get` and one test (MISSING sits in the enum's set);
    an unhashable value where an enum is expected ends as False through TypeError. The
    exact validator then runs only for payloads that are refused.
    """

    def __init__(self, root: dict[str, Any]) -> None:
        super().__init__(root)
        self.draft04 = "draft-04" in root.get("$schema", "draft-04")

    def emit(self, indent: int, line: str) -> None:
        if line.startswith("fail("):
            line = "return False"
        elif line.startswith("extra = "):
            return
        else:
            loop = _FOR_INDEX.match(line)
            if loop is not None:  # the index only ever served error paths
                line = f"for {loop.group(2)} in {loop.group(3)}:"
        super().emit(indent, line)

    def object(self, schema: dict[str, Any], v: str, path: str, indent: int) -> None:
        if schema.get("type") != "object":
            super().object(schema, v, path, indent)
            return
        required = schema.get("required") or []
        if required:
            self.emit(indent, "if " + " or ".join(f"{k!r} not in {v}" for k in required) + ":")
            self.emit(indent + 1, "return False")
        props: dict[str, Any] = schema.get("properties") or {}
        for name, sub in props.items():
            test = self.simple(self.resolve(sub), f"{v}.get({name!r}, MISSING)", name, v)
            if test is not None:
                self.emit(indent, f"if {test}:")
                self.emit(indent + 1, "return False")
                continue
            self.depth += 1
            x = f"p{self.depth}"
            self.emit(indent, f"{x} = {v}.get({name!r}, MISSING)")
            self.emit(indent, f"if {x} is not MISSING:")
            before = len(self.lines)
            self.node(sub, x, path, indent + 1)
            if len(self.lines) == before:
                self.emit(indent + 1, "pass")
            self.depth -= 1
        if schema.get("additionalProperties") is False:
            self.emit(indent, f"if not {v}.keys() <= {self.const(frozenset(props))}:")
            self.emit(indent + 1, "return False")

    def simple(self, sub: dict[str, Any], got: str, name: str, v: str) -> str | None:
        """A one-line refusal test for a property that is just a type or a string enum."""
        # additionalProperties only ever constrains objects, and these are not objects
        if not set(sub) <= {"type", "enum", "additionalProperties"} | _WORDS:
            return None
        kind, options = sub.get("type"), sub.get("enum")
        if kind == "string" and options is not None and all(type(o) is str for o in options):
            return f"{got} not in {self.const(frozenset(options) | {_MISSING})}"
        if options is None and kind in _SIMPLE_TYPES:
            py, default = _SIMPLE_TYPES[kind]
            return f"type({v}.get({name!r}, {default})) is not {py}"
        if options is None and kind == "integer" and self.draft04:
            return f"type({v}.get({name!r}, 0)) is not int"
        return None


_MISSING = object()


def _namespace(consts: dict[str, Any]) -> dict[str, Any]:
    return {
        "fail": _fail,
        "MISSING": _MISSING,
        "date_time": date_time,
        "URI": _URI,
        "multiple_of": _multiple_of,
        **consts,
    }


def compile_acceptor(schema: dict[str, Any]) -> Any:
    """A function that says True for a payload the schema accepts, False otherwise."""
    compiler = _Acceptor(schema)
    compiler.node(schema, "data", "data", 2)
    source = (
        "def accept(data):\n    try:\n"
        + "\n".join(compiler.lines or ["        pass"])
        + "\n    except TypeError:\n        return False\n    return True\n"
    )
    namespace = _namespace(compiler.consts)
    exec(compile(source, "<ocpp-schema-accept>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace["accept"]


def compile_exact(schema: dict[str, Any]) -> Any:
    """A function that returns None for a valid payload and raises SchemaViolation otherwise."""
    compiler = _Compiler(schema)
    compiler.node(schema, "data", "data", 1)
    source = (
        "def validate(data):\n" + "\n".join(compiler.lines or ["    pass"]) + "\n    return None\n"
    )
    namespace = _namespace(compiler.consts)
    exec(compile(source, "<ocpp-schema>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace["validate"]
