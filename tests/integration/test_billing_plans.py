"""Fixed fees without SQL: plans, bundles, recurring fees of N times and one-off charges,
added through the API and the CLI, billed by a real run, and never changed once invoiced."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import RunOptions, run_billing
from config.api import create_app
from store import api_tokens
from store.billing_schema import invoice_lines, invoices
from store.db import create_engine
from store.schema import audit_log
from tests.integration.api.conftest import add_subscriber
from tests.integration.test_cli_audit import cli, entries
from tests.unit.billing.billing_testkit import NOW, World, local, rows


def month_run(period: str) -> RunOptions:
    year, month = map(int, period.split("-"))
    after = datetime(year + month // 12, month % 12 + 1, 2, 12, tzinfo=UTC)
    return RunOptions(period, now=max(after, NOW))


async def fee_lines(engine: AsyncEngine, sub: int) -> dict[str, list[tuple[str, int]]]:
    by_invoice = {
        r["id"]: r["period"] for r in await rows(engine, invoices) if r["subscriber_id"] == sub
    }
    out: dict[str, list[tuple[str, int]]] = {}
    for line in await rows(engine, invoice_lines, invoice_lines.c.id):
        if line["invoice_id"] in by_invoice and line["kind"] == "fee":
            out.setdefault(by_invoice[line["invoice_id"]], []).append(
                (line["description"], line["net"])
            )
    return out


async def test_plans_bundles_and_charges_through_the_api(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    sub = await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    async with engine.begin() as conn:
        token = (await api_tokens.create_token(conn, "admin", w.site, "oslo"))[1]
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:

        async def post(path: str, body: dict[str, Any]) -> httpx.Response:
            return await http.post(f"/api/v1/subscribers/{sub}/{path}", json=body, headers=headers)

        monthly = {"lines": [{"description": "Parking", "amount": "300.00"}], "period_months": 1}
        r = await post("plans", {**monthly, "first_period": "2026-10", "times": 2})
        assert r.status_code == 201, r.text
        (parking,) = r.json()
        assert (parking["amount"], parking["last_period"]) == (30000, "2026-11")
        bundle = {
            "bundle": "Business",
            "lines": [
                {"description": "Charging subscription", "amount": 45000},
                {"description": "Insurance", "amount": "60.00", "vat_percent": 0},
            ],
            "period_months": 3,
            "first_period": "2026-11",
        }
        r = await post("plans", bundle)
        assert r.status_code == 201, r.text
        assert [(p["bundle"], p["vat_bp"]) for p in r.json()] == [
            ("Business", None),
            ("Business", 0),
        ]
        r = await post("charges", {"description": "Key card", "amount": "50", "period": "2026-10"})
        assert r.status_code == 201 and r.json()["one_off"] is True
        refused = {
            "period 2": {**monthly, "period_months": 2, "first_period": "2026-10"},
            "several lines": {**bundle, "bundle": None},
            "both ends": {
                **monthly,
                "first_period": "2026-10",
                "times": 2,
                "last_period": "2027-01",
            },
            "decimals": {
                "lines": [{"description": "x", "amount": "1.234"}],
                "period_months": 1,
                "first_period": "2026-10",
            },
            "month": {**monthly, "first_period": "2026-13"},
        }
        for why, body in refused.items():
            r = await post("plans", body)
            assert r.status_code == 422, (why, r.text)
            assert r.json()["detail"], why
        listed = (await http.get(f"/api/v1/subscribers/{sub}/plans", headers=headers)).json()
        assert len(listed) == 4

        await run_billing(engine, month_run("2026-10"))
        late = await post(
            "charges", {"description": "Late", "amount": "10.00", "period": "2026-10"}
        )
        assert late.status_code == 409 and "already has its invoice for 2026-10" in late.text
        # the bundle's first quarter is on October's invoice, in advance: it cannot end sooner
        insurance = listed[2]["id"]
        r = await http.patch(
            f"/api/v1/plans/{insurance}", json={"last_period": "2026-11"}, headers=headers
        )
        assert (
            r.status_code == 409 and "up to 2027-01 is already on the invoice for 2026-10" in r.text
        )
        r = await http.patch(
            f"/api/v1/plans/{insurance}", json={"last_period": "2027-01"}, headers=headers
        )
        assert r.status_code == 200 and r.json()["last_period"] == "2027-01"
    await run_billing(engine, month_run("2026-11"))
    await run_billing(engine, month_run("2026-12"))
    fees = await fee_lines(engine, sub)
    assert fees["2026-10"] == [
        ("Parking (2026-10)", 30000),
        ("Charging subscription (2026-11..2027-01)", 45000),
        ("Insurance (2026-11..2027-01)", 6000),
        ("Key card (2026-10)", 5000),
    ]
    assert fees["2026-11"] == [("Parking (2026-11)", 30000)]  # the second and last time
    assert "2026-12" not in fees  # nothing is due: the bundle's next quarter starts in February
    actions = [
        e["action"]
        for e in await rows(engine, audit_log)
        if e["action"].startswith(("plan.", "charge."))
    ]
    assert actions == ["plan.add", "plan.add", "plan.add", "charge.add", "plan.end"]


def _listed(db_url: str, sub: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert cli(db_url, "plans", "list", sub, "--json") == 0
    return capsys.readouterr().out


async def _subscriber(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            return await add_subscriber(conn, "OSLO", "TAG-A")
    finally:
        await engine.dispose()


def test_the_cli_adds_lists_and_ends_plans(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25")
    assert cli(db_url, "sites", "add", "OSLO", *args) == 0
    sub = str(asyncio.run(_subscriber(db_url)))
    capsys.readouterr()
    line = "Parking=300.00"
    code = cli(db_url, "plans", "add", sub, "--line", line, "--from", "2027-01", "--times", "3")
    if code != 0:
        pytest.fail(capsys.readouterr().err)
    out = capsys.readouterr().out
    assert "Parking\t300.00 NOK\tevery 1 month(s)\t2027-01..2027-03" in out
    assert (
        cli(db_url, "plans", "add", sub, "--line", "A=1", "--line", "B=2@0", "--from", "2027-01")
        == 2
    )
    assert "bundle" in capsys.readouterr().err
    two = ("--line", "Spot=100", "--line", "Cover=20@0", "--bundle", "Garage", "--every", "12")
    assert cli(db_url, "plans", "add", sub, *two, "--from", "2027-02") == 0
    assert cli(db_url, "plans", "charge", sub, "--line", "Key card=50", "--month", "2027-01") == 0
    assert cli(db_url, "plans", "add", sub, "--line", "no amount", "--from", "2027-01") == 2
    assert "is not DESCRIPTION=AMOUNT" in capsys.readouterr().err
    first = json.loads(_listed(db_url, sub, capsys))[0]["id"]
    assert cli(db_url, "plans", "end", str(first), "--after", "2027-02") == 0
    capsys.readouterr()
    assert cli(db_url, "plans", "list", sub) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 4 and listed[0].endswith("2027-01..2027-02")
    assert "[Garage]" in listed[1] and "every 12 month(s)" in listed[1]
    assert "one-off" in listed[3]
    log = [e["action"] for e in entries(db_url) if e["action"].startswith(("plan.", "charge."))]
    assert log == ["plan.add", "plan.add", "plan.add", "charge.add", "plan.end"]
