"""A property-based run over the OpenAPI document: no generated request gets a 5xx.

Every operation of /openapi.json is called with parameters and bodies drawn from its own
schemas (valid, nearly valid and junk), mostly as super-admin so the handlers run, on a
seeded database, on SQLite and on PostgreSQL. A 5xx is a bug: bad input must be a 4xx.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from config.api import create_app
from gateway.connection import ConnectionRegistry
from store import migrate
from store.db import create_engine
from tests.integration.api.conftest import seed_api
from tests.integration.api.openapi_cases import Request, Schemas, operations, requests
from tests.integration.conftest import seed
from tests.support.services import fresh_pg_database

EXAMPLES = 500


@dataclass
class Target:
    runner: asyncio.Runner
    client: httpx.AsyncClient
    tokens: dict[str, str]
    strategy: st.SearchStrategy[Request]

    def send(self, request: Request, role: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}
        kwargs: dict[str, Any] = {"params": request.query, "headers": headers}
        if request.send_body:
            kwargs["json"] = request.body
        return self.runner.run(self.client.request(request.method, request.url, **kwargs))


@dataclass
class _Engine:
    engine: Any


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A seeded API in its own event loop (hypothesis drives a plain function)."""
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path}/evgate.db"
        else:
            url = runner.run(stack.enter_async_context(fresh_pg_database()))
        engine = create_engine(url)
        try:
            runner.run(migrate.upgrade(engine))
            runner.run(seed(engine))
            tokens, seeded = runner.run(seed_api(_Engine(engine)))  # type: ignore[arg-type]
            app = create_app(engine, ConnectionRegistry(), command_timeout=0.2)
            spec = app.openapi()
            schemas = Schemas(spec, seeded)
            strategy = st.one_of([requests(op, schemas) for op in operations(spec)])
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            yield Target(runner, client, tokens, strategy)
            runner.run(client.aclose())
        finally:
            runner.run(engine.dispose())
            runner.run(stack.aclose())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(data=st.data())
def test_no_generated_request_gets_a_5xx(target: Target, data: st.DataObject) -> None:
    request = data.draw(target.strategy, label="request")
    role = data.draw(
        st.sampled_from(["super"] * 6 + ["admin", "viewer", "anonymous"]), label="role"
    )
    response = target.send(request, role)
    event(f"status {response.status_code}")  # see them with --hypothesis-show-statistics
    assert response.status_code < 500, (request, role, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert isinstance(response.json().get("detail"), str)
