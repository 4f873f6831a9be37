"""Error bodies people can read: ``{"detail": "<one sentence>"}`` (plus ``field`` on a 422)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from gateway.auth import PasswordError
from store.admin import Conflict, NotFound, ValidationError
from store.subscribers import InvitationExpired
from tariffs import TariffError


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error(status: int, detail: str, field: str | None = None) -> JSONResponse:
    body: dict[str, str] = {"detail": detail}
    if field:
        body["field"] = field
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


async def _tariff_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TariffError)
    return _error(422, str(exc), exc.path or None)


def _simple(status: int) -> Any:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return _error(status, str(exc))

    return handler


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    return _error(409, "the change conflicts with data stored meanwhile; read it again and retry")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(TariffError, _tariff_invalid)
    app.add_exception_handler(ValidationError, _simple(422))
    app.add_exception_handler(PasswordError, _simple(422))
    app.add_exception_handler(NotFound, _simple(404))
    # InvitationExpired is a Conflict: the more specific handler wins (MRO lookup)
    app.add_exception_handler(InvitationExpired, _simple(410))
    app.add_exception_handler(Conflict, _simple(409))
    app.add_exception_handler(IntegrityError, _integrity)
