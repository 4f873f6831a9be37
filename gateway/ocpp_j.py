"""OCPP-J framing (RPC over WebSocket): decode, encode, and the CallError vocabulary.

Our own framing instead of the `ocpp` library's on the hot path: orjson, no camelCase
conversion, no per-message regex, and an answer for every malformed frame.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MAX_FRAME = 64 * 1024  # larger frames are refused (CallError, or close when unreadable)
MAX_MESSAGE_ID = 36

# a message id can often be read from a frame that is not valid JSON
_ID_PREFIX = re.compile(rb'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


# CallError codes whose 2.0.1 spelling differs from 1.6's
CODES_201 = {
    "FormationViolation": "FormatViolation",
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
}


class OcppError(Exception):
    """Becomes a CallError (OCPP 1.6 error codes)."""

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.details = details or {}


class FrameError(Exception):
    """A frame that is not a valid RPC message. With a readable message id the sender gets a
    CallError; without one the connection is closed with `reason`."""

    def __init__(self, message_id: str | None, code: str, reason: str):
        super().__init__(reason)
        self.message_id = message_id
        self.code = code
        self.reason = reason


def _readable_id(raw: bytes) -> str | None:
    match = _ID_PREFIX.match(raw[:128])
    return match.group(1).decode("utf-8", "replace") if match else None


def decode(raw: bytes | str) -> list[Any]:
    """Parse one frame into [type, id, ...]; raise FrameError for anything else."""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_FRAME:
        raise FrameError(
            _readable_id(raw),
            "FormationViolation",
            f"frame of {len(raw)} bytes exceeds the {MAX_FRAME}-byte limit",
        )
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameError(
            _readable_id(raw), "FormationViolation", f"malformed JSON: {exc}"
        ) from None
    if not isinstance(msg, list) or len(msg) < 3:
        raise FrameError(
            None, "FormationViolation", "an OCPP-J frame is a JSON array [type, id, ...]"
        )
    kind, message_id = msg[0], msg[1]
    if not isinstance(message_id, str) or not message_id or len(message_id) > MAX_MESSAGE_ID:
        raise FrameError(
            None, "FormationViolation", "message id must be a string of 1-36 characters"
        )
    if kind == CALL:
        if len(msg) != 4 or not isinstance(msg[2], str) or not isinstance(msg[3], dict):
            raise FrameError(
                message_id, "FormationViolation", "a Call is [2, id, action, {payload}]"
            )
    elif kind == CALLRESULT:
        if len(msg) != 3 or not isinstance(msg[2], dict):
            raise FrameError(message_id, "FormationViolation", "a CallResult is [3, id, {payload}]")
    elif kind == CALLERROR:
        if len(msg) != 5 or not isinstance(msg[2], str):
            raise FrameError(
                message_id,
                "FormationViolation",
                "a CallError is [4, id, code, description, {details}]",
            )
    else:
        raise FrameError(
            message_id, "FormationViolation", f"unknown message type {kind!r}: expected 2, 3 or 4"
        )
    if b"\\u0000" in raw and _holds_nul(msg):  # the bytes first: the hot path pays one scan
        raise FrameError(
            message_id,
            "PropertyConstraintViolation",
            "text may not hold NUL characters (\\u0000): no store can keep them",
        )
    return msg


def _holds_nul(value: Any) -> bool:
    """A NUL in any string or key (PostgreSQL's text cannot hold one; OCPP's strings are
    printable)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def call(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([CALL, message_id, action, payload])


def call_result(message_id: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([CALLRESULT, message_id, payload])


def call_error(
    message_id: str, code: str, description: str, details: dict[str, Any] | None = None
) -> bytes:
    return orjson.dumps([CALLERROR, message_id, code, description[:255], details or {}])
