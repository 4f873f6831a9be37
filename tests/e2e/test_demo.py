"""A shortened `evgate demo`: API setup, a month played by the simulator, the billing run."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.integration.test_manual_invoices import assert_valid_ehf

ROOT = Path(__file__).resolve().parents[2]


def test_short_demo_bills_what_it_played(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "config.cli",
            "demo",
            "--dir",
            str(tmp_path),
            "--chargers",
            "2",
            "--subscribers",
            "6",
            "--seconds",
            "8",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    played = json.loads((tmp_path / "played.json").read_text())
    assert len(played) > 5
    with sqlite3.connect(tmp_path / "evgate.db") as db:
        # a 1.6 session is known by evgate's id, a 2.0.1 one by the charger's transactionId
        stored = {
            ref or sid: wh
            for sid, ref, wh in db.execute("SELECT id, transaction_ref, energy_wh FROM sessions")
        }
        states = dict(
            db.execute(
                "SELECT state, count(*) FROM invoices WHERE number IS NOT NULL GROUP BY state"
            ).fetchall()
        )
        payments = db.execute("SELECT status, method FROM payments ORDER BY id").fetchall()
        kinds = dict(db.execute("SELECT kind, count(*) FROM invoices GROUP BY kind").fetchall())
    # every session the simulator completed is stored with exactly the energy it integrated,
    # from the 1.6 charger and the 2.0.1 one alike
    assert {r["transaction_id"]: r["energy_wh"] for r in played} == stored
    assert {type(r["transaction_id"]) for r in played} == {int, str}
    # six subscribers, one invoice each, and the manual invoice of the documents; two pay by
    # card through localstripe (a dev dependency, so always here in tests): one card works,
    # the other is declined; then two invoices are paid by hand (a transfer, Vipps)
    assert kinds == {"automatic": 6, "manual": 1}
    assert sum(states.values()) == 7
    assert states.get("paid") == 3 and states.get("issued") == 4
    card = [p[0] for p in payments if p[1] == "stripe"]
    assert sorted(card) == ["failed", "succeeded"]
    by_hand = sorted(p[1] for p in payments if p[1] in ("offline", "vipps"))
    assert by_hand == ["offline", "vipps"]  # (a credit on the card-paid invoice: a refund)
    pdfs = list((tmp_path / "invoices").glob("*.pdf"))
    assert len(pdfs) == 6 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    # the sample documents: per language an invoice, a credit note and a reminder, a manual
    # invoice, and every EHF valid (the schemas and the rules the EHF tests hold)
    docs = tmp_path / "documents"
    for lang in ("en", "sv", "nb", "da", "fr"):
        for kind in ("invoice", "credit-note", "reminder"):
            assert (docs / f"{kind}-{lang}.pdf").read_bytes().startswith(b"%PDF-")
    assert (docs / "invoice-manual.pdf").read_bytes().startswith(b"%PDF-")
    xmls = sorted(docs.glob("*.xml"))
    names = [x.name for x in xmls]  # the company's documents as EHF
    for prefix in ("invoice-DEMO-CONDO-", "credit-note-CN-DEMO-CONDO-", "invoice-manual-"):
        assert any(n.startswith(prefix) for n in names), names
    for xml in xmls:
        assert_valid_ehf(xml.read_bytes())
    assert f"documents in {docs}" in result.stdout
    report = result.stdout.split("payment report", 1)[1]
    assert "offline" in report and "vipps" in report and "open: " in report
    assert "done in" in result.stdout
