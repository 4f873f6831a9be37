"""Data builders for billing tests: a site, chargers, tariffs, subscribers, finished sessions.

Rows are written straight through Core (what the gateway and the config API would have stored),
so a billing test controls every total to the Wh and the second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import admin
from store.ids import new_id
from store.schema import chargers, sessions, subscribers, tariff_versions, tariffs, tokens

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SIMPLE = {  # 2.50/kWh, 60.00/h charging, 12.00/h parking, 5.00 per session (excl. VAT)
    "currency": "NOK",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": "2.50", "step_size": 1, "vat": "25"},
                {"type": "TIME", "price": "60.00", "step_size": 1, "vat": "25"},
                {"type": "PARKING_TIME", "price": "12.00", "step_size": 1, "vat": "25"},
                {"type": "FLAT", "price": "5.00", "step_size": 1, "vat": "25"},
            ]
        }
    ],
}
PEAK = {  # 4.00/kWh from 17:00 to 20:00 local, else 1.00/kWh
    "currency": "NOK",
    "elements": [
        {
            "price_components": [{"type": "ENERGY", "price": "4.00", "step_size": 1}],
            "restrictions": {"start_time": "17:00", "end_time": "20:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": "1.00", "step_size": 1}]},
    ],
}


@dataclass
class World:
    engine: AsyncEngine
    site: str = "OSLO"
    versions: dict[str, int] = field(default_factory=dict)
    subscribers: dict[str, int] = field(default_factory=dict)
    next_meter: int = 1_000_000

    async def setup(
        self,
        tz: str = "Europe/Oslo",
        currency: str = "NOK",
        vat_bp: int = 2500,
        series: str = "OSL",
        chargers_n: int = 2,
    ) -> World:
        async with self.engine.begin() as conn:
            await admin.add_site(
                conn,
                admin.SiteInput(self.site, tz, currency, vat_bp, "business", invoice_series=series),
            )
            for name, obj in (("simple", SIMPLE), ("peak", PEAK)):
                self.versions[name] = await add_tariff(conn, self.site, obj)
            await admin.add_chargers(
                conn,
                [admin.charger_row(f"CP{i}", self.site, None) for i in range(1, chargers_n + 1)],
            )
            await conn.execute(update(chargers).values(monthly_payment=True))
        return self

    async def subscriber(
        self,
        key: str,
        *,
        tags: tuple[str, ...] = (),
        language: str = "en",
        payment_method: str = "manual",
        discount_bp: int = 0,
        terms: int | None = None,
    ) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(subscribers).values(
                    site_id=self.site,
                    state="active",
                    name=f"Subscriber {key}",
                    email=f"{key.lower()}@example.no",
                    language=language,
                    payment_method=payment_method,
                    payment_terms_days=terms,
                    discount_bp=discount_bp,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            sid = new_id(result)
            for tag in tags or (f"TAG-{key}",):
                await conn.execute(
                    insert(tokens).values(
                        site_id=self.site, id_tag=tag, subscriber_id=sid, created_at=NOW
                    )
                )
        self.subscribers[key] = sid
        return sid

    async def session(
        self,
        key: str,
        start: datetime,
        minutes: int,
        wh: int,
        *,
        parking_min: int = 0,
        charger: str = "CP1",
        tariff: str = "simple",
        flags: tuple[str, ...] = (),
        snapshot: bool = True,
        tag: str | None = None,
        monthly_payment: bool = True,
    ) -> int:
        """A finished session: charging ``minutes`` then parking ``parking_min``."""
        stop = start + timedelta(minutes=minutes + parking_min)
        self.next_meter += 100_000
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(sessions).values(
                    charger_id=charger,
                    connector_id=1,
                    id_tag=tag or f"TAG-{key}",
                    auth_status="Accepted",
                    started_at=start,
                    charger_started_at=start,
                    stopped_at=stop,
                    meter_start_wh=self.next_meter,
                    meter_stop_wh=self.next_meter + wh,
                    energy_wh=wh,
                    charging_s=minutes * 60,
                    parking_s=parking_min * 60,
                    monthly_payment=monthly_payment,
                    tariff_id=self.versions[tariff],
                    subscriber_id=self.subscribers.get(key) if snapshot else None,
                    flags=list(flags),
                    received_at=start,
                )
            )
        return new_id(result)


async def add_tariff(conn: AsyncConnection, site: str, obj: dict[str, Any]) -> int:
    result = await conn.execute(
        insert(tariffs).values(
            site_id=site, name="t", currency=obj["currency"], created_at=NOW, updated_at=NOW
        )
    )
    tariff_id = new_id(result)
    result = await conn.execute(
        insert(tariff_versions).values(
            tariff_id=tariff_id, version=1, ocpi=json.dumps(obj), created_at=NOW
        )
    )
    version_id = new_id(result)
    await conn.execute(
        update(tariffs).where(tariffs.c.id == tariff_id).values(current_version_id=version_id)
    )
    return version_id


def local(text: str, tz: str = "Europe/Oslo") -> datetime:
    """'2026-10-31 23:30' in ``tz`` as aware UTC."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


async def rows(engine: AsyncEngine, table: Any, *order: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        query = select(table).order_by(*order) if order else select(table)
        return [dict(r) for r in (await conn.execute(query)).mappings()]
