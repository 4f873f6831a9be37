"""`evgate tokens expire` and `evgate sites policy`: stored, audited as the CLI, and a bad
value is one line on stderr with a non-zero exit (nothing stored)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from store.db import create_engine
from store.schema import sites, tokens
from tests.integration.test_cli_audit import cli, entries


async def stored(url: str) -> tuple[datetime | None, str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            expiry = (await conn.execute(select(tokens.c.expires_at))).scalar_one()
            policy = (await conn.execute(select(sites.c.auth_policy))).scalar_one()
            return expiry, policy
    finally:
        await engine.dispose()


def test_expiry_and_policy_from_the_cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25")
    assert cli(db_url, "sites", "add", "OSLO", *args, "--auth-policy", "registered") == 0
    assert cli(db_url, "tokens", "add", "RFID-1", "--site", "OSLO") == 0
    assert asyncio.run(stored(db_url)) == (None, "registered")
    at = "2027-01-31T23:59:59+01:00"
    assert cli(db_url, "tokens", "expire", "RFID-1", "--site", "OSLO", "--at", at) == 0
    assert asyncio.run(stored(db_url)) == (
        datetime(2027, 1, 31, 22, 59, 59, tzinfo=UTC),
        "registered",
    )
    assert cli(db_url, "sites", "policy", "OSLO", "open") == 0
    assert cli(db_url, "tokens", "expire", "RFID-1", "--site", "OSLO", "--never") == 0
    assert asyncio.run(stored(db_url)) == (None, "open")
    log = entries(db_url)
    assert [e["action"] for e in log[-3:]] == ["token.expiry", "site.update", "token.expiry"]
    assert log[-3]["after"] == {"id_tag": "RFID-1", "expires_at": "2027-01-31T22:59:59+00:00"}
    assert log[-2]["before"]["auth_policy"] == "registered"
    capsys.readouterr()

    for bad in ("tomorrow", "2027-01-31T23:59:59"):  # not a date-time; no offset
        assert cli(db_url, "tokens", "expire", "RFID-1", "--site", "OSLO", "--at", bad) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--at" in err
    assert cli(db_url, "tokens", "expire", "NOPE", "--site", "OSLO", "--never") == 2
    assert "no token 'NOPE'" in capsys.readouterr().err
    assert len(entries(db_url)) == len(log)  # refused: nothing audited
