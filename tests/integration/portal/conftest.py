"""The portal on the config API app over the in-process gateway (tests/integration's `env`):
site S1 (business) with CP1 and CP2, S2 (basic); portal users for each role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select

from billing.run import RunOptions, run_billing
from config.api import create_app
from portal.app import install
from services import portal_auth
from services.context import CLI
from store import billing_store as bs
from store import tariff_store
from store.schema import sessions, tokens
from tests.integration.conftest import Env, add_subscribers

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
    app.state.billing_now = NOW
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


NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)  # the pages' clock (app.state.billing_now)
TARIFF = (
    '{"currency": "NOK", "elements": [{"price_components": '
    '[{"type": "ENERGY", "price": "2.50", "step_size": 1, "vat": "25"}]}]}'
)


async def add_session(
    env: Env, start: datetime, wh: int, tariff_version: int, tag: str = "TAG1"
) -> None:
    async with env.engine.begin() as conn:
        sub = (
            await conn.execute(select(tokens.c.subscriber_id).where(tokens.c.id_tag == tag))
        ).scalar_one()
        await conn.execute(
            insert(sessions).values(
                charger_id="CP1",
                connector_id=1,
                id_tag=tag,
                auth_status="Accepted",
                started_at=start,
                charger_started_at=start,
                stopped_at=start + timedelta(hours=1),
                meter_start_wh=1000 + int(start.timestamp()) % 100000,
                meter_stop_wh=1000 + int(start.timestamp()) % 100000 + wh,
                energy_wh=wh,
                charging_s=3600,
                parking_s=0,
                monthly_payment=True,
                tariff_id=tariff_version,
                subscriber_id=sub,
                flags=[],
                received_at=start,
            )
        )


async def seed_billing(env: Env) -> dict[str, Any]:
    """TAG1's subscriber with an October invoice (10 kWh at 2.50 + 25 % VAT = 31.25) and
    12 kWh so far in November (the estimate: 37.50); CP1 on the S1 tariff."""
    await add_subscribers(env.engine)
    async with env.engine.begin() as conn:
        tariff = await tariff_store.create_tariff(
            conn, site_id="S1", name="Standard", currency="NOK", ocpi_text=TARIFF, created_by="t"
        )
        sid = (
            await conn.execute(select(tokens.c.subscriber_id).where(tokens.c.id_tag == "TAG1"))
        ).scalar_one()
    await add_session(env, datetime(2026, 10, 5, 8, tzinfo=UTC), 10_000, tariff["version_id"])
    await add_session(env, datetime(2026, 11, 2, 8, tzinfo=UTC), 12_000, tariff["version_id"])
    report = await run_billing(env.engine, RunOptions("2026-10", site_id="S1", now=NOW))
    assert report.invoices == 1, report
    async with env.engine.connect() as conn:
        (invoice,) = await bs.list_invoices(conn, subscriber_id=sid)
    return {"subscriber": int(sid), "tariff": tariff["id"], "invoice": invoice["number_text"]}
