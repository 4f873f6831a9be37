"""Manual invoices on both engines: issued through the API and the CLI, numbered in the same
gap-free series as the run's (before and after it, in the same month), with KID, audit,
event and mail; refused line by line in readable words; their EHF valid."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lxml import etree
from peppol import check_rules, validate_xsd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.manual import LineInput
from billing.run import RunOptions, run_billing
from billing.views import ubl_of
from config.api import create_app
from config.cli import main
from services.context import CLI
from services.manual_invoices import issue_manual_invoice
from store import api_tokens
from store.billing_schema import invoices
from store.mail_schema import mail_outbox
from store.schema import audit_log, outbox
from tests.unit.billing.billing_testkit import NOW, World, local, rows
from tests.unit.billing.ubl_rules import NS, findings

SELLER = {
    "legal_name": "Sjøsiden Lading AS",
    "street": "Strandveien 1",
    "postcode": "0150",
    "city": "Oslo",
    "orgnr": "923609016",
    "vat_number": "NO923609016MVA",
    "foretaksregisteret": True,
    "account": "86011117947",
}
OCTOBER = datetime(2026, 10, 15, 10, tzinfo=UTC)


async def _tokens(engine: AsyncEngine, site: str) -> tuple[dict[str, str], dict[str, str]]:
    async with engine.begin() as conn:
        admin = (await api_tokens.create_token(conn, "admin", site, "oslo"))[1]
        viewer = (await api_tokens.create_token(conn, "viewer", site, "ro"))[1]
    return {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {viewer}"}


async def _manual(engine: AsyncEngine, sub: int, *lines: str, now: datetime) -> dict[str, Any]:
    async with engine.begin() as conn:
        parsed = [LineInput(*line.split(";")) for line in lines]
        return await issue_manual_invoice(conn, CLI, sub, parsed, now=now)


async def test_numbers_continue_with_the_run_and_the_run_still_bills_the_month(
    engine: AsyncEngine,
) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A", language="nb")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    # a manual invoice in October, before the run: the run's invoice of October still comes
    first = await _manual(engine, a, "Key card;2;50.00;25", "Deposit;1;100.00;0", now=OCTOBER)
    assert (first["number"], first["kind"], first["period"]) == ("OSL-000001", "manual", "2026-10")
    assert (first["net"], first["vat"], first["total"]) == (20_000, 2_500, 22_500)
    assert [(ln["kind"], ln["quantity"], ln["unit_price"], ln["net"]) for ln in first["lines"]] == [
        ("item", "2", 5_000, 10_000),
        ("item", "1", 10_000, 10_000),
    ]
    assert first["kid"] and first["state"] == "issued"
    report = await run_billing(engine, RunOptions("2026-10", now=NOW))
    assert report.invoices == 1 and report.already_invoiced == 0
    later = await _manual(engine, a, "Re-invoice after CN;1,5;33.33;25", now=NOW)
    assert later["number"] == "OSL-000003" and later["lines"][0]["net"] == 5_000  # 49.995
    stored = await rows(engine, invoices, invoices.c.number)
    assert [(r["number_text"], r["kind"]) for r in stored] == [
        ("OSL-000001", "manual"),
        ("OSL-000002", "automatic"),
        ("OSL-000003", "manual"),
    ]
    # a re-run of the month changes nothing (its automatic invoice is there)
    again = await run_billing(engine, RunOptions("2026-10", now=NOW))
    assert again.invoices == 0
    audit = await rows(engine, audit_log, audit_log.c.id)
    manual = [e for e in audit if e["action"] == "invoice.manual"]
    assert [e["target_id"] for e in manual] == ["OSL-000001", "OSL-000003"]
    events = [e for e in await rows(engine, outbox, outbox.c.id) if e["kind"] == "invoice_issued"]
    assert [(e["payload"]["number"], e["payload"]["kind"]) for e in events] == [
        ("OSL-000001", "manual"),
        ("OSL-000002", "automatic"),
        ("OSL-000003", "manual"),
    ]
    mails = await rows(engine, mail_outbox, mail_outbox.c.id)
    assert [m["attachments"] for m in mails if m["kind"] == "invoice_issued"] == [
        [{"invoice_number": n}] for n in ("OSL-000001", "OSL-000002", "OSL-000003")
    ]


async def test_over_the_api_with_readable_refusals_and_a_valid_ehf(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A", language="nb")
    as_admin, as_viewer = await _tokens(engine, w.site)
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        r = await http.patch(f"/api/v1/sites/{w.site}/seller", json=SELLER, headers=as_admin)
        assert r.status_code == 200, r.text
        body = {"street": "Kundegata 9", "postcode": "5003", "city": "Bergen"}
        r = await http.patch(
            f"/api/v1/subscribers/{a}/buyer", json={**body, "orgnr": "974760673"}, headers=as_admin
        )
        assert r.status_code == 200, r.text
        url = f"/api/v1/subscribers/{a}/invoices"
        line = {
            "description": "Key card",
            "quantity": "1",
            "unit_price": "50.00",
            "vat_percent": 25,
        }
        bad = [
            ({**line, "quantity": "two"}, "line 1 ('Key card'): quantity 'two' is not a number"),
            ({**line, "unit_price": "-5"}, "unit price must be 0 or more"),
            ({**line, "unit_price": "1.234"}, "at most 2 decimals"),
            ({**line, "vat_percent": "125"}, "the VAT must be 0 to 100 %"),
            ({**line, "description": " "}, "line 1: the text must be 1 to 200 characters"),
            ({**line, "quantity": "-1"}, "the lines add up to 0 or less"),
        ]
        for wrong, words in bad:
            r = await http.post(url, json={"lines": [wrong]}, headers=as_admin)
            assert r.status_code == 422, r.text
            assert words in r.json()["detail"]
        r = await http.post(url, json={"lines": []}, headers=as_admin)
        assert r.status_code == 422
        assert (await http.post(url, json={"lines": [line]}, headers=as_viewer)).status_code == 403
        assert (
            await http.post("/api/v1/subscribers/999/invoices", json={"lines": [line]},
                            headers=as_admin)
        ).status_code == 404  # fmt: skip
        two = [line, {**line, "description": "Parking correction", "quantity": "-0.5"}]
        r = await http.post(url, json={"lines": two}, headers=as_admin)
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["number"], made["kind"], made["total"]) == ("OSL-000001", "manual", 3_125)
        listed = (await http.get(f"/api/v1/invoices?subscriber_id={a}", headers=as_viewer)).json()
        assert [(i["number"], i["kind"]) for i in listed] == [("OSL-000001", "manual")]
        xml = (await http.get("/api/v1/invoices/OSL-000001/ubl", headers=as_viewer)).content
    assert_valid_ehf(xml)
    root = etree.fromstring(xml)
    assert [q.text for q in root.iterfind("cac:InvoiceLine/cbc:InvoicedQuantity", NS)] == [
        "1",
        "-0.5",
    ]
    async with engine.connect() as conn:
        assert await ubl_of(conn, "OSL-000001") == xml


def assert_valid_ehf(xml: bytes) -> None:
    """The checks every EHF of the tests passes (tests/unit/billing/test_ubl.py's)."""
    ok, errors = validate_xsd(xml)
    assert ok, errors
    assert [str(f) for f in check_rules(xml) if f.severity == "fatal"] == []
    assert findings(xml, warnings=True) == []


def _cli(url: str, *args: str) -> int:
    return main([*args, "--database-url", url])


def test_the_cli_issues_one_and_lists_kinds(
    db_url: str, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    async def setup() -> int:
        w = await World(engine).setup()
        sub = await w.subscriber("A")
        await engine.dispose()
        return sub

    sub = asyncio.run(setup())
    line = ["--line", "Key card;1;50.00;25"]
    assert _cli(db_url, "invoices", "manual", "--subscriber", str(sub), "--line", "Key card;1") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "TEXT;QTY;UNIT_PRICE;VAT%" in err
    assert _cli(db_url, "invoices", "manual", "--subscriber", str(sub),
                "--line", "Key card;1;50,00;x") == 2  # fmt: skip
    assert "VAT 'x' is not a number" in capsys.readouterr().err
    assert _cli(db_url, "invoices", "manual", "--subscriber", str(sub), *line) == 0
    out = capsys.readouterr().out
    assert out.startswith("manual invoice OSL-000001 to subscriber") and "62.50 NOK" in out
    assert _cli(db_url, "invoices", "manual", "--subscriber", str(sub), *line, "--json") == 0
    assert json.loads(capsys.readouterr().out)["number"] == "OSL-000002"
    assert _cli(db_url, "invoices", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(i["number"], i["kind"], i["lines"][0]["quantity"]) for i in listed] == [
        ("OSL-000001", "manual", "1"),
        ("OSL-000002", "manual", "1"),
    ]
    assert _cli(db_url, "invoices", "list") == 0
    assert "\tmanual\t" in capsys.readouterr().out

    async def kinds() -> list[str]:
        async with engine.connect() as conn:
            return list((await conn.execute(select(invoices.c.kind))).scalars())

    assert asyncio.run(kinds()) == ["manual", "manual"]
