"""The portal on the config API app over the in-process gateway (tests/integration's `env`):
site S1 (business) with CP1 and CP2, S2 (basic); portal users for each role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from config.api import create_app
from portal.app import install
from services import portal_auth
from services.context import CLI
from tests.integration.conftest import Env

PASSWORD = "correct horse battery"
USERS = {
    "super": ("root@example.no", "super-admin", None),
    "admin": ("s1@example.no", "admin", "S1"),
    "viewer": ("look@example.no", "viewer", "S1"),
    "other": ("s2@example.no", "admin", "S2"),
}
DELAY = 0.4  # the failed-login delay in these tests (seconds)


@dataclass
class Portal:
    env: Env
    app: FastAPI
    client: httpx.AsyncClient

    async def csrf(self, path: str = "/sign-in") -> str:
        page = await self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    async def post(self, path: str, data: dict[str, str], *, from_page: str) -> httpx.Response:
        return await self.client.post(path, data={"csrf": await self.csrf(from_page), **data})

    async def sign_in(self, role: str) -> httpx.Response:
        email = USERS[role][0]
        r = await self.post(
            "/sign-in", {"email": email, "password": PASSWORD}, from_page="/sign-in"
        )
        assert r.status_code == 303, r.text
        return r


def portal_app(env: Env, **kw: Any) -> FastAPI:
    app = create_app(env.engine, env.gateway.registry, command_timeout=1.0)
    install(app, failure_delay=DELAY, **kw)
    return app


async def add_users(env: Env) -> None:
    async with env.engine.begin() as conn:
        for email, role, site in USERS.values():
            await portal_auth.add_user(conn, CLI, email, PASSWORD, role, site)


@pytest.fixture
async def portal(env: Env) -> AsyncIterator[Portal]:
    await add_users(env)
    app = portal_app(env)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate.test") as client:
        yield Portal(env, app, client)
