"""Reminder timing, labels and the run CSV (pages as rendered: test_document_pages.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from billing.documents import run_csv
from billing.dunning_rules import next_reminder
from billing.labels import LABELS, labels

DUE = datetime(2026, 12, 1, tzinfo=UTC)


def test_reminders_up_to_n_at_intervals_after_the_due_date() -> None:
    def at(days: int) -> datetime:
        return DUE + timedelta(days=days)

    assert next_reminder(0, DUE, None, at(13), 2, 14) is None
    assert next_reminder(0, DUE, None, at(14), 2, 14) == 1
    assert next_reminder(1, DUE, at(14), at(27), 2, 14) is None
    assert next_reminder(1, DUE, at(14), at(28), 2, 14) == 2
    assert next_reminder(2, DUE, at(28), at(100), 2, 14) is None  # N reached
    assert next_reminder(0, DUE, None, at(0), 1, 0) == 1


INVOICE = {
    "id": 1,
    "number_text": "OSL-000042",
    "subscriber_id": 7,
    "period": "2026-10",
    "state": "issued",
    "currency": "NOK",
    "net": 16433,
    "vat": 4108,
    "total": 20541,
    "vat_breakdown": [{"vat_bp": 2500, "net": 16433, "vat": 4108}],
    "issued_at": datetime(2026, 11, 1, 6, tzinfo=UTC),
    "due_at": datetime(2026, 12, 1, 6, tzinfo=UTC),
}
LINES = [
    {
        "position": 1,
        "kind": "session",
        "description": "",
        "session_id": 11,
        "charger_id": "CP1",
        "started_at": datetime(2026, 10, 31, 22, 30, tzinfo=UTC),
        "stopped_at": datetime(2026, 10, 31, 22, 59, tzinfo=UTC),
        "energy_wh": 10_000,
        "charging_s": 3600,
        "parking_s": 1800,
        "late": True,
        "net": 9600,
        "vat_bp": 2500,
    },
    {
        "position": 2,
        "kind": "discount",
        "description": "Partner",
        "session_id": None,
        "charger_id": None,
        "started_at": None,
        "stopped_at": None,
        "energy_wh": None,
        "charging_s": None,
        "parking_s": None,
        "late": False,
        "net": -960,
        "vat_bp": 2500,
    },
]
SITE = {"id": "OSLO", "tz": "Europe/Oslo"}


def test_labels_fall_back_to_english_and_map_norwegian() -> None:
    assert labels("nb-NO")["invoice"] == "Faktura"
    assert labels("no")["vat"] == "MVA"
    assert labels("xx")["invoice"] == "Invoice"
    assert labels("fr")["total"] == "Total TTC"
    # every language has every label (a missing one would be a KeyError in a document)
    for words in LABELS.values():
        assert words.keys() == LABELS["en"].keys()


def test_the_run_csv_lists_every_line_in_exact_amounts() -> None:
    text = run_csv([INVOICE], {1: LINES})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["number"], r["kind"], r["session_id"], r["line_net"]) for r in rows] == [
        ("OSL-000042", "session", "11", "96.00"),
        ("OSL-000042", "discount", "", "-9.60"),
    ]
    assert rows[0]["total"] == "205.41" and rows[0]["late"] == "1"
    assert rows[0]["started_at"] == "2026-10-31T22:30:00+00:00"


def test_the_progress_bar_counts_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    from config.commands.billing import _Progress

    bar = _Progress(200)
    bar(50)
    bar(150)
    bar.close()
    err = capsys.readouterr().err
    assert " 25% 50/200 sessions" in err and "100% 200/200 sessions" in err
