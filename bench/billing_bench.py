"""Benchmark of the monthly billing run: 1,000,000 sessions, 10,000 subscribers, 500 chargers.

The data (October 2026, Europe/Oslo; 90 % of sessions on an unrestricted tariff, 10 % on a
time-of-day tariff priced from a trace) is bulk-inserted first, untimed. Then a child process
runs the billing of the month and reports its wall time and peak RSS (getrusage), so the
figure covers the run alone. Goal: at most 60 s and under 500 MB, on SQLite and on
PostgreSQL. Prints one JSON line.

Run: ``.venv/bin/python -m bench.billing_bench --db sqlite|postgres [--sessions N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from store import admin, migrate
from store.db import create_engine
from store.ids import new_id
from store.schema import chargers, sessions, subscribers, tariff_versions, tariffs, tokens

GOAL_S, GOAL_MB = 60.0, 500.0
PG_ADMIN = os.environ.get("EVGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 20, tzinfo=UTC)
MONTH_START = datetime(2026, 9, 30, 22, tzinfo=UTC)  # 1 October 00:00 in Oslo
SIMPLE = (
    '{"currency": "NOK", "elements": [{"price_components": ['
    '{"type": "ENERGY", "price": "2.50", "step_size": 1, "vat": "25"},'
    '{"type": "PARKING_TIME", "price": "12.00", "step_size": 60, "vat": "25"},'
    '{"type": "FLAT", "price": "5.00", "step_size": 1, "vat": "25"}]}]}'
)
PEAK = (
    '{"currency": "NOK", "elements": ['
    '{"price_components": [{"type": "ENERGY", "price": "4.00", "step_size": 1}],'
    ' "restrictions": {"start_time": "17:00", "end_time": "20:00"}},'
    '{"price_components": [{"type": "ENERGY", "price": "1.00", "step_size": 1}]}]}'
)


async def generate(engine: AsyncEngine, n_sessions: int, n_subs: int, n_chargers: int) -> None:
    await migrate.upgrade(engine)
    rnd = random.Random(6)
    async with engine.begin() as conn:
        await admin.add_site(
            conn,
            admin.SiteInput("BENCH", "Europe/Oslo", "NOK", 2500, "business", invoice_series="B"),
        )
        versions = []
        for text in (SIMPLE, PEAK):
            t = await conn.execute(
                insert(tariffs).values(
                    site_id="BENCH", currency="NOK", created_at=NOW, updated_at=NOW
                )
            )
            v = await conn.execute(
                insert(tariff_versions).values(
                    tariff_id=new_id(t), version=1, ocpi=text, created_at=NOW
                )
            )
            versions.append(new_id(v))
        await admin.add_chargers(
            conn, [admin.charger_row(f"CP{i:04d}", "BENCH", None) for i in range(n_chargers)]
        )
        await conn.execute(update(chargers).values(monthly_payment=True))
        await conn.execute(
            insert(subscribers),
            [
                {
                    "site_id": "BENCH",
                    "state": "active",
                    "email": f"s{i}@example.no",
                    "payment_method": "manual",
                    "discount_bp": 1500 if i % 10 == 0 else 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(n_subs)
            ],
        )
        await conn.execute(
            insert(tokens),
            [
                {"site_id": "BENCH", "id_tag": f"T{i}", "subscriber_id": i + 1, "created_at": NOW}
                for i in range(n_subs)
            ],
        )
    batch: list[dict[str, Any]] = []
    month_s = 31 * 86400 - 4 * 3600
    for i in range(n_sessions):
        sub = i % n_subs
        start = MONTH_START + timedelta(seconds=rnd.randrange(month_s))
        charging = rnd.randrange(600, 4 * 3600)
        parking = rnd.randrange(0, 3600) if rnd.random() < 0.5 else 0
        wh = rnd.randrange(500, 40_000)
        batch.append(
            {
                "charger_id": f"CP{rnd.randrange(n_chargers):04d}",
                "connector_id": 1,
                "id_tag": f"T{sub}",
                "auth_status": "Accepted",
                "started_at": start,
                "charger_started_at": start,
                "stopped_at": start + timedelta(seconds=charging + parking),
                "meter_start_wh": i * 10,
                "meter_stop_wh": i * 10 + wh,
                "energy_wh": wh,
                "charging_s": charging,
                "parking_s": parking,
                "monthly_payment": True,
                "tariff_id": versions[1] if i % 10 == 0 else versions[0],
                "subscriber_id": sub + 1,
                "flags": [],
                "received_at": start,
            }
        )
        if len(batch) == 20_000:
            async with engine.begin() as conn:
                await conn.execute(insert(sessions), batch)
            batch = []
    if batch:
        async with engine.begin() as conn:
            await conn.execute(insert(sessions), batch)


async def bill(url: str) -> dict[str, Any]:
    from billing.run import RunOptions, run_billing

    engine = create_engine(url)
    t0 = time.perf_counter()
    report = await run_billing(engine, RunOptions("2026-10", now=NOW, batch_size=500))
    seconds = time.perf_counter() - t0
    await engine.dispose()
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "invoices": report.invoices,
        "sessions": report.sessions,
        "energy_wh": report.energy_wh,
        "totals": report.totals,
    }


async def pg_database(create: bool, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    host = PG_ADMIN.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{host}/{name}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--sessions", type=int, default=1_000_000)
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--chargers", type=int, default=500)
    p.add_argument("--child", help=argparse.SUPPRESS)  # internal: bill this URL, print JSON
    args = p.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(bill(args.child))))
        return
    tmp = tempfile.mkdtemp(prefix="evgate-bench-")
    name = f"evgate_bench_{uuid.uuid4().hex[:8]}"
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        url = asyncio.run(pg_database(True, name))
    try:
        t0 = time.perf_counter()
        engine = create_engine(url)
        asyncio.run(_generate_and_dispose(engine, args))
        generated = time.perf_counter() - t0
        child = subprocess.run(
            [sys.executable, "-m", "bench.billing_bench", "--child", url],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        if args.db == "postgres":
            asyncio.run(pg_database(False, name))
        shutil.rmtree(tmp, ignore_errors=True)
    result.update(
        {
            "bench": "billing",
            "db": args.db,
            "generate_s": round(generated, 1),
            "goal_s": GOAL_S,
            "goal_mb": GOAL_MB,
            "ok": result["seconds"] <= GOAL_S and result["peak_mb"] < GOAL_MB,
        }
    )
    print(json.dumps(result))


async def _generate_and_dispose(engine: AsyncEngine, args: argparse.Namespace) -> None:
    try:
        await generate(engine, args.sessions, args.subscribers, args.chargers)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
