"""CLI writes go through services/ like the API's: audited with actor "cli", in the same
transaction (a refused write leaves no entry), and readable over GET /api/v1/audit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.api import create_app
from config.cli import main
from store import audit, migrate
from store.db import create_engine


def cli(url: str, *args: str) -> int:
    return main([*args, "--database-url", url])


async def _entries(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            return await audit.entries(conn, limit=1000)
    finally:
        await engine.dispose()


def entries(url: str) -> list[dict[str, Any]]:
    """Oldest first."""
    return list(reversed(asyncio.run(_entries(url))))


def test_cli_writes_are_audited_as_cli(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25", "--plan", "business")
    assert cli(db_url, "sites", "add", "OSLO", *args) == 0
    assert cli(db_url, "chargers", "add", "WB-1", "--site", "OSLO") == 0
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("id,password\nWB-2,\nWB-3,0123456789abcdef\n")
    assert cli(db_url, "chargers", "import", str(fleet), "--site", "OSLO") == 0
    assert cli(db_url, "tokens", "add", "RFID-1", "--site", "OSLO") == 0
    cards = tmp_path / "cards.csv"
    cards.write_text("id_tag\nRFID-2\nRFID-3\n")
    assert cli(db_url, "tokens", "import", str(cards), "--site", "OSLO") == 0
    assert cli(db_url, "tokens", "block", "RFID-2", "--site", "OSLO") == 0
    assert cli(db_url, "tokens", "unblock", "RFID-2", "--site", "OSLO") == 0
    capsys.readouterr()
    assert cli(db_url, "admin", "create-token", "--role", "viewer", "--name", "auditor") == 0
    token = capsys.readouterr().out.strip()

    log = entries(db_url)
    assert {e["actor"] for e in log} == {"cli"}
    assert [(e["action"], e["target_id"]) for e in log] == [
        ("site.create", "OSLO"),
        ("charger.create", "WB-1"),
        ("charger.import", "OSLO"),
        ("token.create", "RFID-1"),
        ("token.import", "OSLO"),
        ("token.block", "RFID-2"),
        ("token.unblock", "RFID-2"),
        ("api_token.create", log[-1]["target_id"]),
    ]
    assert log[0]["after"]["currency"] == "NOK" and log[0]["site_id"] == "OSLO"
    assert log[2]["after"] == {"count": 2, "charger_ids": ["WB-2", "WB-3"]}
    assert "password_hash" not in str(log[1]["after"]) and "password_hash" not in str(log[2])
    assert log[4]["after"] == {"count": 2, "id_tags": ["RFID-2", "RFID-3"]}
    assert log[-1]["after"] == {"role": "viewer", "site_id": None, "name": "auditor"}

    # a refused write (a charger that exists already) rolls its entry back with it
    again = tmp_path / "again.csv"
    again.write_text("WB-9\nWB-1\n")
    assert cli(db_url, "chargers", "import", str(again), "--site", "OSLO") == 2
    assert "exists already" in capsys.readouterr().err
    assert len(entries(db_url)) == len(log)

    # the API reads the same log: the token the CLI made sees the CLI's entries
    async def over_http() -> list[dict[str, Any]]:
        engine = create_engine(db_url)
        transport = httpx.ASGITransport(app=create_app(engine))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get(
                    "/api/v1/audit", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200, response.text
                body: list[dict[str, Any]] = response.json()
                return body
        finally:
            await engine.dispose()

    served = asyncio.run(over_http())
    assert [e["actor"] for e in served] == ["cli"] * len(log)
    assert served[-1]["action"] == "site.create"
