"""billing.payment_reports: grouping and adding in minor units, per currency, and the aging
buckets at their edges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.payment_reports import aging, bucket_of, payments_received, unmatched


def pay(
    amount: int, method: str, paid_on: str | None, currency: str = "NOK", at: datetime | None = None
) -> dict:  # type: ignore[type-arg]
    return {
        "amount": amount,
        "method": method,
        "currency": currency,
        "paid_on": paid_on,
        "updated_at": at,
        "tz": "Europe/Oslo",
    }


def test_payments_per_month_method_and_currency() -> None:
    rows = [
        pay(1000, "ocr_giro", "2026-11-02"),
        pay(250, "ocr_giro", "2026-11-30"),
        pay(75, "offline", "2026-12-01"),
        # a Stripe charge recorded at 23:30 UTC on 30 November is 1 December in Oslo
        pay(500, "stripe", None, at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC)),
        pay(9, "offline", "2026-11-15", currency="EUR"),
    ]
    r = payments_received(rows)
    assert r["periods"] == [
        {"period": "2026-11", "method": "ocr_giro", "currency": "NOK", "count": 2, "amount": 1250},
        {"period": "2026-11", "method": "offline", "currency": "EUR", "count": 1, "amount": 9},
        {"period": "2026-12", "method": "offline", "currency": "NOK", "count": 1, "amount": 75},
        {"period": "2026-12", "method": "stripe", "currency": "NOK", "count": 1, "amount": 500},
    ]
    assert r["totals"] == [
        {"currency": "EUR", "count": 1, "amount": 9},
        {"currency": "NOK", "count": 4, "amount": 1825},
    ]
    assert {(m["method"], m["currency"]): m["amount"] for m in r["methods"]} == {
        ("ocr_giro", "NOK"): 1250,
        ("offline", "EUR"): 9,
        ("offline", "NOK"): 75,
        ("stripe", "NOK"): 500,
    }
    december = payments_received(rows, date(2026, 12, 1), date(2026, 12, 31))
    assert december["totals"] == [{"currency": "NOK", "count": 2, "amount": 575}]
    assert december["from"] == "2026-12-01" and december["to"] == "2026-12-31"


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-1, "current"),
        (0, "0-30"),
        (30, "0-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (4000, "90+"),
    ],
)
def test_bucket_edges(days: int, bucket: str) -> None:
    assert bucket_of(days) == bucket


def inv(
    number: str, total: int, due: datetime, paid: int = 0, credited: int = 0, fees: int = 0
) -> dict:  # type: ignore[type-arg]
    return {
        "number_text": number,
        "site_id": "OSLO",
        "subscriber_id": 1,
        "state": "issued",
        "currency": "NOK",
        "total": total,
        "paid_amount": paid,
        "credited_amount": credited,
        "fees": fees,
        "due_at": due,
        "tz": "Europe/Oslo",
    }


def test_aging_owes_what_the_invoices_say() -> None:
    # due at 23:00 UTC on 30 November: 1 December in Oslo
    due = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    rows = [
        inv("A", 1000, due),
        inv("B", 1000, due, paid=400, fees=70),
        inv("C", 1000, due, paid=1000),  # settled: not owed, not listed
        inv("D", 1000, datetime(2026, 9, 1, tzinfo=UTC), credited=100),
    ]
    r = aging(rows, date(2027, 1, 1))
    assert [
        (i["number"], i["days_past_due"], i["bucket"], i["amount_due"]) for i in r["invoices"]
    ] == [
        ("A", 31, "31-60", 1000),
        ("B", 31, "31-60", 670),
        ("D", 122, "90+", 900),
    ]
    buckets = {b["bucket"]: (b["count"], b["amount"]) for b in r["buckets"]}
    assert buckets == {
        "current": (0, 0),
        "0-30": (0, 0),
        "31-60": (2, 1670),
        "61-90": (0, 0),
        "90+": (1, 900),
    }
    assert r["totals"] == [{"currency": "NOK", "count": 3, "amount": 2570}]
    early = aging(rows, date(2026, 11, 30))
    assert {i["number"]: i["bucket"] for i in early["invoices"]}["A"] == "current"


def test_unmatched_totals_per_state_and_refunds_due() -> None:
    base = {
        "source": "ocr_giro",
        "site_id": None,
        "kid": "1",
        "currency": "NOK",
        "paid_on": "2026-11-25",
        "reason": "unknown_kid",
        "payer_account": "99990000001",
    }
    rows = [
        {**base, "id": 1, "amount": 100, "state": "open"},
        {**base, "id": 2, "amount": 250, "state": "open"},
        {**base, "id": 3, "amount": 900, "state": "refund_due"},
    ]
    refund = {
        "id": 1,
        "unmatched_id": 3,
        "site_id": None,
        "kid": "1",
        "amount": 900,
        "currency": "NOK",
        "payer_account": "99990000001",
        "reason": "",
        "state": "due",
        "created_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    paid = {
        "number_text": "OSL-000003",
        "site_id": "OSLO",
        "subscriber_id": 4,
        "state": "paid",
        "currency": "NOK",
        "total": 1000,
        "paid_amount": 1250,
        "credited_amount": 0,
        "fees": 100,
    }
    settled = {**paid, "number_text": "OSL-000004", "paid_amount": 1100}
    r = unmatched(rows, [refund], [paid, settled])
    assert r["credit_balances"] == [
        {
            "number": "OSL-000003",
            "site_id": "OSLO",
            "subscriber_id": 4,
            "state": "paid",
            "currency": "NOK",
            "amount": 150,
        }
    ]
    assert r["credit_balances_total"] == [{"currency": "NOK", "count": 1, "amount": 150}]
    assert r["totals"] == [
        {"state": "open", "currency": "NOK", "count": 2, "amount": 350},
        {"state": "refund_due", "currency": "NOK", "count": 1, "amount": 900},
    ]
    assert r["refunds_due"] == [{"currency": "NOK", "count": 1, "amount": 900}]
    assert [i["id"] for i in r["items"]] == [1, 2, 3]
