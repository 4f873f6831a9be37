"""The command-line contract other issues and outside checks rely on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.server_process import run_cli


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/cli.db"


def fails(url: str, *args: str) -> str:
    result = run_cli(*args, db_url=url, check=False)
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evgate"), result.stderr
    return lines[0]


def test_sites_chargers_tokens(url: str) -> None:
    out = run_cli(
        "sites",
        "add",
        "OSLO",
        "--tz",
        "Europe/Oslo",
        "--currency",
        "NOK",
        "--vat",
        "25",
        "--plan",
        "business",
        "--allow-passwordless",
        db_url=url,
    ).stdout
    assert "OSLO" in out
    run_cli("chargers", "add", "WB-1", "--site", "OSLO", db_url=url)
    run_cli(
        "chargers", "add", "WB-2", "--site", "OSLO", "--password", "0123456789abcdef", db_url=url
    )
    run_cli("tokens", "add", "RFID-1", "--site", "OSLO", db_url=url)
    listed = run_cli("chargers", "list", "--json", db_url=url).stdout
    assert '"WB-1"' in listed and "password_hash" not in listed
    assert run_cli("sessions", "list", "--json", db_url=url).stdout.strip() == "[]"


def test_bad_input_exits_non_zero_with_one_line(url: str) -> None:
    run_cli("sites", "add", "S", "--tz", "UTC", "--currency", "EUR", "--vat", "21", db_url=url)
    assert "exists already" in fails(
        url, "sites", "add", "S", "--tz", "UTC", "--currency", "EUR", "--vat", "1"
    )
    assert "time zone" in fails(
        url, "sites", "add", "X", "--tz", "Moon/Base", "--currency", "EUR", "--vat", "1"
    )
    assert "currency" in fails(
        url, "sites", "add", "X", "--tz", "UTC", "--currency", "euro", "--vat", "1"
    )
    assert "VAT" in fails(
        url, "sites", "add", "X", "--tz", "UTC", "--currency", "EUR", "--vat", "lots"
    )
    assert "no site" in fails(url, "chargers", "add", "C", "--site", "NOPE")
    assert "16 to 40" in fails(url, "chargers", "add", "C", "--site", "S", "--password", "short")
    assert "id tag" in fails(url, "tokens", "add", "X" * 21, "--site", "S")
    assert "database" in fails("mysql://nowhere/db", "sessions", "list")


def test_csv_imports_all_or_nothing_with_line_numbers(url: str, tmp_path: Path) -> None:
    run_cli("sites", "add", "S", "--tz", "UTC", "--currency", "EUR", "--vat", "21", db_url=url)
    good = tmp_path / "chargers.csv"
    good.write_text("id,password\n" + "".join(f"CP-{i:05d},\n" for i in range(10_000)))
    started = time.monotonic()
    assert (
        "10000 chargers"
        in run_cli("chargers", "import", str(good), "--site", "S", db_url=url).stdout
    )
    elapsed = time.monotonic() - started
    print(f"10,000 chargers imported in {elapsed:.2f} s")

    bad = tmp_path / "bad.csv"
    bad.write_text("id,password\nNEW-1,\nNEW-2,tooshort\nNEW-3,\n")
    assert "bad.csv:3" in fails(url, "chargers", "import", str(bad), "--site", "S")
    dup = tmp_path / "dup.csv"
    dup.write_text("NEW-1\nCP-00007\n")  # no header; the second row exists already
    assert "CP-00007" in fails(url, "chargers", "import", str(dup), "--site", "S")
    listed = run_cli("chargers", "list", "--json", db_url=url).stdout
    assert "NEW-1" not in listed  # nothing of a failed import was written

    tags = tmp_path / "tags.csv"
    tags.write_text("id_tag\n" + "".join(f"TAG{i}\n" for i in range(10_000)))
    assert (
        "10000 tokens" in run_cli("tokens", "import", str(tags), "--site", "S", db_url=url).stdout
    )
    repeat = tmp_path / "repeat.csv"
    repeat.write_text("id_tag\nA\nB\nA\n")
    assert "repeat.csv:4" in fails(url, "tokens", "import", str(repeat), "--site", "S")
    assert "cannot read" in fails(
        url, "tokens", "import", str(tmp_path / "none.csv"), "--site", "S"
    )


def test_serve_refuses_bad_settings(url: str) -> None:
    assert "invalid int value" in fails(url, "serve", "--ocpp-port", "x")
    assert "required" in fails(url, "sites", "add", "X")
    line = fails(url, "serve", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key")
    assert "TLS file" in line


def test_store_errors_raised_outside_a_transaction_are_one_line(url: str) -> None:
    """Checked before the database is opened: still a user error, not a traceback."""
    assert "needs a site" in fails(url, "admin", "create-token", "--role", "admin")
