"""An in-process gateway on a free port, over the test's database, with a seeded site."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.auth import hash_password
from gateway.server import Gateway, GatewayOptions
from store import admin, subscribers
from store.schema import chargers, meter_samples, sessions, status_events

PASSWORD = "s3cret-charger-key-42"


@dataclass
class Env:
    engine: AsyncEngine
    gateway: Gateway

    def url(self, charger_id: str) -> str:
        return f"ws://127.0.0.1:{self.gateway.port}/ocpp/{charger_id}"

    async def sessions(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(sessions).order_by(sessions.c.id))
            return [dict(r) for r in rows.mappings()]

    async def samples(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(meter_samples).order_by(meter_samples.c.id))
            return [dict(r) for r in rows.mappings()]

    async def statuses(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(status_events).order_by(status_events.c.id))
            return [dict(r) for r in rows.mappings()]

    async def set_charger(self, charger_id: str, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await update_charger(conn, charger_id, **values)


async def update_charger(conn: AsyncConnection, charger_id: str, **values: Any) -> None:
    """Set charger columns directly (the tests' shortcut; no production path needs one)."""
    result = await conn.execute(
        update(chargers).where(chargers.c.id == charger_id).values(**values)
    )
    assert result.rowcount == 1, f"no charger {charger_id!r}"


async def seed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await admin.add_site(
            conn,
            admin.SiteInput("S1", "Europe/Oslo", "NOK", 2500, "business", allow_passwordless=True),
        )
        await admin.add_site(conn, admin.SiteInput("S2", "Europe/Oslo", "NOK", 2500, "basic"))
        await admin.add_chargers(
            conn,
            [
                admin.charger_row("CP1", "S1", None),
                admin.charger_row("CP2", "S1", None),
                admin.charger_row("SECURE", "S2", hash_password(PASSWORD)),
                admin.charger_row("NOPASS", "S2", None),
            ],
        )
        await admin.add_tokens(conn, "S1", ["TAG1", "TAG2", "BLOCKED"])
        await admin.set_token_state(conn, "S1", "BLOCKED", "blocked")


async def add_subscribers(engine: AsyncEngine) -> None:
    """On S1: TAG1, an active subscriber's card; SUSPENDED, a suspended subscriber's."""
    async with engine.begin() as conn:
        for id_tag in ("TAG1", "SUSPENDED"):
            invited = await subscribers.invite(conn, "S1", f"{id_tag.lower()}@example.no")
            member = await subscribers.accept(
                conn,
                invited["token"],
                name=id_tag,
                email=f"{id_tag.lower()}@example.no",
                language="nb",
                payment_method="manual",
            )
            await subscribers.add_token(conn, member, id_tag)
            if id_tag == "SUSPENDED":
                await subscribers.transition(conn, member, "suspend")


@pytest.fixture
async def env(engine: AsyncEngine) -> AsyncIterator[Env]:
    await seed(engine)
    gateway = Gateway(engine, GatewayOptions(port=0))
    await gateway.start()
    try:
        yield Env(engine, gateway)
    finally:
        await gateway.close()


@pytest.fixture
async def pending_env(engine: AsyncEngine) -> AsyncIterator[Env]:
    await seed(engine)
    gateway = Gateway(engine, GatewayOptions(port=0, unknown_chargers="pending"))
    await gateway.start()
    try:
        yield Env(engine, gateway)
    finally:
        await gateway.close()
