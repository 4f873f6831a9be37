"""A shortened `evgate demo`: API setup, a month played by the simulator, the billing run."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

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
        stored = dict(db.execute("SELECT id, energy_wh FROM sessions").fetchall())
        states = dict(
            db.execute(
                "SELECT state, count(*) FROM invoices WHERE number IS NOT NULL GROUP BY state"
            ).fetchall()
        )
        payments = db.execute("SELECT status FROM payments ORDER BY id").fetchall()
    # every session the simulator completed is stored with exactly the energy it integrated
    assert {r["transaction_id"]: r["energy_wh"] for r in played} == stored
    # six subscribers, one invoice each; two pay by card through localstripe (a dev
    # dependency, so always here in tests): one card works, the other is declined
    assert sum(states.values()) == 6
    assert states.get("paid") == 1 and states.get("issued") == 5
    assert sorted(p[0] for p in payments) == ["failed", "succeeded"]
    pdfs = list((tmp_path / "invoices").glob("*.pdf"))
    assert len(pdfs) == 6 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert "done in" in result.stdout
