"""`evgate payments import-ocr | assign | refund` and `evgate reports ...` on a real database:
the text and CSV they print, the one line and exit 1 of a bad file, nothing recorded twice."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from billing.money import format_amount
from billing.run import RunOptions, run_billing
from config.cli import main
from store import migrate
from store.billing_schema import invoices, payments
from store.db import create_engine
from tests.support.ocr_files import ocr_file
from tests.unit.billing.billing_testkit import NOW, World, local, rows


def cli(url: str, *args: str) -> int:
    return main([*args, "--database-url", url])


def billed(url: str) -> list[dict[str, Any]]:
    """Two issued invoices of OSLO, by number."""

    async def go() -> list[dict[str, Any]]:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
            w = await World(engine).setup()
            for i, key in enumerate("AB"):
                await w.subscriber(key)
                await w.session(key, local(f"2026-10-0{i + 1} 08:00"), 60, 10_000)
            await run_billing(engine, RunOptions("2026-10", now=NOW))
            return await rows(engine, invoices, invoices.c.number)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def table(url: str, t: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        engine = create_engine(url)
        try:
            return await rows(engine, t, t.c.id)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_import_assign_refund_and_reports(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = billed(db_url)
    path = tmp_path / "ocr.txt"
    path.write_bytes(
        ocr_file([(a["kid"], a["total"]), (b["kid"], 1000), ("4242", 300), ("4343", 50)])
    )
    assert cli(db_url, "payments", "import-ocr", str(path), "--site", "OSLO") == 0
    out = capsys.readouterr().out
    assert "4 transactions" in out
    assert (
        f"matched          2  {format_amount(a['total'] + 1000, 'NOK')} NOK".split()
        == out.splitlines()[1].split()
    )
    assert "unmatched" in out and "KID 4242 3.00 NOK: no invoice has this KID" in out
    assert cli(db_url, "payments", "import-ocr", str(path), "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["already_imported"] is True and again["duplicates_skipped"] == 4
    assert len(table(db_url, payments)) == 2

    # a bad file: one line, exit 1, nothing recorded
    broken = tmp_path / "broken.txt"
    broken.write_bytes(path.read_bytes()[:-81])
    assert cli(db_url, "payments", "import-ocr", str(broken)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing was recorded" in err
    assert cli(db_url, "payments", "import-ocr", str(tmp_path / "missing.txt")) == 1
    assert "cannot read" in capsys.readouterr().err

    assert cli(db_url, "reports", "unmatched", "--csv") == 0
    items = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(i["kid"], i["amount"], i["state"]) for i in items] == [
        ("4242", "300", "open"),
        ("4343", "50", "open"),
    ]
    first, second = items
    assert cli(db_url, "payments", "assign", first["id"], "--invoice", b["number_text"]) == 0
    assert f"paid {b['number_text']}: issued" in capsys.readouterr().out
    assert cli(db_url, "payments", "assign", first["id"], "--invoice", a["number_text"]) == 2
    assert "assigned to" in capsys.readouterr().err
    assert cli(db_url, "payments", "refund", second["id"], "--reason", "not ours") == 0
    assert "0.50 NOK due to account 99990000004" in capsys.readouterr().out
    assert cli(db_url, "payments", "assign", "999", "--invoice", a["number_text"]) == 2
    assert "no unmatched payment 999" in capsys.readouterr().err

    assert cli(db_url, "reports", "unmatched") == 0
    text = capsys.readouterr().out
    assert "assigned: 1, 3.00 NOK" in text and "refunds to pay out: 1, 0.50 NOK" in text
    assert cli(db_url, "reports", "unmatched", "--refunds", "--csv") == 0
    (owed,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (owed["kind"], owed["amount"], owed["payer_account"]) == ("refund", "50", "99990000004")

    stored = table(db_url, payments)
    assert cli(db_url, "reports", "payments", "--csv") == 0
    lines = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sum(int(r["amount"]) for r in lines) == sum(p["amount"] for p in stored)
    assert {r["period"] for r in lines} == {"2026-11"}
    assert cli(db_url, "reports", "payments") == 0
    total = sum(p["amount"] for p in stored)
    assert (
        f"total: {len(stored)} payments, {format_amount(total, 'NOK')} NOK"
        in capsys.readouterr().out
    )
    assert cli(db_url, "reports", "payments", "--from", "1 Nov") == 2
    assert "--from '1 Nov' must be YYYY-MM-DD" in capsys.readouterr().err

    assert cli(db_url, "reports", "aging", "--as-of", "2027-02-15", "--csv") == 0
    aged = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    (open_b,) = aged  # A is paid; B is paid in part
    assert open_b["number"] == b["number_text"]
    assert int(open_b["amount_due"]) == b["total"] - 1000 - 300
    assert open_b["bucket"] in {"31-60", "61-90"}
    assert cli(db_url, "reports", "aging", "--as-of", "2027-02-15") == 0
    assert f"{format_amount(b['total'] - 1300, 'NOK')} NOK" in capsys.readouterr().out
