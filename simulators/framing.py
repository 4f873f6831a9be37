"""OCPP-J framing (RPC over WebSocket) without the `ocpp` library's validation layer.

[2, id, action, payload] is a Call, [3, id, payload] a CallResult, [4, id, code, text, details]
a CallError. This is all a charger needs; skipping schema validation and camelCase conversion
keeps a message at a few microseconds so the load generator is never the bottleneck.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

import orjson

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4


class FrameError(ValueError):
    """Not an OCPP-J frame."""


@dataclass(frozen=True, slots=True)
class Call:
    uid: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    uid: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    uid: str
    code: str
    description: str
    details: dict[str, Any]


Frame = Call | CallResult | CallError


class CallErrorReply(Exception):
    """Raised by a handler to answer with a CallError, or by call() when one came back."""

    def __init__(self, code: str, description: str = "", details: dict[str, Any] | None = None):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}


def encode_call(uid: str, action: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([CALL, uid, action, payload])


def encode_result(uid: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([CALL_RESULT, uid, payload])


def encode_error(
    uid: str, code: str, description: str = "", details: dict[str, Any] | None = None
) -> bytes:
    return orjson.dumps([CALL_ERROR, uid, code, description, details or {}])


def decode(data: str | bytes) -> Frame:
    """Parse one frame; FrameError when it is not OCPP-J."""
    try:
        msg = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"not JSON: {exc}") from None
    if not isinstance(msg, list) or len(msg) < 3 or not isinstance(msg[1], str):
        raise FrameError("not an OCPP-J array")
    kind = msg[0]
    if kind == CALL and len(msg) == 4 and isinstance(msg[2], str) and isinstance(msg[3], dict):
        return Call(msg[1], msg[2], msg[3])
    if kind == CALL_RESULT and len(msg) == 3 and isinstance(msg[2], dict):
        return CallResult(msg[1], msg[2])
    if kind == CALL_ERROR and len(msg) >= 4:
        details = msg[4] if len(msg) > 4 and isinstance(msg[4], dict) else {}
        return CallError(msg[1], str(msg[2]), str(msg[3]), details)
    raise FrameError(f"unknown message type {kind!r}")


class UidSource:
    """Unique message ids: a random per-process prefix and a counter (cheap, <= 36 chars)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(4).hex()
        self._count = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}-{next(self._count)}"
