"""The AvtaleGiro and refund commands driven through the CLI's entry point against a real
SQLite file: the agreement, the bank's mandate file (built with netsgiro), the claim file
read back by netsgiro's parser, a credit note paid out by bank and marked paid, a credit
balance refunded on request; each refused or repeated in one line."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import netsgiro
import pytest

from billing.money import format_amount
from config.cli import main
from store.db import create_engine
from tests.integration.test_ocr_giro import four_invoices
from tests.support.avtalegiro_files import NEW, mandate_file


@pytest.fixture
def issued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[dict[str, Any]]]:
    """A migrated SQLite file with four issued invoices of OSLO; no Stripe configured."""
    for name in ("EVGATE_STRIPE_API_KEY", "EVGATE_STRIPE_API_BASE", "EVGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path}/evgate.db"

    async def setup() -> list[dict[str, Any]]:
        from store import migrate

        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
            return await four_invoices(engine)
        finally:
            await engine.dispose()

    return url, asyncio.run(setup())


def _run(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--database-url", url])
    out, err = capsys.readouterr()
    return code, out, err


def test_avtalegiro_agreement_mandates_and_claims(
    issued: tuple[str, list[dict[str, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, (a, b, _, _) = issued
    claims = tmp_path / "claims.txt"
    code, _, err = _run(url, capsys, "payments", "avtalegiro-claims", "--site", "OSLO",
                        "--out", str(claims))  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no AvtaleGiro agreement" in err and not claims.exists()
    code, out, _ = _run(url, capsys, "payments", "avtalegiro-agreement", "--site", "OSLO",
                        "--customer-unit", "01234567", "--account", "8601.11.17947")  # fmt: skip
    assert code == 0 and '"customer_unit": "01234567"' in out

    mandates = tmp_path / "mandates.txt"
    mandates.write_bytes(mandate_file([(a["kid"], NEW, True), ("4242", NEW, False)]))
    code, out, _ = _run(url, capsys, "payments", "import-mandates", str(mandates), "--site", "OSLO")
    assert code == 0 and "2 mandates, 1 changed" in out and "KID 4242: no subscriber" in out
    assert f"subscriber {a['subscriber_id']}: KID {a['kid']} active" in out
    code, out, _ = _run(url, capsys, "payments", "import-mandates", str(mandates), "--site", "OSLO")
    assert code == 0 and "was imported already: nothing changed" in out
    code, _, err = _run(url, capsys, "payments", "import-mandates", str(tmp_path / "none.txt"))
    assert code == 1 and "cannot read" in err

    code, out, _ = _run(url, capsys, "payments", "avtalegiro-claims", "--site", "OSLO",
                        "--out", str(claims))  # fmt: skip
    assert code == 0 and "1 claims" in out and f"KID {a['kid']}" in out
    parsed = netsgiro.parse(claims.read_bytes().decode("iso-8859-1"))
    (claim,) = parsed.assignments[0].transactions
    assert claim.kid == a["kid"] and claim.amount_in_cents == a["total"]
    assert b["kid"] not in claims.read_text(encoding="iso-8859-1")  # no mandate, no claim
    code, out, _ = _run(url, capsys, "payments", "avtalegiro-claims", "--site", "OSLO",
                        "--out", str(tmp_path / "again.txt"))  # fmt: skip
    assert code == 0 and "no invoices to claim" in out and not (tmp_path / "again.txt").exists()
    code, out, _ = _run(url, capsys, "payments", "avtalegiro-claims", "--site", "OSLO",
                        "--out", str(tmp_path / "again.txt"), "--again")  # fmt: skip
    assert code == 0 and "1 claims" in out


def test_a_bank_refund_paid_out_and_a_credit_balance_refunded(
    issued: tuple[str, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, (_, b, c, _) = issued
    for inv in (b, c):  # both paid in full by bank transfer
        total = format_amount(inv["total"], "NOK")
        code, out, _ = _run(url, capsys, "payments", "add", inv["number_text"],
                            "--amount", total, "--date", "2026-11-25")  # fmt: skip
        assert code == 0 and out.startswith(f"{inv['number_text']}: paid")
    # a credit on B paid out: a bank refund due, then paid out once
    code, out, _ = _run(url, capsys, "invoices", "credit", b["number_text"], "--amount", "10.00",
                        "--pay-out")  # fmt: skip
    assert code == 0 and "credit note CN-OSL-000001: 12.50 NOK" in out
    found = re.search(r"bank refund (\d+) of 12\.50 NOK to pay out", out)
    assert found, out
    refund = found.group(1)
    code, out, _ = _run(url, capsys, "payments", "refund-paid", refund)
    assert code == 0 and out.strip() == f"refund {refund} of 12.50 NOK marked paid out"
    code, out, _ = _run(url, capsys, "payments", "refund-paid", refund)
    assert code == 0 and "was paid out already" in out
    code, _, err = _run(url, capsys, "payments", "refund-paid", "999")
    assert code == 2 and len(err.strip().splitlines()) == 1

    # a credit on C without pay-out: a credit balance, refunded on request by bank
    code, out, _ = _run(url, capsys, "invoices", "credit", c["number_text"], "--amount", "20.00")
    assert code == 0 and "bank refund" not in out
    sub = str(c["subscriber_id"])
    code, out, _ = _run(url, capsys, "subscribers", "refund-balance", sub)
    assert code == 0 and "of 2500 (minor units) NOK by bank, to pay out: due" in out
    code, out, _ = _run(url, capsys, "subscribers", "refund-balance", sub)
    assert code == 0 and "has no credit balance: nothing refunded" in out
