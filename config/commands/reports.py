"""`evgate reports payments | aging | unmatched [--csv | --json]`: the payment reports as a
table (amounts in major units), CSV (minor units, one row per line of the report) or the
API's JSON. Thin: services/payments.py computes them."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from billing.money import format_amount
from config.cli import CliError
from config.commands.common import add_database_flag, in_transaction


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rep = sub.add_parser("reports", help="payments received, aging of open invoices, unmatched")
    actions = rep.add_subparsers(dest="action", metavar="REPORT")
    actions.required = True
    pay = actions.add_parser("payments", help="payments received per month and method")
    pay.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
    pay.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
    pay.set_defaults(func=_payments)
    aging = actions.add_parser("aging", help="open invoices by days past due")
    aging.add_argument("--as-of", help="the day to age on, YYYY-MM-DD (default today)")
    aging.set_defaults(func=_aging)
    un = actions.add_parser("unmatched", help="unmatched payments and refunds to be paid out")
    un.add_argument("--open", action="store_true", help="only what is still open")
    un.add_argument(
        "--refunds", action="store_true", help="list the refunds and credit balances instead"
    )
    un.set_defaults(func=_unmatched)
    for parser in (pay, aging, un):
        parser.add_argument("--site", help="one site only (default: every site)")
        out = parser.add_mutually_exclusive_group()
        out.add_argument("--csv", action="store_true", help="CSV on stdout (minor units)")
        out.add_argument("--json", action="store_true", help="the API's JSON")
        add_database_flag(parser)


def _day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{flag} {text!r} must be YYYY-MM-DD") from None


def _print(
    args: argparse.Namespace,
    report: dict[str, Any],
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    money: Sequence[str] = ("amount",),
) -> None:
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if args.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        print(buf.getvalue(), end="")
        return
    shown = [
        [
            format_amount(int(r[c]), str(r["currency"]))
            if c in money and r.get(c) is not None
            else ("" if r.get(c) is None else str(r[c]))
            for c in columns
        ]
        for r in rows
    ]
    widths = [max([len(c), *(len(row[i]) for row in shown)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in shown:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _payments(args: argparse.Namespace) -> int:
    from services.payments import payments_report

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    report = in_transaction(args, lambda conn: payments_report(conn, args.site, start, end))
    rows = report["periods"]
    _print(args, report, ("period", "method", "currency", "count", "amount"), rows)
    if not (args.csv or args.json):
        for m in report["methods"]:
            print(f"{m['method']}: {m['count']} payments, "
                  f"{format_amount(m['amount'], m['currency'])} {m['currency']}")  # fmt: skip
        for t in report["totals"]:
            print(f"total: {t['count']} payments, "
                  f"{format_amount(t['amount'], t['currency'])} {t['currency']}")  # fmt: skip
    return 0


def _aging(args: argparse.Namespace) -> int:
    from services.payments import aging_report

    as_of = _day(args.as_of, "--as-of")
    report = in_transaction(args, lambda conn: aging_report(conn, args.site, as_of))
    columns = ("number", "site_id", "subscriber_id", "state", "due_date", "days_past_due",
               "bucket", "currency", "amount_due")  # fmt: skip
    _print(args, report, columns, report["invoices"], money=("amount_due",))
    if not (args.csv or args.json):
        print(f"as of {report['as_of']}:")
        for b in report["buckets"]:
            print(f"  {b['bucket']:<8}{b['count']:>6}  "
                  f"{format_amount(b['amount'], b['currency'])} {b['currency']}")  # fmt: skip
    return 0


def _unmatched(args: argparse.Namespace) -> int:
    from services.payments import unmatched_report

    report = in_transaction(
        args, lambda conn: unmatched_report(conn, args.site, open_only=args.open)
    )
    if args.refunds:
        refunds = [{"kind": "refund", **r} for r in report["refunds"]]
        balances = [
            {"kind": "credit_balance", "state": "owed", "invoice_number": b["number"], **b}
            for b in report["credit_balances"]
        ]
        columns: tuple[str, ...] = ("kind", "id", "unmatched_id", "invoice_number",
                                    "site_id", "kid", "payer_account", "state", "currency",
                                    "amount")  # fmt: skip
        _print(args, report, columns, refunds + balances)
        return 0
    columns = ("id", "site_id", "kid", "paid_on", "reason", "state", "invoice_number",
               "assigned_invoice_number", "payer_account", "currency", "amount")  # fmt: skip
    _print(args, report, columns, report["items"])
    if not (args.csv or args.json):
        for t in report["totals"]:
            print(f"{t['state']}: {t['count']}, "
                  f"{format_amount(t['amount'], t['currency'])} {t['currency']}")  # fmt: skip
        for r in report["refunds_due"]:
            print(f"refunds to pay out: {r['count']}, "
                  f"{format_amount(r['amount'], r['currency'])} {r['currency']}")  # fmt: skip
        for r in report["credit_balances_total"]:
            print(f"credit balances of overpaid invoices: {r['count']}, "
                  f"{format_amount(r['amount'], r['currency'])} {r['currency']}")  # fmt: skip
    return 0
