"""Do chargers wait for anything else? Ack latency under the API's and the billing run's load.

200 chargers send MeterValues at a paced 500 per second to `evgate serve` on SQLite (every ack
after its commit) while one of these runs inside the measuring window:

- ``rest``: nothing;
- ``billing``: ``POST /api/v1/billing-runs`` for a month of ``--sessions`` sessions (and, when
  the API answers 202, its progress polled until the run is done);
- ``body``: an unauthenticated 50 MB JSON body posted to ``/api/v1/tariffs/simple``;
- ``passwords``: 500 WebSocket openings with a wrong password for one charger id.

One JSON line per case: ack p50/p99 in the window, and how long the disturbance took.

    python -m bench.loop_isolation [--sessions 200000] [--only rest billing body passwords]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.billing_bench import generate
from bench.ocpp_load import ROOT, evgate, free_port, machine_busy, raise_nofile_limit
from billing.months import period_of, shift
from store.db import create_engine
from store.schema import sessions as sessions_table
from store.schema import sites

CASES = ("rest", "billing", "body", "passwords")
PASSWORD = "bench-charger-password-1"
CHARGERS = 200
RATE = 500  # MeterValues per second, all chargers together
# the month billed: the last finished one, so that its run takes the generated October sessions
# along as late ones (the scheduler's own run of it at start found none billable)
PERIOD = shift(period_of(datetime.now(UTC), "Europe/Oslo"), -1)


def _prepare(work: Path, sessions: int) -> tuple[str, str]:
    """A SQLite database with a month to bill, the load fleet and a charger with a password;
    the database URL and a super-admin API token."""
    url = f"sqlite+aiosqlite:///{work}/evgate.db"

    async def seed() -> None:
        engine = create_engine(url)
        await generate(engine, sessions, max(sessions // 100, 1), 50)
        async with engine.begin() as conn:
            await conn.execute(update(sites).values(allow_passwordless=True))
            # out of the scheduler's reach until the server runs (see _billable)
            await conn.execute(update(sessions_table).values(monthly_payment=False))
        await engine.dispose()

    asyncio.run(seed())
    (work / "fleet.csv").write_text(
        "".join(f"CP-{i:06d}\n" for i in range(1, CHARGERS + 1)) + f"LOCKED,{PASSWORD}\n"
    )
    evgate("chargers", "import", str(work / "fleet.csv"), "--site", "BENCH", url=url)
    out = subprocess.run(
        [sys.executable, "-m", "config.cli", "admin", "create-token", "--role", "super-admin"],
        cwd=ROOT,
        env={**os.environ, "EVGATE_DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    token = next(w for w in out.split() if w.startswith("evg_"))
    return url, token


@contextlib.contextmanager
def _serve(work: Path, url: str) -> Iterator[tuple[int, int, subprocess.Popen[bytes]]]:
    port, api_port = free_port(), free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "config.cli", "serve", "--database-url", url),
            *("--ocpp-port", str(port), "--api-port", str(api_port), "--log-level", "WARNING"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=open(work / "serve.log", "wb"),  # noqa: SIM115
    )
    try:
        assert server.stdout is not None
        if not server.stdout.readline():
            server.wait(10)
            raise RuntimeError((work / "serve.log").read_text(errors="replace")[-2000:])
        time.sleep(0.5)
        yield port, api_port, server
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def _billable(url: str) -> None:
    """Make the month's sessions billable once `evgate serve` has started: its scheduler bills
    the last finished month at start, and the run measured must be the API's."""

    async def flip() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(update(sessions_table).values(monthly_payment=True))
        await engine.dispose()

    asyncio.run(flip())


def _billing(api_port: int, token: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=600)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("POST", "/api/v1/billing-runs", json.dumps({"period": PERIOD}), headers)
    response = conn.getresponse()
    body = json.loads(response.read() or b"{}")
    if response.status == 202:  # a job: follow it until it has ended (10 minutes at most)
        run_id = body.get("id")
        deadline = time.monotonic() + 600
        while body.get("state") in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            conn.request("GET", f"/api/v1/billing-runs/{run_id}", headers=headers)
            response = conn.getresponse()
            body = json.loads(response.read() or b"{}")
    conn.close()
    report = body.get("report") or body
    return {
        "status": response.status,
        "state": body.get("state"),
        "invoices": report.get("invoices"),
    }


def _body(api_port: int, token: str) -> dict[str, Any]:
    size = 50 * 1024 * 1024
    chunk = b'{"text": "' + b"9" * (size - 12) + b'"}'
    with socket.create_connection(("127.0.0.1", api_port), timeout=120) as sock:
        head = (
            "POST /api/v1/tariffs/simple HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(chunk)}\r\n\r\n"
        )
        sock.sendall(head.encode())
        # the server may answer and close before reading it all: good
        with contextlib.suppress(OSError):
            sock.sendall(chunk)
        status = sock.recv(64).split(b" ")[1:2]
    return {"status": int(status[0]) if status else None}


def _passwords(port: int, token: str) -> dict[str, Any]:
    wrong = base64.b64encode(b"LOCKED:wrong-wrong-wrong-wrong").decode()
    statuses: dict[int, int] = {}
    for _ in range(500):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                (
                    "GET /ocpp/LOCKED HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
                    f"Authorization: Basic {wrong}\r\n\r\n"
                ).encode()
            )
            code = int(sock.recv(64).split(b" ")[1])
            statuses[code] = statuses.get(code, 0) + 1
    return {"statuses": statuses}


def _case(name: str, port: int, api_port: int, token: str, duration: float) -> dict[str, Any]:
    disturb: Callable[[int, str], dict[str, Any]] | None = {
        "rest": None,
        "billing": lambda _p, t: _billing(api_port, t),
        "body": lambda _p, t: _body(api_port, t),
        "passwords": lambda p, t: _passwords(p, t),
    }[name]
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.fleet_worker", "--url", f"ws://127.0.0.1:{port}/ocpp"),
            *("--chargers", str(CHARGERS), "--mode", "paced"),
            *("--interval", str(CHARGERS / RATE), "--duration", str(duration), "--warmup", "3"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    result: dict[str, Any] = {}
    thread: threading.Thread | None = None
    busy0 = machine_busy()
    for line in worker.stdout:
        if line.startswith("WINDOW start") and disturb is not None:

            def go(d: Callable[[int, str], dict[str, Any]] = disturb) -> None:
                t0 = time.monotonic()
                result.update(d(port, token))
                result["disturbance_s"] = round(time.monotonic() - t0, 2)

            thread = threading.Thread(target=go, daemon=True)
            thread.start()
        elif line.startswith("SUMMARY "):
            summary = json.loads(line[8:])
    worker.wait()
    if thread is not None:
        thread.join(600)
    return {
        "run": f"loop-{name}",
        "chargers": CHARGERS,
        "msg_per_s_goal": RATE,
        "acks": summary["window_acks"],
        "latency_p50_ms": summary["latency_p50_ms"],
        "latency_p99_ms": summary["latency_p99_ms"],
        "call_errors": summary["call_errors"],
        "timeouts": summary["timeouts"],
        "machine_busy_s": round(machine_busy() - busy0, 1),
        **result,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sessions", type=int, default=200_000)
    p.add_argument("--duration", type=float, default=15.0, help="seconds of measuring window")
    p.add_argument("--only", nargs="*", choices=CASES, default=list(CASES))
    args = p.parse_args()
    raise_nofile_limit()
    work = Path(tempfile.mkdtemp(prefix="evgate-loop-"))
    try:
        url, token = _prepare(work, args.sessions)
        with _serve(work, url) as (port, api_port, _server):
            time.sleep(2)  # the scheduler's first look
            _billable(url)
            for name in args.only:
                print(json.dumps(_case(name, port, api_port, token, args.duration)), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
