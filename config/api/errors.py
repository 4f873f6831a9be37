"""The one mapping of errors to HTTP: ``{"detail": "<one sentence>"}`` (``field`` on a 422).

Kinds, not classes (store.errors): Invalid 422, NotFound 404, Conflict 409, Gone 410,
Forbidden 403; whichever room raised them. Two types from outside the vocabulary are mapped
here too: the pure tariff engine's TariffError (422 naming the field) and the gateway's
CommandError (by what went wrong on the charger's socket).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from gateway.connection import CommandError
from store.errors import Conflict, EvgateError, Forbidden, Gone, Invalid, NotFound
from tariffs import TariffError

# most specific first: Gone is a Conflict
STATUS: tuple[tuple[type[EvgateError], int], ...] = (
    (Invalid, 422),
    (NotFound, 404),
    (Gone, 410),
    (Conflict, 409),
    (Forbidden, 403),
)
# a remote command that got no positive answer, by CommandError.kind
COMMAND_STATUS = {"offline": 409, "lost": 502, "timeout": 504, "rejected": 502, "invalid": 422}
# ... and the machine-readable ``error`` of its body
COMMAND_ERROR = {
    "offline": "not_connected",
    "lost": "connection_lost",
    "timeout": "timeout",
    "rejected": "call_error",
    "invalid": "invalid",
}


def status_of(exc: Exception) -> int:
    """The HTTP status of a user error (422 for any other kind)."""
    if isinstance(exc, TariffError):
        return 422
    if isinstance(exc, CommandError):
        return COMMAND_STATUS.get(exc.kind, 502)
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 422


def http_exception(exc: Exception) -> HTTPException:
    """The same mapping as an HTTPException, for a handler that must raise one."""
    return HTTPException(status_of(exc), str(exc))


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error(status: int, detail: str, field: str | None = None, **extra: str | None) -> JSONResponse:
    body: dict[str, str] = {"detail": detail}
    if field:
        body["field"] = field
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if not errors:
        return _error(422, "the request is not valid")
    first = errors[0]
    field = _field(first.get("loc", ()))
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return _error(422, f"{field}: {message}{more}", field)


async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, CommandError):
        error = COMMAND_ERROR.get(exc.kind, exc.kind)
        return _error(status_of(exc), str(exc), error=error, code=exc.code)
    # a TariffError's path, or the field a store.errors kind names (billing.parties)
    field = exc.path or None if isinstance(exc, TariffError) else getattr(exc, "field", None)
    return _error(status_of(exc), str(exc), field)


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    return _error(409, "the change conflicts with data stored meanwhile; read it again and retry")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_invalid)
    for kind in (EvgateError, TariffError, CommandError):
        app.add_exception_handler(kind, _user_error)
    app.add_exception_handler(IntegrityError, _integrity)
