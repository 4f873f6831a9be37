"""The OCPP benchmark workload (shared/reference/workload.md) against `evgate serve`.

The server and the load generator (simulators.fleet) run in separate processes; the server's
CPU (and PostgreSQL's, when used) is read from /proc at the edges of a steady-state window, so
`server_us_per_msg` is CPU time per acknowledged message. One JSON line per run.

    python -m bench.ocpp_load --db sqlite --chargers 1000 --mode closed
    python -m bench.ocpp_load --db sqlite --chargers 5000 --mode paced --interval 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
PG_ADMIN = os.environ.get("EVGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def postgres_cpu() -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                total += proc_cpu(int(entry.name))
        except OSError:
            continue
    return total


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


def evgate(*args: str, url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "config.cli", *args],
        check=True,
        cwd=ROOT,
        env={**os.environ, "EVGATE_DATABASE_URL": url},
        capture_output=True,
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="evgate-bench-"))
    pg_name = None
    if args.db == "postgres":
        pg_name = f"evgate_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{pg_name}"
    else:
        url = f"sqlite+aiosqlite:///{work}/evgate.db"
    try:
        evgate(
            "sites",
            "add",
            "BENCH",
            "--tz",
            "UTC",
            "--currency",
            "EUR",
            "--vat",
            "25",
            "--plan",
            "business",
            "--allow-passwordless",
            url=url,
        )
        (work / "fleet.csv").write_text(
            "".join(f"CP-{i:06d}\n" for i in range(1, args.chargers + 1))
        )
        evgate("chargers", "import", str(work / "fleet.csv"), "--site", "BENCH", url=url)
        port, api_port = free_port(), free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "config.cli",
                "serve",
                "--database-url",
                url,
                "--ocpp-port",
                str(port),
                "--api-port",
                str(api_port),
                "--log-level",
                "WARNING",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=open(work / "serve.log", "wb"),  # noqa: SIM115
        )
        assert server.stdout is not None
        server.stdout.readline()  # "evgate: OCPP on ..." once it listens
        time.sleep(0.5)
        rss_idle = proc_rss_kib(server.pid)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.fleet_worker",
                "--url",
                f"ws://127.0.0.1:{port}/ocpp",
                "--chargers",
                str(args.chargers),
                "--mode",
                args.mode,
                "--interval",
                str(args.interval),
                "--duration",
                str(args.duration),
                "--warmup",
                str(args.warmup),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        marks: dict[str, tuple[float, float, float, float]] = {}
        rss_busy = 0
        summary: dict[str, Any] = {}
        for line in worker.stdout:
            if line.startswith("WINDOW "):
                edge = line.split()[1]
                marks[edge] = (
                    proc_cpu(server.pid),
                    postgres_cpu() if pg_name else 0.0,
                    machine_busy(),
                    proc_cpu(worker.pid),
                )
                if edge == "start":
                    rss_busy = proc_rss_kib(server.pid)
            elif line.startswith("SUMMARY "):
                summary = json.loads(line[8:])
        worker.wait()
        server.terminate()
        server.wait(30)
    finally:
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    (s0, d0, m0, c0), (s1, d1, m1, c1) = marks["start"], marks["end"]
    acks = max(summary["window_acks"], 1)
    server_cpu, db_cpu = s1 - s0, d1 - d0
    window = summary["window_s"]
    foreign = (m1 - m0) - server_cpu - db_cpu - (c1 - c0)
    return {
        "db": args.db,
        "chargers": args.chargers,
        "mode": args.mode,
        "interval_s": args.interval if args.mode == "paced" else None,
        "window_s": window,
        "acks": summary["window_acks"],
        "msg_per_s": round(summary["window_acks"] / window, 1),
        "server_us_per_msg": round(server_cpu * 1e6 / acks, 1),
        "db_server_us_per_msg": round(db_cpu * 1e6 / acks, 1) if pg_name else None,
        "total_us_per_msg": round((server_cpu + db_cpu) * 1e6 / acks, 1),
        "server_cores_used": round(server_cpu / window, 2),
        "latency_p50_ms": summary["latency_p50_ms"],
        "latency_p99_ms": summary["latency_p99_ms"],
        "kib_per_connection": round((rss_busy - rss_idle) / max(summary["connected"], 1), 1),
        "connect_boot_per_s": round(summary["connected"] / max(summary["connect_s"], 1e-9), 1),
        "connected": summary["connected"],
        "call_errors": summary["call_errors"],
        "timeouts": summary["timeouts"],
        "foreign_cores_busy": round(max(foreign, 0) / window, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--mode", choices=("closed", "paced"), default="closed")
    p.add_argument("--interval", type=float, default=2.0, help="paced: seconds per charger")
    p.add_argument("--duration", type=float, default=10.0, help="steady-state window, seconds")
    p.add_argument("--warmup", type=float, default=3.0)
    print(json.dumps(run(p.parse_args())), flush=True)


if __name__ == "__main__":
    main()
