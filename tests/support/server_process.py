"""`evgate serve` as a real subprocess on free ports, to kill and restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.services import free_port


def evgate_command() -> list[str]:
    script = Path(sys.executable).with_name("evgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "config.cli"]


def run_cli(*args: str, db_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*evgate_command(), *args],
        env={**os.environ, "EVGATE_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"evgate {' '.join(args)} failed: {result.stderr}")
    return result


def add_business_site(db_url: str, site_id: str = "S1", passwordless: bool = True) -> None:
    """The site most end-to-end tests start from: Oslo, NOK, 25 % VAT, business plan."""
    run_cli(
        "sites",
        "add",
        site_id,
        "--tz",
        "Europe/Oslo",
        "--currency",
        "NOK",
        "--vat",
        "25",
        "--plan",
        "business",
        *(["--allow-passwordless"] if passwordless else []),
        db_url=db_url,
    )


class ServeProcess:
    def __init__(self, db_url: str, log_path: Path, *extra: str) -> None:
        self.db_url = db_url
        self.log_path = log_path
        self.extra = extra
        self.ocpp_port = free_port()
        self.api_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    def start(self, timeout: float = 30) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [
                *evgate_command(),
                "serve",
                "--database-url",
                self.db_url,
                "--host",
                "127.0.0.1",
                "--ocpp-port",
                str(self.ocpp_port),
                "--api-port",
                str(self.api_port),
                *self.extra,
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"evgate serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.ocpp_port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("evgate serve did not start listening")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self) -> int | None:
        self.kill(signal.SIGTERM)
        return self.proc.returncode if self.proc is not None else None
