"""Seed for the owner's pages: the billing seed plus a flagged November session on CP1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from store.schema import sessions, tokens
from tests.integration.conftest import Env
from tests.integration.portal.conftest import seed_billing


async def seed_owner(env: Env) -> dict[str, Any]:
    seeded = await seed_billing(env)
    start = datetime(2026, 11, 9, 18, tzinfo=UTC)
    async with env.engine.begin() as conn:
        sub = (
            await conn.execute(select(tokens.c.subscriber_id).where(tokens.c.id_tag == "TAG1"))
        ).scalar_one()
        version = (
            await conn.execute(select(sessions.c.tariff_id).where(sessions.c.tariff_id.isnot(None)))
        ).first()
        result = await conn.execute(
            insert(sessions).values(
                charger_id="CP1",
                connector_id=2,
                id_tag="TAG1",
                auth_status="Accepted",
                started_at=start,
                charger_started_at=start,
                stopped_at=start + timedelta(hours=2),
                meter_start_wh=500_000,
                meter_stop_wh=580_000,
                energy_wh=80_000,  # 80 kWh in 2 h at 7.4 kW: implausible
                charging_s=7200,
                parking_s=0,
                monthly_payment=True,
                tariff_id=version[0],
                subscriber_id=sub,
                flags=["implausible_energy"],
                received_at=start,
            )
        )
    return {**seeded, "flagged": int(result.inserted_primary_key[0])}
