"""The OCPP benchmark workload (docs/benchmarks.md) against `evgate serve`.

The server and the load generator (simulators.fleet) run in separate processes; the server's
CPU (and PostgreSQL's, when used) is read from /proc at the edges of a steady-state window, so
`server_us_per_msg` is CPU time per acknowledged message. One JSON line per run.

    python -m bench.ocpp_load --db sqlite --chargers 1000 --mode closed
    python -m bench.ocpp_load --db sqlite --chargers 5000 --mode paced --interval 10
    python -m bench.ocpp_load --chargers 10000 --mode connect --workers 2
    python -m bench.ocpp_load --chargers 20000 --mode hold --interval 20 --workers 2

closed / paced: the workload's MeterValues loop, one load-generator process.
connect: every charger connects and boots (bounded concurrency), timed from the first connect
to the last boot; memory per connection is read once all are booted.
hold: as connect, then every charger sends one Heartbeat at a random moment within --interval
while all sockets stay open; reports how many were answered, and their latency.
connect and hold split the fleet over --workers load-generator processes (one Python process
cannot open 10,000 sockets a second by itself).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
PG_ADMIN = os.environ.get("EVGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
NOFILE_WANTED = 65_536  # 20,000 sockets in one server process, plus its files


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_nofile(pid: int) -> int:
    """The soft RLIMIT_NOFILE of a running process."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


def proc_fds(pid: int) -> int:
    """Open file descriptors of a process (sockets included)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def postgres_cpu(database: str) -> float:
    """CPU seconds of PostgreSQL's shared processes and of the backends serving `database`.

    Backends of other databases (another benchmark on the same server) are left out: their
    command line reads `postgres: user db host(port) state`, the shared ones' has no `(`."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if f" {database} " in cmdline or "(" not in cmdline:
                total += proc_cpu(int(entry.name))
        except OSError:
            continue
    return total


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


def raise_nofile_limit(wanted: int = NOFILE_WANTED) -> int:
    """Raise this process's RLIMIT_NOFILE (inherited by the server and the workers).

    The hard limit too when allowed (root): a server holding 20,000 chargers needs a few more
    descriptors than the 20,000 some machines set as the hard limit. Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):
            cap = int(Path("/proc/sys/fs/nr_open").read_text())
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, cap), min(wanted, cap)))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_unreachable() -> str | None:
    """None when EVGATE_BENCH_PG answers, else why not."""
    try:
        asyncio.run(_pg("SELECT 1"))
    except Exception as exc:  # any failure means: skip the PostgreSQL runs
        return f"PostgreSQL unreachable at {PG_ADMIN} (set EVGATE_BENCH_PG): {exc or type(exc)}"
    return None


def percentiles_ms(latencies_us: list[int]) -> tuple[float, float]:
    """p50 and p99 (nearest rank, as the fleet reports them) of latencies in µs, in ms."""
    from simulators.fleet import _percentile

    ordered = sorted(latencies_us)
    return _percentile(ordered, 0.50), _percentile(ordered, 0.99)


def foreign_cores(machine_s: float, ours_s: float, window_s: float) -> float:
    """Cores busy with other work than ours (server, database, load generator, this process)."""
    return round(max(machine_s - ours_s, 0.0) / max(window_s, 1e-9), 2)


def summarize_log(lines: list[str], most: int = 5) -> dict[str, int]:
    """The commonest log records, each as `event: the error's last line`, with their counts."""
    counts: dict[str, int] = {}
    for line in lines:
        try:
            record = json.loads(line)
            error = str(record.get("error") or record.get("exc_info") or "").strip()
            key = str(record.get("event", "")) + (f": {error.splitlines()[-1]}" if error else "")
        except (ValueError, AttributeError):
            key = line.strip()
        if key:
            key = key[:300]
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:most])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    ws_url: str
    db_url: str
    pg_name: str | None
    rss_idle_kib: int
    log: Path

    def log_summary(self, most: int = 5) -> dict[str, int]:
        """What the server logged (WARNING and up), counted: `event: last line of the error`."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        return summarize_log(lines, most)


@contextlib.contextmanager
def served(db: str, chargers: int) -> Iterator[Server]:
    """A fresh database with `chargers` chargers, and `evgate serve` on it."""
    work = Path(tempfile.mkdtemp(prefix="evgate-bench-"))
    pg_name = None
    server: subprocess.Popen[bytes] | None = None
    try:
        if db == "postgres":
            pg_name = f"evgate_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            url = f"{base}/{pg_name}"
        else:
            url = f"sqlite+aiosqlite:///{work}/evgate.db"
        evgate(
            *("sites", "add", "BENCH", "--tz", "UTC", "--currency", "EUR", "--vat", "25"),
            *("--plan", "business", "--allow-passwordless"),
            url=url,
        )
        (work / "fleet.csv").write_text("".join(f"CP-{i:06d}\n" for i in range(1, chargers + 1)))
        evgate("chargers", "import", str(work / "fleet.csv"), "--site", "BENCH", url=url)
        port, api_port = free_port(), free_port()
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "config.cli", "serve", "--database-url", url),
                *("--ocpp-port", str(port), "--api-port", str(api_port)),
                *("--log-level", "WARNING"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=open(work / "serve.log", "wb"),  # noqa: SIM115
        )
        assert server.stdout is not None
        if not server.stdout.readline():  # "evgate: OCPP on ..." once it listens
            server.wait(10)
            log = (work / "serve.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"evgate serve exited ({server.returncode}):\n{log}")
        time.sleep(0.5)
        ws_url = f"ws://127.0.0.1:{port}/ocpp"
        yield Server(server, ws_url, url, pg_name, proc_rss_kib(server.pid), work / "serve.log")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        shutil.rmtree(work, ignore_errors=True)


def worker_cmd(args: argparse.Namespace, url: str, chargers: int, first: int) -> list[str]:
    return [
        *(sys.executable, "-m", "bench.fleet_worker", "--url", url),
        *("--chargers", str(chargers), "--first-index", str(first), "--mode", args.mode),
        *("--interval", str(args.interval), "--duration", str(args.duration)),
        *("--warmup", str(args.warmup), "--connect-concurrency", str(args.concurrency)),
    ]


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """(first index, count) of each worker's share of chargers 1..total."""
    parts = max(1, min(parts, total))
    sizes = [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
    firsts = [1 + sum(sizes[:i]) for i in range(parts)]
    return list(zip(firsts, sizes, strict=True))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One run; the JSON line's fields."""
    raise_nofile_limit()
    with served(args.db, args.chargers) as server:
        if args.mode in ("connect", "hold"):
            figures = _run_connect(args, server)
        else:
            figures = _run_loop(args, server)
    return {"run": getattr(args, "name", None) or f"{args.mode}-{args.chargers}", **figures}


class _Marks:
    """CPU of everything we run, and of the whole machine, at one instant."""

    def __init__(self, server: Server, workers: list[subprocess.Popen[str]]) -> None:
        self.server = proc_cpu(server.proc.pid)
        self.db = postgres_cpu(server.pg_name) if server.pg_name else 0.0
        self.machine = machine_busy()
        self.workers = sum(proc_cpu(w.pid) for w in workers)
        self.me = time.process_time()
        self.at = time.monotonic()


def _deltas(a: _Marks, b: _Marks) -> tuple[float, float, float, float]:
    """(server CPU s, database CPU s, foreign cores, elapsed s) between two marks."""
    server, db = b.server - a.server, b.db - a.db
    ours = server + db + (b.workers - a.workers) + (b.me - a.me)
    elapsed = b.at - a.at
    return server, db, foreign_cores(b.machine - a.machine, ours, elapsed), elapsed


def _run_loop(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    worker = subprocess.Popen(
        worker_cmd(args, server.ws_url, args.chargers, 1),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    marks: dict[str, _Marks] = {}
    rss_busy = 0
    summary: dict[str, Any] = {}
    for line in worker.stdout:
        if line.startswith("WINDOW "):
            edge = line.split()[1]
            marks[edge] = _Marks(server, [worker])
            if edge == "start":
                rss_busy = proc_rss_kib(server.proc.pid)
        elif line.startswith("SUMMARY "):
            summary = json.loads(line[8:])
    worker.wait()
    if not summary or "start" not in marks or "end" not in marks:
        raise RuntimeError(f"load generator exited ({worker.returncode}) without a window")
    server_cpu, db_cpu, foreign, _ = _deltas(marks["start"], marks["end"])
    acks = max(summary["window_acks"], 1)
    window = summary["window_s"]
    figures = {
        "db": args.db,
        "chargers": args.chargers,
        "mode": args.mode,
        "interval_s": args.interval if args.mode == "paced" else None,
        "window_s": window,
        "acks": summary["window_acks"],
        "msg_per_s": round(summary["window_acks"] / window, 1),
        "server_us_per_msg": round(server_cpu * 1e6 / acks, 1),
        "db_server_us_per_msg": round(db_cpu * 1e6 / acks, 1) if server.pg_name else None,
        "total_us_per_msg": round((server_cpu + db_cpu) * 1e6 / acks, 1),
        "server_cores_used": round(server_cpu / window, 2),
        "latency_p50_ms": summary["latency_p50_ms"],
        "latency_p99_ms": summary["latency_p99_ms"],
        "kib_per_connection": round(
            (rss_busy - server.rss_idle_kib) / max(summary["connected"], 1), 1
        ),
        "connect_boot_per_s": round(summary["connected"] / max(summary["connect_s"], 1e-9), 1),
        "connected": summary["connected"],
        "steady": summary["window_steady"],
        "call_errors": summary["call_errors"],
        "timeouts": summary["timeouts"],
        "errors": summary["errors"],
        "foreign_cores_busy": foreign,
    }
    if summary["errors"] or summary["call_errors"] or summary["timeouts"]:
        figures["server_log"] = server.log_summary()
    return figures


def _expect(worker: subprocess.Popen[str], prefix: str) -> str:
    """The next line of a worker that starts with `prefix` (others are skipped)."""
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    worker.wait()
    raise RuntimeError(f"load generator exited ({worker.returncode}) before {prefix.strip()}")


def _go(workers: list[subprocess.Popen[str]]) -> None:
    for w in workers:
        stdin: IO[str] | None = w.stdin
        assert stdin is not None
        stdin.write("GO\n")
        stdin.flush()


def _run_connect(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    workers = [
        subprocess.Popen(
            [*worker_cmd(args, server.ws_url, count, first), "--sync"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for first, count in split(args.chargers, args.workers)
    ]
    try:
        for w in workers:
            _expect(w, "LOADED")
        m0 = _Marks(server, workers)
        _go(workers)  # connect + boot
        for w in workers:
            _expect(w, "BOOTED")
        m1 = _Marks(server, workers)
        rss_booted, fds_booted = proc_rss_kib(server.proc.pid), proc_fds(server.proc.pid)
        _go(workers)  # connect mode: close; hold mode: the heartbeat round
        for w in workers:
            _expect(w, "WINDOW end")
        m2 = _Marks(server, workers)
        rss_after = proc_rss_kib(server.proc.pid)
        latencies: list[int] = []
        summaries = []
        for w in workers:
            latencies += json.loads(_expect(w, "LATENCIES "))
            summaries.append(json.loads(_expect(w, "SUMMARY ")))
        for w in workers:
            w.wait(60)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    total = {k: sum(s[k] for s in summaries) for k in ("connected", "booted", "window_acks")}
    total |= {k: sum(s[k] for s in summaries) for k in ("connect_failures", "call_errors")}
    total["timeouts"] = sum(s["timeouts"] for s in summaries)
    errors: dict[str, int] = {}
    for s in summaries:
        for kind, n in s["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
    conn_server, conn_db, conn_foreign, connect_s = _deltas(m0, m1)
    connected = max(total["connected"], 1)
    figures: dict[str, Any] = {
        "db": args.db,
        "chargers": args.chargers,
        "mode": args.mode,
        "workers": len(workers),
        "concurrency": args.concurrency * len(workers),
        "connected": total["connected"],
        "booted": total["booted"],
        "connect_failures": total["connect_failures"],
        "connect_s": round(connect_s, 2),
        "connect_boot_per_s": round(total["booted"] / max(connect_s, 1e-9), 1),
        "server_us_per_connect": round((conn_server + conn_db) * 1e6 / connected, 1),
        "server_cores_used": round(conn_server / max(connect_s, 1e-9), 2),
        "server_nofile": proc_nofile(server.proc.pid),
        "server_fds": fds_booted,
        "rss_idle_kib": server.rss_idle_kib,
        "rss_booted_kib": rss_booted,
        "kib_per_connection": round((rss_booted - server.rss_idle_kib) / connected, 1),
        "foreign_cores_busy": conn_foreign,
    }
    if args.mode == "hold":
        hb_server, hb_db, hb_foreign, hb_s = _deltas(m1, m2)
        p50, p99 = percentiles_ms(latencies)
        answered = total["window_acks"]
        figures |= {
            "heartbeat_spread_s": args.interval,
            "heartbeats_answered": answered,
            "heartbeats_missing": total["connected"] - answered,
            "heartbeat_window_s": round(hb_s, 2),
            "latency_p50_ms": p50,
            "latency_p99_ms": p99,
            "server_us_per_msg": round((hb_server + hb_db) * 1e6 / answered, 1)
            if answered
            else None,
            "rss_after_heartbeats_kib": rss_after,
            "foreign_cores_busy_heartbeats": hb_foreign,
        }
    figures |= {
        "call_errors": total["call_errors"],
        "timeouts": total["timeouts"],
        "errors": errors,
    }
    if errors or total["connect_failures"]:
        figures["server_log"] = server.log_summary()
    return figures


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--mode", choices=("closed", "paced", "connect", "hold"), default="closed")
    p.add_argument(
        "--interval", type=float, default=2.0, help="paced: seconds per charger; hold: spread"
    )
    p.add_argument("--duration", type=float, default=10.0, help="steady-state window, seconds")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--workers", type=int, default=2, help="connect/hold: load-generator processes")
    p.add_argument("--concurrency", type=int, default=200, help="connects at once per worker")
    p.add_argument("--name", help="the run's name in the JSON line")
    return p


def main() -> None:
    print(json.dumps(run(parser().parse_args())), flush=True)


if __name__ == "__main__":
    main()
