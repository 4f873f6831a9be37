"""--max-connections / EVGATE_MAX_CONNECTIONS: parsed, checked, and 0 means automatic."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Settings, SettingsError
from gateway.ws_server import FD_RESERVE, default_max_sockets


def test_from_the_environment_and_flags_win() -> None:
    assert Settings.load(env={"EVGATE_MAX_CONNECTIONS": "5000"}).max_connections == 5000
    flag = Settings.load({"max_connections": 12}, env={"EVGATE_MAX_CONNECTIONS": "5000"})
    assert flag.max_connections == 12
    assert Settings.load(env={}).max_connections == 0


@pytest.mark.parametrize(
    ("raw", "message"), [("-1", "0 (automatic) or more"), ("many", "whole number")]
)
def test_bad_values_are_refused_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.load(env={"EVGATE_MAX_CONNECTIONS": raw})


def test_automatic_leaves_the_reserve_free() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert default_max_sockets() == max(soft - FD_RESERVE, 1)


def test_the_cli_says_why_in_one_line_and_exits_2() -> None:
    """Also as `python -m config.cli`, which the benchmarks use."""
    done = subprocess.run(
        [sys.executable, "-m", "config.cli", "serve", "--max-connections", "-1"],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == "evgate: max connections must be 0 (automatic) or more\n"
