"""The load generator's own process: runs a fleet and reports its window edges on stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from simulators.fleet import FleetConfig, run_fleet


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--mode", default="closed")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--connect-concurrency", type=int, default=200)
    args = p.parse_args()

    def edge(name: str) -> None:
        print(f"WINDOW {name}", flush=True)

    config = FleetConfig(
        url=args.url,
        chargers=args.chargers,
        mode=args.mode,
        interval_s=args.interval,
        duration_s=args.duration,
        warmup_s=args.warmup,
        on_window=edge,
        connect_concurrency=args.connect_concurrency,
        progress=False,
        call_timeout_s=60,
    )
    summary = asyncio.run(run_fleet(config))
    print("SUMMARY " + json.dumps(summary.to_dict()), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
