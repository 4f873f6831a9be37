"""The door of the config API: bodies bounded and tokens checked before a body is read.

An unauthenticated caller must not make the server read and parse megabytes: a route that
needs a bearer token answers 401 before one byte of the body is taken, and no route reads
more than ``max_body`` bytes (413 at once when Content-Length says more, or as soon as a
chunked body goes past it). The token found is handed on to the route's own check, so it is
looked up once. The one exception is a charger's diagnostics upload (``UPLOADS``): it carries
no bearer token (its path holds the request's own), and its route takes the body in chunks
against the diagnostics limit, looking the path's token up before reading any of it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from store import api_tokens

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY = 1024 * 1024  # a tariff, a CSV of a few thousand chargers: far below this
TOKEN_STATE = "evgate_token"  # scope["state"] key: the token row the guard found
API = "/api/v1/"
# the routes anyone may call: an invitation's holder, and Stripe (which signs its events);
# tests/integration/api/test_api_guard.py holds this list equal to the routes without a token
PUBLIC = ("/api/v1/invitations/", "/api/v1/stripe/webhook", "/api/v1/stripe/card-setup/return")
# a charger's diagnostics upload: its token is in the path, and the route streams the body
# against its own, larger limit (config/api/routers/firmware.py)
UPLOADS = "/upload/diagnostics/"


class RequestGuard:
    def __init__(self, app: ASGIApp, api: FastAPI, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app, self.api, self.max_body = app, api, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(UPLOADS):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self._needs_token(scope):
            row = await self._token(headers.get(b"authorization", b""))
            if row is None:
                await _answer(
                    send,
                    401,
                    "send a valid API token as 'Authorization: Bearer <token>' "
                    "(evgate admin create-token)",
                    {"www-authenticate": "Bearer"},
                )
                return
            scope.setdefault("state", {})[TOKEN_STATE] = row
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _answer(send, 400, "Content-Length must be a number of bytes")
                return
            if int(length) > self.max_body:
                await _answer(send, 413, self._too_large())
                return
        body, more = b"", scope["method"] not in ("GET", "HEAD", "OPTIONS")
        while more:  # at most max_body bytes are taken, whatever the framing
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.max_body:
                await _answer(send, 413, self._too_large())
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body} bytes"

    @staticmethod
    def _needs_token(scope: Scope) -> bool:
        path: str = scope["path"]
        return path.startswith(API) and not path.startswith(PUBLIC)

    async def _token(self, header: bytes) -> dict[str, Any] | None:
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        async with self.api.state.evgate.engine.connect() as conn:
            return await api_tokens.find_token(conn, token.strip())


async def _answer(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
