"""The load generator's own process: runs a fleet and reports its window edges on stdout.

Lines it prints: ``WINDOW start|end`` at the edges of the steady-state window, ``SUMMARY {json}``
at the end. With ``--sync`` (connect and hold modes, where several workers share one fleet) it
also prints ``LOADED`` and waits for a ``GO`` line on stdin before connecting, prints
``BOOTED`` once all its chargers have booted and waits for ``GO`` again before the heartbeats,
and prints ``LATENCIES [µs, ...]`` so that the caller can merge the workers' distributions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from array import array

from bench.ocpp_load import raise_nofile_limit
from simulators.fleet import FleetConfig, run_fleet


def wait_for_go() -> None:
    line = sys.stdin.readline()
    if line.strip() != "GO":
        sys.exit(f"fleet_worker: expected GO on stdin, got {line!r}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--first-index", type=int, default=1)
    p.add_argument("--mode", default="closed")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--connect-concurrency", type=int, default=200)
    p.add_argument("--steady-timeout", type=float, default=30.0, help="seconds, see FleetConfig")
    p.add_argument("--sync", action="store_true", help="LOADED/BOOTED barriers, GO on stdin")
    args = p.parse_args()
    raise_nofile_limit()  # one socket per charger

    def edge(name: str) -> None:
        print(f"WINDOW {name}", flush=True)

    async def booted() -> None:
        print("BOOTED", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, wait_for_go)

    latencies: array[int] = array("q")
    config = FleetConfig(
        url=args.url,
        chargers=args.chargers,
        first_index=args.first_index,
        mode=args.mode,
        interval_s=args.interval,
        duration_s=args.duration,
        warmup_s=args.warmup,
        steady_timeout_s=args.steady_timeout,
        on_window=edge,
        on_booted=booted if args.sync else None,
        latency_sink=latencies,
        connect_concurrency=args.connect_concurrency,
        progress=False,
        call_timeout_s=60,
    )
    if args.sync:
        print("LOADED", flush=True)
        wait_for_go()
    summary = asyncio.run(run_fleet(config))
    if args.sync:
        print("LATENCIES " + json.dumps(latencies.tolist()), flush=True)
    print("SUMMARY " + json.dumps(summary.to_dict()), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
