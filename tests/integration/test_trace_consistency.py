"""One trace everywhere: a month of sessions stored the real way (OCPP over a WebSocket), billed,
and shown by the API. For every session the API's price is the invoice line's net (to the
minor unit, as the line rounds it) and the stored charging/parking seconds are the line's.

The tariff is time-of-day (17:00-20:00 local) with a minimum price, and the month covers what
used to make the three traces disagree: no samples at all, statuses but no samples, 0 W while
Charging, power while SuspendedEV, SuspendedEV/Finishing, a stale Available left by the
session before, Faulted inside a session, crossing midnight, crossing the DST fall-back in
Oslo (25 October 2026), samples after the stop. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from billing.run import RunOptions, run_billing
from config.api import create_app
from store import api_tokens, tariff_store
from store.billing_schema import invoice_lines
from store.schema import tariffs
from tests.integration.conftest import Env, add_subscribers, update_charger
from tests.support.ocpp_client import Charger, iso, sample

OSLO = ZoneInfo("Europe/Oslo")
TOD = {  # peak 17:00-20:00; amounts exact at 4 decimals per Wh and per second
    "currency": "NOK",
    "min_price": {"excl_vat": "5.00"},
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": "4.00", "step_size": 1, "vat": "25"},
                {"type": "PARKING_TIME", "price": "36.00", "step_size": 60, "vat": "25"},
            ],
            "restrictions": {"start_time": "17:00", "end_time": "20:00"},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": "1.50", "step_size": 1, "vat": "25"},
                {"type": "TIME", "price": "3.60", "step_size": 1, "vat": "25"},
                {"type": "PARKING_TIME", "price": "7.20", "step_size": 60, "vat": "25"},
            ]
        },
    ],
}


def local(day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=OSLO, fold=fold).astimezone(UTC)


class Sessions:
    """Drives CP1 and CP2 (connector 1) through sessions with exact charger timestamps."""

    def __init__(self, cp1: Charger, cp2: Charger) -> None:
        self.cps = {"CP1": cp1, "CP2": cp2}
        self.meter = {"CP1": 1_000_000, "CP2": 2_000_000}

    async def run(
        self,
        charger: str,
        start: datetime,
        minutes: int,
        wh: int,
        *,
        statuses: tuple[tuple[int, str], ...] = (),
        samples: tuple[tuple[int, int, int], ...] = (),  # (minute, Wh so far, W)
        after_stop: bool = False,
        end_status: str | None = None,
    ) -> None:
        cp = self.cps[charger]
        begin = self.meter[charger]
        events: list[tuple[datetime, int, Callable[[], Awaitable[Any]]]] = []
        tx = (await cp.start("TAG1", begin, start))["transactionId"]
        for minute, status in statuses:
            ts = start + timedelta(minutes=minute)
            events.append((ts, 0, lambda s=status, ts=ts: cp.status(s, ts=ts)))
        for minute, so_far, watts in samples:
            ts = start + timedelta(minutes=minute)
            value = str(begin + so_far)
            events.append((ts, 1, lambda ts=ts, v=value, w=watts: cp.meter(tx, ts, v, str(w))))
        for _, _, send in sorted(events, key=lambda e: (e[0], e[1])):
            await send()
        stop = start + timedelta(minutes=minutes)
        data = [sample(stop + timedelta(minutes=1), str(begin + wh + 4), "0")] if after_stop else []
        await cp.stop(tx, begin + wh, stop, data=data)
        if end_status is not None:
            await cp.status(end_status, ts=stop + timedelta(seconds=30))
        self.meter[charger] = begin + wh + 10


async def a_month(s: Sessions) -> None:
    """Sessions all over October 2026 (local times in Oslo)."""
    # CP2 never sends a status: no samples, no statuses, 9 kWh across 17:00
    await s.run("CP2", local(1, 16, 30), 90, 9000)
    # the same on CP1, whose connector was left Available by the session before
    await s.run("CP1", local(2, 9), 60, 4000, statuses=((0, "Charging"),), end_status="Available")
    await s.run("CP1", local(3, 16), 90, 9000)
    # statuses but no samples, across 17:00
    await s.run(
        "CP1",
        local(4, 16, 20),
        120,
        12_000,
        statuses=((0, "Preparing"), (5, "Charging"), (70, "SuspendedEV"), (100, "Finishing")),
        end_status="Available",
    )
    # 0 W while Charging (Copper SB), samples every 15 min, across 17:00
    await s.run(
        "CP1",
        local(5, 16, 30),
        75,
        6000,
        statuses=((0, "Charging"),),
        samples=tuple((m, m * 80, 0) for m in (15, 30, 45, 60)),
        end_status="Available",
    )
    # power while SuspendedEVSE (firmware late to say Charging), then SuspendedEV and Finishing
    await s.run(
        "CP1",
        local(6, 18),
        150,
        15_000,
        statuses=((0, "SuspendedEVSE"), (50, "SuspendedEV"), (120, "Finishing")),
        samples=((10, 1000, 7400), (30, 5000, 7400), (50, 9000, 0), (80, 15000, 0)),
        end_status="Available",
    )
    # Faulted for a while inside a session
    await s.run(
        "CP1",
        local(7, 16, 45),
        60,
        5000,
        statuses=((0, "Charging"), (20, "Faulted"), (35, "Charging"), (55, "Finishing")),
        samples=((10, 1500, 7400), (40, 3500, 7400)),
        end_status="Available",
    )
    # across midnight, with samples after the stop (one from transactionData)
    await s.run(
        "CP1",
        local(8, 23, 30),
        80,
        7000,
        statuses=((0, "Preparing"), (2, "Charging"), (60, "SuspendedEV")),
        samples=((20, 2000, 7400), (40, 4500, 7400)),
        after_stop=True,
        end_status="Available",
    )
    # across the DST fall-back (03:00 CEST -> 02:00 CET on Sunday 25 October)
    await s.run(
        "CP1",
        local(25, 1, 30),
        150,
        20_000,
        statuses=((0, "Charging"), (120, "SuspendedEV")),
        samples=tuple((m, m * 160, 7400) for m in range(15, 121, 15)),
        end_status="Available",
    )
    # a small one (the minimum price) and the rest of the month, one a day, all kinds
    await s.run("CP1", local(9, 10), 10, 300, statuses=((0, "Charging"),), end_status="Available")
    kinds = [
        {"statuses": ((0, "Charging"), (40, "SuspendedEV"))},
        {"statuses": ((0, "Preparing"), (3, "Charging"))},
        {"samples": ((10, 800, 7400), (30, 2500, 7400))},
        {"statuses": ((0, "Charging"),), "samples": ((20, 3000, 0),), "after_stop": True},
        {},
    ]
    for day in range(10, 32):
        if day == 25:
            continue
        kind = kinds[day % len(kinds)]
        hour = (7, 15, 16, 17, 19, 21, 22)[day % 7]
        await s.run("CP1", local(day, hour, 10), 50 + day, 1000 + 250 * day, **kind)


async def test_api_price_and_stored_times_are_the_invoice_lines(env: Env) -> None:
    await add_subscribers(env.engine)
    async with env.engine.begin() as conn:
        created = await tariff_store.create_tariff(
            conn,
            site_id="S1",
            name="tod",
            currency="NOK",
            ocpi_text=json.dumps(TOD),
            created_by="t",
        )
        for charger in ("CP1", "CP2"):
            await update_charger(conn, charger, tariff_id=created["id"], monthly_payment=True)
        version = (
            await conn.execute(
                select(tariffs.c.current_version_id).where(tariffs.c.id == created["id"])
            )
        ).scalar_one()
        token = (await api_tokens.create_token(conn, "super-admin", None, "root"))[1]
    cp1, cp2 = await Charger.connect(env.url("CP1")), await Charger.connect(env.url("CP2"))
    try:
        for cp in (cp1, cp2):
            await cp.boot()
        await a_month(Sessions(cp1, cp2))
    finally:
        await cp1.close()
        await cp2.close()

    stored = await env.sessions()
    assert len(stored) == 31 and all(s["tariff_id"] == version for s in stored)
    assert all(s["flags"] == [] for s in stored), [s["flags"] for s in stored]
    report = await run_billing(env.engine, RunOptions("2026-10"))
    assert report.sessions == len(stored) and not report.held_back
    async with env.engine.connect() as conn:
        lines = {
            r["session_id"]: r
            for r in (await conn.execute(select(invoice_lines))).mappings()
            if r["kind"] == "session"
        }

    app = create_app(env.engine, env.gateway.registry, command_timeout=1.0)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    seen: list[tuple[int, int, int, int]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate.test") as client:
        for session in stored:
            line = lines[session["id"]]
            response = await client.get(f"/api/v1/sessions/{session['id']}", headers=headers)
            assert response.status_code == 200, response.text
            price = response.json()["price"]
            api_net = Decimal(str(price["total_cost"]["excl_vat"]))
            minor = int((api_net * 100).quantize(Decimal(1), ROUND_HALF_UP))
            where = f"session at {iso(session['started_at'])}"
            assert minor == line["net"], where
            assert (session["charging_s"], session["parking_s"]) == (
                line["charging_s"],
                line["parking_s"],
            ), where
            # the API's periods carry the stored times too
            hours = Decimal(str(price["total_time"])) - Decimal(str(price["total_parking_time"]))
            assert abs(hours * 3600 - session["charging_s"]) < 1, where
            seen.append((session["charging_s"], session["parking_s"], line["net"], minor))

    by_start = {s["started_at"]: s for s in stored}
    # no samples, no statuses: all charging, 9 kWh evenly over 16:30-18:00:
    # 3 kWh x 1.50 + 6 kWh x 4.00 + 1.5 h x 3.60 = 33.90
    fresh = by_start[local(1, 16, 30)]
    assert (fresh["charging_s"], fresh["parking_s"], lines[fresh["id"]]["net"]) == (5400, 0, 3390)
    # the stale Available left by the session before changes nothing: 16:00-17:30,
    # 6 kWh x 1.50 + 3 kWh x 4.00 + 1.5 h x 3.60 = 26.40
    stale = by_start[local(3, 16)]
    assert (stale["charging_s"], stale["parking_s"], lines[stale["id"]]["net"]) == (5400, 0, 2640)
    assert any(line_net == 500 for _, _, line_net, _ in seen)  # the minimum price applies
