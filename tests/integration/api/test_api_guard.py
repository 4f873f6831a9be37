"""The API's door: no body is read for a caller without a valid token, and none past the limit."""

from __future__ import annotations

from typing import Any

import orjson

from config.api import create_app
from tests.integration.api.conftest import Api


async def _asgi(
    app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """Call the app as a server would; (status, JSON body, how many body chunks it took)."""
    taken = 0

    async def receive() -> dict[str, Any]:
        nonlocal taken
        if taken < len(chunks):
            taken += 1
            return {
                "type": "http.request",
                "body": chunks[taken - 1],
                "more_body": taken < len(chunks),
            }
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("evgate", 80),
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, orjson.loads(body) if body else {}, taken


SIMPLE = orjson.dumps(
    {"name": "kWh", "text": "2.50 per kWh", "currency": "NOK", "vat_percent": "25", "site_id": "S1"}
)


async def test_no_token_no_body_read(api: Api) -> None:
    app = create_app(api.env.engine, max_body=1000)
    big = [b"9" * 65536] * 800  # 50 MB, announced
    headers = {"content-type": "application/json", "content-length": str(65536 * 800)}
    status, body, taken = await _asgi(app, "POST", "/api/v1/tariffs/simple", headers, big)
    assert status == 401 and taken == 0 and "token" in body["detail"]
    wrong = {**headers, "authorization": "Bearer evg_not-a-token"}
    status, _, taken = await _asgi(app, "POST", "/api/v1/tariffs/simple", wrong, big)
    assert status == 401 and taken == 0


async def test_bodies_past_the_limit_are_413_announced_or_chunked(api: Api) -> None:
    app = create_app(api.env.engine, max_body=1000)
    token = {"authorization": f"Bearer {api.tokens['super']}", "content-type": "application/json"}
    announced = {**token, "content-length": "5000"}
    status, body, taken = await _asgi(
        app, "POST", "/api/v1/tariffs/simple", announced, [b"x" * 5000]
    )
    assert status == 413 and taken == 0 and "1000 bytes" in body["detail"]
    chunked = [b"x" * 400] * 10  # no Content-Length: cut once past the limit
    status, _, taken = await _asgi(app, "POST", "/api/v1/tariffs/simple", token, chunked)
    assert status == 413 and taken == 3
    # within the limit, the route runs as ever, with the token the guard already found
    status, body, _ = await _asgi(
        app,
        "POST",
        "/api/v1/tariffs/simple",
        {**token, "content-length": str(len(SIMPLE))},
        [SIMPLE],
    )
    assert status == 201, body


async def test_public_routes_need_no_token(api: Api) -> None:
    app = create_app(api.env.engine, max_body=1000)
    status, body, _ = await _asgi(
        app, "GET", f"/api/v1/invitations/{api.seeded['invitation']}", {}, []
    )
    assert status == 200 and body["accepted"] is False
    status, _, _ = await _asgi(app, "GET", "/healthz", {}, [])
    assert status == 200


def test_the_public_list_is_the_routes_that_take_no_token() -> None:
    """The guard knows public routes by path; OpenAPI knows them by their missing security."""
    from config.api.guard import API, PUBLIC
    from store.db import create_engine

    spec = create_app(create_engine("sqlite+aiosqlite:///:memory:")).openapi()
    open_routes = {
        path
        for path, operations in spec["paths"].items()
        for op in operations.values()
        if path.startswith(API) and not op.get("security")
    }
    assert open_routes and all(p.startswith(PUBLIC) for p in open_routes), open_routes
    assert all(any(p.startswith(prefix) for p in open_routes) for prefix in PUBLIC)
