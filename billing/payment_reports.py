"""Payment reports over rows (pure): what was received per month and method, what is still
owed by how long past due, and what came in that no invoice took.

The rows come from store/payments_store.py; the functions here only group and add, in
integer minor units, per currency (amounts of different currencies are never added).
A payment's day is its ``paid_on`` (a bank giro or offline payment's own date), else the
local date of the moment it was recorded in its site's zone (a Stripe charge).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from billing.lifecycle import amount_due
from billing.months import local_date

# days past due: the upper bound of each bucket (inclusive); "current" is not due yet
AGING_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", None),
)
CURRENT = "current"
BUCKET_NAMES = (CURRENT, *(name for name, _ in AGING_BUCKETS))


def payment_day(row: Mapping[str, Any]) -> date:
    if row.get("paid_on"):
        return date.fromisoformat(str(row["paid_on"]))
    return local_date(row["updated_at"], row["tz"])


def payments_received(
    rows: Iterable[Mapping[str, Any]], start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Succeeded payments between ``start`` and ``end`` (inclusive days; None: open), per
    month and method, per method, and in total, each per currency."""
    per_period: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    per_method: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        day = payment_day(row)
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        amount, currency, method = int(row["amount"]), str(row["currency"]), str(row["method"])
        for bucket in (
            per_period[(f"{day:%Y-%m}", method, currency)],
            per_method[(method, currency)],
            totals[currency],
        ):
            bucket[0] += 1
            bucket[1] += amount
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "periods": [
            {"period": p, "method": m, "currency": c, "count": n, "amount": a}
            for (p, m, c), (n, a) in sorted(per_period.items())
        ],
        "methods": [
            {"method": m, "currency": c, "count": n, "amount": a}
            for (m, c), (n, a) in sorted(per_method.items())
        ],
        "totals": [
            {"currency": c, "count": n, "amount": a} for c, (n, a) in sorted(totals.items())
        ],
    }


def bucket_of(days_past_due: int) -> str:
    if days_past_due < 0:
        return CURRENT
    for name, upper in AGING_BUCKETS:
        if upper is None or days_past_due <= upper:
            return name
    raise AssertionError("unreachable: the last bucket has no bound")  # pragma: no cover


def aging(rows: Iterable[Mapping[str, Any]], today: date) -> dict[str, Any]:
    """Open invoices (money still owed) by days past their due date on ``today``: each
    invoice with its bucket, and per currency the count and amount in every bucket."""
    items = []
    sums: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        due = amount_due(
            int(row["total"]),
            int(row["paid_amount"]),
            int(row["credited_amount"]),
            int(row["fees"]),
        )
        if due <= 0:
            continue
        due_date = local_date(row["due_at"], row["tz"]) if row["due_at"] else today
        days = (today - due_date).days
        bucket = bucket_of(days)
        currency = str(row["currency"])
        items.append(
            {
                "number": row["number_text"],
                "site_id": row["site_id"],
                "subscriber_id": row["subscriber_id"],
                "subscriber": row.get("subscriber_name") or "",
                "state": row["state"],
                "kid": row.get("kid"),
                "currency": currency,
                "due_date": due_date.isoformat(),
                "days_past_due": max(days, 0),
                "bucket": bucket,
                "amount_due": due,
            }
        )
        per = sums.setdefault(currency, {name: [0, 0] for name in BUCKET_NAMES})
        per[bucket][0] += 1
        per[bucket][1] += due
    return {
        "as_of": today.isoformat(),
        "invoices": items,
        "buckets": [
            {"currency": c, "bucket": name, "count": per[name][0], "amount": per[name][1]}
            for c, per in sorted(sums.items())
            for name in BUCKET_NAMES
        ],
        "totals": [
            {
                "currency": c,
                "count": sum(v[0] for v in per.values()),
                "amount": sum(v[1] for v in per.values()),
            }
            for c, per in sorted(sums.items())
        ],
    }


def unmatched(
    rows: Iterable[Mapping[str, Any]],
    refund_rows: Iterable[Mapping[str, Any]],
    balance_rows: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Unmatched payments with their state, totals per state and currency, the refunds
    still to be paid out to payers, and the credit balances of overpaid invoices (owed to
    their subscribers: paid beyond total - credited + reminder fees)."""
    items = [
        {
            "id": r["id"],
            "source": r["source"],
            "site_id": r["site_id"],
            "kid": r["kid"],
            "amount": r["amount"],
            "currency": r["currency"],
            "paid_on": r["paid_on"],
            "reason": r["reason"],
            "invoice_number": r.get("invoice_number"),
            "state": r["state"],
            "assigned_invoice_number": r.get("assigned_invoice_number"),
            "payer_account": r["payer_account"],
            "ocr_file_id": r.get("file_id"),
        }
        for r in rows
    ]
    per_state: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        bucket = per_state[(str(item["state"]), str(item["currency"]))]
        bucket[0] += 1
        bucket[1] += int(item["amount"])
    refunds = [
        {
            "id": r["id"],
            "unmatched_id": r["unmatched_id"],
            "site_id": r["site_id"],
            "kid": r["kid"],
            "amount": r["amount"],
            "currency": r["currency"],
            "payer_account": r["payer_account"],
            "reason": r["reason"],
            "state": r["state"],
            # bank: to pay out (due) until marked paid; stripe: back to the card
            "method": r.get("method", "bank"),
            "invoice_id": r.get("invoice_id"),
            "created_at": r["created_at"].isoformat() if r.get("created_at") else None,
            "paid_at": r["paid_at"].isoformat() if r.get("paid_at") else None,
        }
        for r in refund_rows
    ]
    due: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for refund in refunds:
        if refund["state"] == "due":
            due[str(refund["currency"])][0] += 1
            due[str(refund["currency"])][1] += int(refund["amount"])
    balances = []
    owed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in balance_rows:
        left = amount_due(
            int(r["total"]), int(r["paid_amount"]), int(r["credited_amount"]), int(r["fees"])
        )
        if left >= 0:
            continue
        balances.append(
            {
                "number": r["number_text"],
                "site_id": r["site_id"],
                "subscriber_id": r["subscriber_id"],
                "state": r["state"],
                "currency": r["currency"],
                "amount": -left,
            }
        )
        owed[str(r["currency"])][0] += 1
        owed[str(r["currency"])][1] += -left
    return {
        "items": items,
        "totals": [
            {"state": s, "currency": c, "count": n, "amount": a}
            for (s, c), (n, a) in sorted(per_state.items())
        ],
        "refunds": refunds,
        "refunds_due": [
            {"currency": c, "count": n, "amount": a} for c, (n, a) in sorted(due.items())
        ],
        "credit_balances": balances,
        "credit_balances_total": [
            {"currency": c, "count": n, "amount": a} for c, (n, a) in sorted(owed.items())
        ],
    }
