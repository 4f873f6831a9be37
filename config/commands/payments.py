"""`evgate payments import-ocr | assign | refund`: bank giro files and unmatched payments.

Registered into the `payments` group of config/commands/billing.py. Thin: read the file or
the arguments, call services/payments.py in one transaction (audited as "cli"), print.
A file that cannot be imported is one line on stderr and exit status 1, nothing recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from billing.money import format_amount
from config.commands.common import add_database_flag, in_transaction

CLI = "cli"


def register_actions(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ocr = actions.add_parser(
        "import-ocr",
        help="import a Nets OCR Giro file: payments matched by KID, the rest unmatched",
    )
    ocr.add_argument("file", help="the OCR Giro file as Nets delivered it")
    ocr.add_argument(
        "--site", help="match KIDs on this site only (the site whose bank agreement it is)"
    )
    ocr.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_database_flag(ocr)
    ocr.set_defaults(func=_import)

    assign = actions.add_parser("assign", help="pay an invoice with an unmatched payment")
    assign.add_argument("id", type=int, help="the unmatched payment (evgate reports unmatched)")
    assign.add_argument("--invoice", required=True, help="the invoice number, e.g. OSL-000001")
    add_database_flag(assign)
    assign.set_defaults(func=_assign)

    refund = actions.add_parser(
        "refund", help="mark an unmatched payment to be refunded to its payer"
    )
    refund.add_argument("id", type=int, help="the unmatched payment (evgate reports unmatched)")
    refund.add_argument("--reason", default="")
    add_database_flag(refund)
    refund.set_defaults(func=_refund)


def _nok(amount: int) -> str:
    return f"{format_amount(amount, 'NOK')} NOK"


def _import(args: argparse.Namespace) -> int:
    from billing.ocr_giro import OcrFileError
    from services.payments import REASONS, import_ocr

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"evgate: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    async def work(conn: Any) -> dict[str, Any]:
        return await import_ocr(
            conn, data, site_id=args.site, filename=Path(args.file).name, actor=CLI
        )

    try:
        summary = in_transaction(args, work)
    except OcrFileError as exc:
        print(f"evgate: {args.file}: {exc} (nothing was recorded)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    head = f"OCR transmission {summary['transmission']} (file {summary['file_id']})"
    if summary["already_imported"]:
        print(
            f"{head} was imported already on {summary['imported_at']}: nothing recorded, "
            f"{summary['duplicates_skipped']} duplicates skipped"
        )
        return 0
    print(f"{head}: {summary['transactions']} transactions, {summary['total']['formatted']}")
    for key in ("matched", "unmatched"):
        part = summary[key]
        print(f"{key:<12}{part['count']:>6}  {part['formatted']:>18}")
    print(f"{'duplicates':<12}{summary['duplicates_skipped']:>6}  skipped")
    for u in summary["unmatched_payments"]:
        print(
            f"  unmatched {u['id']}: KID {u['kid'] or '-'} {_nok(u['amount'])}: "
            f"{REASONS.get(u['reason'], u['reason'])}"
        )
    if summary["unmatched_payments"]:
        print("assign or refund them: evgate payments assign ID --invoice N | refund ID")
    return 0


def _assign(args: argparse.Namespace) -> int:
    from services.payments import assign_unmatched

    async def work(conn: Any) -> dict[str, Any]:
        return await assign_unmatched(conn, args.id, args.invoice, actor=CLI)

    done = in_transaction(args, work)
    due = done["amount_due"]
    tail = "" if due is None else f", due {format_amount(due, done['currency'])}"
    print(
        f"unmatched payment {done['id']} ({format_amount(done['amount'], done['currency'])} "
        f"{done['currency']}) paid {done['invoice_number']}: {done['invoice_state']}{tail}"
    )
    return 0


def _refund(args: argparse.Namespace) -> int:
    from services.payments import refund_unmatched

    async def work(conn: Any) -> dict[str, Any]:
        return await refund_unmatched(conn, args.id, args.reason, actor=CLI)

    done = in_transaction(args, work)
    to = f" to account {done['payer_account']}" if done["payer_account"] else ""
    print(
        f"unmatched payment {done['unmatched_id']}: refund {done['refund_id']} of "
        f"{format_amount(done['amount'], done['currency'])} {done['currency']} due{to}"
    )
    return 0
