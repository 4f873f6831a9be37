"""Benchmark of the tariff pricer: sessions priced per second on one core.

100,000 sessions of 2-6 charging periods each, under a 4-element tariff with time-of-day and
weekday restrictions, local time Europe/Oslo. Periods are generated before the clock starts;
the figure is for ``price_periods`` alone (what the billing run calls per session).
Run: ``.venv/bin/python -m bench.tariff_bench [--sessions N]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tariffs import ChargingPeriod, parse_tariff, price_periods

GOAL = 20_000  # sessions/s (docs/benchmarks.md)
TZ = "Europe/Oslo"
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]

TARIFF = {
    "id": "bench-4",
    "currency": "NOK",
    "elements": [
        {  # weekday evening peak
            "price_components": [
                {"type": "ENERGY", "price": "4.50", "vat": "25", "step_size": 1},
                {"type": "FLAT", "price": "5.00", "vat": "25", "step_size": 1},
            ],
            "restrictions": {"start_time": "17:00", "end_time": "21:00", "day_of_week": WEEKDAYS},
        },
        {  # night
            "price_components": [{"type": "ENERGY", "price": "2.10", "vat": "25", "step_size": 1}],
            "restrictions": {"start_time": "22:00", "end_time": "06:00"},
        },
        {  # daytime parking
            "price_components": [
                {"type": "PARKING_TIME", "price": "30", "vat": "25", "step_size": 300}
            ],
            "restrictions": {"start_time": "08:00", "end_time": "18:00"},
        },
        {  # fallback
            "price_components": [
                {"type": "ENERGY", "price": "3.20", "vat": "25", "step_size": 1},
                {"type": "TIME", "price": "6.00", "vat": "25", "step_size": 60},
                {"type": "FLAT", "price": "2.00", "vat": "25", "step_size": 1},
            ]
        },
    ],
}


def sessions(count: int, seed: int) -> list[list[ChargingPeriod]]:
    """Deterministic sessions: charging periods, the last one or two sometimes parking."""
    rng = random.Random(seed)
    year = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(count):
        t = year + timedelta(seconds=rng.randrange(366 * 86400))
        n = rng.randint(2, 6)
        parked_from = n - rng.choice((0, 0, 1, 2))
        periods = []
        for i in range(n):
            seconds = rng.randrange(300, 7200)
            end = t + timedelta(seconds=seconds)
            s = Decimal(seconds)
            if i < parked_from:
                kwh = Decimal(rng.randrange(0, 22000 * seconds // 3600)) / 1000
                periods.append(
                    ChargingPeriod(t, end, energy_kwh=kwh, charging_s=s, max_power_kw=Decimal(22))
                )
            else:
                periods.append(ChargingPeriod(t, end, parking_s=s))
            t = end
        out.append(periods)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    tariff = parse_tariff(TARIFF)
    work = sessions(args.sessions, args.seed)
    periods = sum(len(s) for s in work)
    price_periods(tariff, work[0], TZ)  # build the tariff's plan outside the clock
    total = Decimal(0)
    started = time.perf_counter()
    for session in work:
        total += price_periods(tariff, session, TZ).total_cost.incl_vat
    elapsed = time.perf_counter() - started
    rate = args.sessions / elapsed
    print(
        json.dumps(
            {
                "bench": "tariff_pricer",
                "sessions": args.sessions,
                "periods": periods,
                "elements": len(TARIFF["elements"]),
                "seconds": round(elapsed, 3),
                "sessions_per_s": round(rate),
                "goal_sessions_per_s": GOAL,
                "meets_goal": rate >= GOAL,
                "checksum_incl_vat": str(total.quantize(Decimal("0.0001"))),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
