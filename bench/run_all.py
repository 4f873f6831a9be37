"""`make bench`: the benchmark set of docs/benchmarks.md against `evgate serve`.

Each run prints one JSON line on stdout (bench.ocpp_load's fields, named by "run"); a summary
with the issue's goals follows on stderr. A run that cannot happen (PostgreSQL unreachable)
prints {"run": ..., "skipped": why}; one that fails prints {"run": ..., "error": ...} and the
exit status is 1. The whole set takes about 6-8 minutes on the 2-core machine, most of it
connecting 10,000 and 20,000 chargers.

    python -m bench.run_all                       # the whole set
    python -m bench.run_all --only closed-1000    # one run (or several: a,b or repeat --only)
    python -m bench.run_all --only 'closed-*'     # shell-style patterns
    python -m bench.run_all --skip hold-20000     # all but the longest run
    python -m bench.run_all --list                # the runs' names
    python -m bench.run_all > today.jsonl; python -m bench.run_all --table today.jsonl

The billing benchmark (1,000,000 sessions, minutes) is not in the set: `make bench-billing`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ocpp_load


@dataclass(frozen=True)
class Spec:
    name: str
    mode: str  # closed, paced, connect, hold (bench.ocpp_load), or tariff
    chargers: int = 0
    db: str = "sqlite"
    interval: float = 2.0
    workers: int = 1
    about: str = ""


SET = [
    Spec("closed-100", "closed", 100, about="CPU per message, flat from 100 to 5,000"),
    Spec("closed-1000", "closed", 1_000, about="CPU per MeterValues <= 150 µs"),
    Spec("closed-5000", "closed", 5_000, about="CPU per message, flat from 100 to 5,000"),
    Spec("pg-closed-1000", "closed", 1_000, db="postgres", about="evgate + PostgreSQL <= 300 µs"),
    Spec("paced-1000", "paced", 1_000, interval=2.0, about="500 msg/s: p50 / p99"),
    Spec("paced-5000", "paced", 5_000, interval=10.0, about="500 msg/s: p99 <= 25 ms"),
    Spec("connect-10000", "connect", 10_000, workers=2, about=">= 1,000/s, <= 16 KiB each"),
    Spec("hold-20000", "hold", 20_000, interval=20.0, workers=2, about="all answer heartbeats"),
    Spec("tariff", "tariff", about="bench.tariff_bench: sessions priced per second"),
]


def _patterns(items: list[str]) -> list[str]:
    patterns = [p.strip() for item in items for p in item.split(",") if p.strip()]
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(s.name, p) for s in SET)]
    if unknown:
        names = ", ".join(s.name for s in SET)
        raise SystemExit(f"bench: no run named {', '.join(unknown)} (runs: {names})")
    return patterns


def select(only: list[str], skip: list[str] | None = None) -> list[Spec]:
    """The runs matching any of `only` (all if empty) and none of `skip`: names or patterns,
    comma-separated."""
    keep, drop = _patterns(only) or ["*"], _patterns(skip or [])

    def matches(spec: Spec, patterns: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(spec.name, p) for p in patterns)

    return [s for s in SET if matches(s, keep) and not matches(s, drop)]


def options(spec: Spec, args: argparse.Namespace) -> argparse.Namespace:
    """bench.ocpp_load's options for one run of the set."""
    return ocpp_load.parser().parse_args(
        [
            *("--name", spec.name, "--db", spec.db, "--mode", spec.mode),
            *("--chargers", str(spec.chargers), "--interval", str(spec.interval)),
            *("--duration", str(args.duration), "--warmup", str(args.warmup)),
            *("--workers", str(spec.workers), "--concurrency", str(args.concurrency)),
        ]
    )


def run_one(spec: Spec, args: argparse.Namespace, pg_down: str | None) -> dict[str, Any]:
    if spec.db == "postgres" and pg_down:
        return {"run": spec.name, "skipped": pg_down}
    try:
        if spec.mode == "tariff":
            out = subprocess.run(
                [sys.executable, "-m", "bench.tariff_bench"],
                cwd=ocpp_load.ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return {"run": spec.name, **json.loads(out.strip().splitlines()[-1])}
        return ocpp_load.run(options(spec, args))
    except Exception as exc:  # one broken run must not hide the others' figures
        return {"run": spec.name, "error": f"{type(exc).__name__}: {exc}"[:2000]}


# The goals table: (run, figure, "<=" or ">=", goal, what it is).
GOALS = [
    ("closed-1000", "server_us_per_msg", "<=", 150, "CPU per MeterValues, N = 1,000 (µs)"),
    ("paced-5000", "latency_p99_ms", "<=", 25, "p99 at 500 msg/s, N = 5,000 (ms)"),
    ("connect-10000", "connect_boot_per_s", ">=", 1_000, "connect + boot, N = 10,000 (/s)"),
    ("connect-10000", "kib_per_connection", "<=", 16, "memory per charger, N = 10,000 (KiB)"),
    ("hold-20000", "heartbeats_answered", ">=", 20_000, "chargers held, answering a heartbeat"),
    ("pg-closed-1000", "total_us_per_msg", "<=", 300, "PostgreSQL, evgate + database (µs/msg)"),
]


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    """One human line per goal that the results allow to judge, then each run's foreign load."""
    by = {r["run"]: r for r in results if "error" not in r and "skipped" not in r}
    lines = []
    for run, figure, op, goal, what in GOALS:
        if run in by:
            value = by[run][figure]
            ok = value <= goal if op == "<=" else value >= goal
            lines.append(f"{what}: {value}, goal {op} {goal:,}: {'meets' if ok else 'MISSES'}")
    flat = [
        by[n]["server_us_per_msg"] for n in ("closed-100", "closed-1000", "closed-5000") if n in by
    ]
    if len(flat) == 3 and min(flat) > 0:
        spread = max(flat) / min(flat) - 1
        lines.append(
            f"CPU per message, N = 100 / 1,000 / 5,000 (µs): {' / '.join(map(str, flat))}, "
            f"spread {spread:.0%}, goal within 10 %: {'meets' if spread <= 0.10 else 'MISSES'}"
        )
    for r in results:
        if "foreign_cores_busy" in r:
            unsteady = "" if r.get("steady", True) else " (NOT steady: sessions still starting)"
            lines.append(f"{r['run']}: foreign load {r['foreign_cores_busy']} of 2 cores{unsteady}")
        elif "skipped" in r:
            lines.append(f"{r['run']}: skipped: {r['skipped']}")
        elif "error" in r:
            lines.append(f"{r['run']}: FAILED: {r['error'].splitlines()[0]}")
    return lines


TABLE_HEAD = (
    "| run | server µs/msg (+ database) | msg/s | p50 / p99 ms | KiB/conn | connect+boot/s "
    "| other | foreign cores |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def table(results: list[dict[str, Any]]) -> str:
    """The runs as the markdown table of docs/benchmarks.md (`--table FILE` prints it)."""

    def cell(r: dict[str, Any], key: str) -> str:
        value = r.get(key)
        return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

    rows = [TABLE_HEAD]
    for r in results:
        if "skipped" in r or "error" in r:
            rows.append(f"| {r['run']} | {'skipped' if 'skipped' in r else 'FAILED'} |" + " |" * 6)
            continue
        if r["run"] == "tariff":
            priced = f"{r['sessions_per_s']:,} sessions priced/s"
            rows.append(f"| tariff | - | - | - | - | - | {priced} | - |")
            continue
        us = cell(r, "server_us_per_msg")
        if r.get("db_server_us_per_msg") is not None:
            us += f" + {r['db_server_us_per_msg']} = {r['total_us_per_msg']}"
        other = []
        if r.get("server_us_per_connect") is not None:
            other.append(f"{r['server_us_per_connect']:,} µs/connect")
        if r.get("heartbeats_answered") is not None:
            other.append(
                f"{r['connected']:,} connected, {r['heartbeats_answered']:,} heartbeats answered"
            )
        if r.get("steady") is False:
            other.append("NOT steady")
        latency = (
            f"{r['latency_p50_ms']} / {r['latency_p99_ms']}"
            if r.get("mode") in ("paced", "hold")
            else "-"
        )
        rows.append(
            f"| {r['run']} | {us} | {cell(r, 'msg_per_s')} | {latency} | "
            f"{cell(r, 'kib_per_connection')} | {cell(r, 'connect_boot_per_s')} | "
            f"{', '.join(other) or '-'} | {cell(r, 'foreign_cores_busy')} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", action="append", default=[], help="run names or patterns")
    p.add_argument("--skip", action="append", default=[], help="run names or patterns to leave out")
    p.add_argument("--list", action="store_true", help="print the runs' names and exit")
    p.add_argument("--duration", type=float, default=8.0, help="steady-state window, seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before the window")
    p.add_argument("--concurrency", type=int, default=200, help="connects at once per worker")
    p.add_argument("--table", metavar="FILE", help="print FILE's JSON lines as a markdown table")
    args = p.parse_args(argv)
    if args.table:
        lines = Path(args.table).read_text().splitlines()
        print(table([json.loads(line) for line in lines if line.startswith("{")]))
        return 0
    specs = select(args.only, args.skip)
    if args.list:
        for s in specs:
            print(f"{s.name:16} {s.about}")
        return 0
    pg_down = ocpp_load.postgres_unreachable() if any(s.db == "postgres" for s in specs) else None
    results = []
    started = time.monotonic()
    for spec in specs:
        print(f"bench: {spec.name} ...", file=sys.stderr, flush=True)
        result = run_one(spec, args, pg_down)
        results.append(result)
        print(json.dumps(result), flush=True)
    print(f"\nbench: {len(results)} runs in {time.monotonic() - started:.0f} s", file=sys.stderr)
    for line in verdicts(results):
        print(f"  {line}", file=sys.stderr)
    print(
        "  (a shared 2-core machine: figures move by +-20-30 % between rounds; compare CPU per"
        " message within one round, and read each run's foreign load)",
        file=sys.stderr,
    )
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
