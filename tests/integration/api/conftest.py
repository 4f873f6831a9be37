"""The config API over the in-process gateway (tests/integration/conftest.py's `env`).

Tokens for every role, and a little more seed: a tariff per scope, subscribers in each state,
an open invitation and a stopped session, so every endpoint has something to act on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from config.api import create_app
from store import api_tokens, subscribers, tariff_store
from store.schema import audit_log, sessions
from tests.integration.conftest import Env
from tests.support.ocpp_client import T0

ROLES = ("anonymous", "viewer", "viewer_all", "other_admin", "admin", "super")
TARIFF_JSON = (
    '{"currency": "NOK", "elements": [{"price_components": '
    '[{"type": "ENERGY", "price": 2.50, "step_size": 1}]}]}'
)


@dataclass
class Api:
    env: Env
    client: httpx.AsyncClient
    tokens: dict[str, str]
    seeded: dict[str, Any] = field(default_factory=dict)

    async def call(
        self, role: str, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}
        return await self.client.request(method, path, json=body, headers=headers, **kwargs)

    async def audit_count(self) -> int:
        async with self.env.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one()
            )


async def add_subscriber(conn: Any, site: str, id_tag: str | None, state: str = "active") -> int:
    """A subscriber of ``site`` in ``state``, owning ``id_tag`` (through the real flow)."""
    invited = await subscribers.invite(conn, site, f"{(id_tag or 'x').lower()}@example.no")
    if state == "invited":
        return int(invited["subscriber_id"])
    sid = await subscribers.accept(
        conn,
        invited["token"],
        name=f"Owner of {id_tag}",
        email=f"{(id_tag or 'x').lower()}@example.no",
        language="nb",
        payment_method="manual",
    )
    if id_tag is not None:
        await subscribers.add_token(conn, sid, id_tag)
    if state in ("suspended", "cancelled"):
        await subscribers.transition(conn, sid, "suspend" if state == "suspended" else "cancel")
    return sid


async def seed_api(env: Env) -> tuple[dict[str, str], dict[str, Any]]:
    seeded: dict[str, Any] = {}
    async with env.engine.begin() as conn:
        tokens = {
            "super": (await api_tokens.create_token(conn, "super-admin", None, "root"))[1],
            "admin": (await api_tokens.create_token(conn, "admin", "S1", "s1 admin"))[1],
            "other_admin": (await api_tokens.create_token(conn, "admin", "S2", "s2 admin"))[1],
            "viewer": (await api_tokens.create_token(conn, "viewer", "S1", "s1 viewer"))[1],
            "viewer_all": (await api_tokens.create_token(conn, "viewer", None, "auditor"))[1],
        }
        seeded["tariff_s1"] = (
            await tariff_store.create_tariff(
                conn, site_id="S1", name="S1", currency="NOK", ocpi_text=TARIFF_JSON, created_by="t"
            )
        )["id"]
        seeded["tariff_global"] = (
            await tariff_store.create_tariff(
                conn,
                site_id=None,
                name="all",
                currency="NOK",
                ocpi_text=TARIFF_JSON,
                created_by="t",
            )
        )["id"]
        seeded["active"] = await add_subscriber(conn, "S1", "TAG1")
        seeded["suspended"] = await add_subscriber(conn, "S1", "SUSP", "suspended")
        seeded["other_site"] = await add_subscriber(conn, "S2", "S2TAG")
        invited = await subscribers.invite(conn, "S1", "new@example.no")
        seeded["invitation"] = invited["token"]
        seeded["invited"] = invited["subscriber_id"]
        result = await conn.execute(
            insert(sessions).values(
                charger_id="CP1",
                connector_id=1,
                id_tag="TAG1",
                auth_status="Accepted",
                started_at=T0,
                charger_started_at=T0,
                stopped_at=T0 + timedelta(hours=1),
                meter_start_wh=1000,
                meter_stop_wh=11000,
                energy_wh=10000,
                charging_s=3600,
                parking_s=0,
                monthly_payment=False,
                tariff_id=None,
                flags=[],
                received_at=T0,
            )
        )
        seeded["session"] = int(result.inserted_primary_key[0])
    return tokens, seeded


@pytest.fixture
async def api(env: Env) -> AsyncIterator[Api]:
    tokens, seeded = await seed_api(env)
    app = create_app(env.engine, env.gateway.registry, command_timeout=1.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate.test") as client:
        yield Api(env, client, tokens, seeded)
