"""Black-box helpers for end-to-end tests: evgate's command line, run as subprocesses.

Only the documented CLI contract is used (serve, sites/chargers/tokens add, sessions list
--json), so these tests say whether the simulator and the gateway agree from the outside.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVGATE = [sys.executable, "-m", "config.cli"]


def gateway_missing() -> str | None:
    """Why `evgate serve` cannot run here, or None when it can (checked at run time)."""
    try:
        proc = subprocess.run(
            [*EVGATE, "serve", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"evgate serve cannot start: {exc}"
    if proc.returncode != 0:
        return "the gateway is not built yet (evgate serve --help fails)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gateway:
    """A temp SQLite database and an `evgate serve` subprocess on free ports."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.db_url = f"sqlite+aiosqlite:///{workdir}/evgate.db"
        self.ocpp_port = free_port()
        self.api_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "serve.log"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    def cli(self, *args: str) -> str:
        env = {**os.environ, "EVGATE_DATABASE_URL": self.db_url}
        proc = subprocess.run(
            [*EVGATE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        if proc.returncode != 0:
            raise AssertionError(f"evgate {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    *EVGATE,
                    "serve",
                    "--database-url",
                    self.db_url,
                    "--host",
                    "127.0.0.1",
                    "--ocpp-port",
                    str(self.ocpp_port),
                    "--api-port",
                    str(self.api_port),
                    "--heartbeat-interval",
                    "30",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"evgate serve exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.ocpp_port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"evgate serve did not listen in {timeout} s")

    def stop(self) -> None:
        """SIGTERM, as an operator or a process manager would."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def sessions(self, charger_id: str | None = None) -> list[dict[str, Any]]:
        args = ["sessions", "list", "--json", "--database-url", self.db_url]
        if charger_id:
            args += ["--charger", charger_id]
        rows: list[dict[str, Any]] = json.loads(self.cli(*args))
        return rows
