"""`evgate chargers reservations ID`: a charger's reservations from the database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from config.cli import main
from store import migrate
from store.db import create_engine
from store.schema import reservations

NOW = datetime.now(UTC)


def cli(url: str, *args: str) -> int:
    return main([*args, "--database-url", url])


async def _add(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            for rid, state, expires in ((1, "used", NOW), (2, "active", NOW - timedelta(1))):
                await conn.execute(
                    insert(reservations).values(
                        charger_id="WB-1",
                        reservation_id=rid,
                        connector_id=1,
                        id_tag="RFID-1",
                        parent_id_tag="FLEET" if rid == 2 else None,
                        expires_at=expires,
                        state=state,
                        status="Accepted",
                        created_at=NOW,
                    )
                )
    finally:
        await engine.dispose()


def test_lists_a_charger_s_reservations(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25", "--plan", "business")
    assert cli(db_url, "sites", "add", "OSLO", *args) == 0
    assert cli(db_url, "chargers", "add", "WB-1", "--site", "OSLO") == 0
    assert cli(db_url, "chargers", "reservations", "WB-1") == 0
    assert "WB-1 has no reservations" in capsys.readouterr().out
    asyncio.run(_add(db_url))
    assert cli(db_url, "chargers", "reservations", "WB-1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["2", "1"]
    assert "RFID-1 (parent FLEET)" in lines[0] and lines[0].split("\t")[4] == "expired"
    assert lines[1].split("\t")[4] == "used"
    assert cli(db_url, "chargers", "reservations", "WB-1", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["reservation_id"], r["state"]) for r in rows] == [(2, "expired"), (1, "used")]
    assert cli(db_url, "chargers", "reservations", "NOPE") != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NOPE" in err[0]
