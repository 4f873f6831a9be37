"""A site's billing settings without SQL: read and changed through the API and the CLI, with
the legal cap on reminder fees enforced, audited, and obeyed by the daily reminder job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning import daily
from billing.run import RunOptions, run_billing
from config.api import create_app
from services.billing import update_billing_settings
from store import api_tokens
from store.billing_schema import invoices, reminders
from store.schema import audit_log
from tests.integration.test_cli_audit import cli, entries
from tests.unit.billing.billing_testkit import NOW, World, local, rows

OCT = RunOptions("2026-10", now=NOW)


async def _tokens(engine: AsyncEngine, site: str) -> dict[str, dict[str, str]]:
    async with engine.begin() as conn:
        made = {
            "super": (await api_tokens.create_token(conn, "super-admin", None, "root"))[1],
            "admin": (await api_tokens.create_token(conn, "admin", site, "oslo"))[1],
            "viewer": (await api_tokens.create_token(conn, "viewer", site, "ro"))[1],
        }
    return {k: {"Authorization": f"Bearer {v}"} for k, v in made.items()}


async def test_the_api_changes_settings_within_the_legal_cap(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    who = await _tokens(engine, w.site)
    url = f"/api/v1/sites/{w.site}/billing-settings"
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:

        async def patch(role: str, body: dict[str, Any]) -> httpx.Response:
            return await http.patch(url, json=body, headers=who[role])

        shown = (await http.get(url, headers=who["viewer"])).json()
        assert shown["currency"] == "NOK" and shown["payment_terms_days"] == 30
        assert (shown["reminder_fee_cap"], shown["fee_reminders"], shown["reminder_fee"]) == (
            7000,
            2,
            0,
        )
        r = await patch("admin", {"reminder_fee": "70.01"})
        assert r.status_code == 422 and "exceeds the site's legal cap 70.00 NOK" in r.text
        r = await patch("admin", {"reminder_fee": "35.00", "reminder_interval_days": 7})
        assert r.status_code == 422 and "at least 14 days" in r.text
        r = await patch("admin", {"reminder_fee_cap": "100.00"})
        assert r.status_code == 403 and "super-admin" in r.text
        assert (await patch("viewer", {"reminder_count": 1})).status_code == 403
        assert (await patch("admin", {"colour": "red"})).status_code == 422
        r = await patch("admin", {"reminder_fee": "70.00", "reminder_count": 3})
        assert r.status_code == 200, r.text
        assert (r.json()["reminder_fee"], r.json()["reminder_count"]) == (7000, 3)
        r = await patch("super", {"reminder_fee_cap": 5000})  # below the fee in force
        assert r.status_code == 422 and "legal cap 50.00 NOK" in r.text
        r = await patch("super", {"fee_reminders": 1})
        assert r.status_code == 200 and r.json()["fee_reminders"] == 1
        r = await patch("super", {"reminder_fee_cap": None, "fee_reminders": None})
        assert (r.json()["reminder_fee_cap"], r.json()["fee_reminders"]) == (7000, 2)
    audited = [e for e in await rows(engine, audit_log) if e["action"] == "billing_settings.update"]
    assert [sorted(e["after"]) for e in audited] == [
        ["reminder_count", "reminder_fee"],
        ["fee_reminders"],
        ["fee_reminders"],  # back to the default 2: the cap was 7000 all along
    ]
    assert audited[0]["before"] == {"reminder_count": 2, "reminder_fee": 0}


async def test_reminders_past_the_fee_count_carry_no_fee(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    async with engine.begin() as conn:
        await update_billing_settings(
            conn,
            w.site,
            {"reminder_count": 3, "reminder_fee": "50.00", "fee_reminders": 1},
            actor="cli",
        )
    due = inv["due_at"]
    for days in (14, 28, 42, 56):
        await daily(engine, due + timedelta(days=days))
    fees = [(r["n"], r["fee"]) for r in await rows(engine, reminders, reminders.c.n)]
    assert fees == [(1, 5000), (2, 0), (3, 0)]


def test_the_cli_shows_and_changes_billing_settings(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "DKK", "--vat", "25")
    assert cli(db_url, "sites", "add", "CPH", *args) == 0
    capsys.readouterr()
    assert cli(db_url, "sites", "billing", "CPH") == 0
    out = capsys.readouterr().out
    assert "KID mod10, 30 days to pay" in out and "on the first 3" in out
    assert cli(db_url, "sites", "billing", "CPH", "--reminder-fee", "100.01") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "legal cap 100.00 DKK" in err
    assert (
        cli(db_url, "sites", "billing", "CPH", "--reminder-fee", "100", "--kid-mode", "mod11") == 0
    )
    capsys.readouterr()
    assert cli(db_url, "sites", "billing", "CPH", "--reminder-fee-cap", "default", "--json") == 0
    shown = capsys.readouterr().out
    assert '"reminder_fee": 10000' in shown and '"kid_mode": "mod11"' in shown
    log = [e for e in entries(db_url) if e["action"] == "billing_settings.update"]
    assert log[0]["actor"] == "cli" and log[0]["after"] == {
        "kid_mode": "mod11",
        "reminder_fee": 10000,
    }
