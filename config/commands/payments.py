"""`evgate payments import-ocr | assign | refund | refund-paid | avtalegiro-agreement |
avtalegiro-claims | import-mandates`: bank giro files, unmatched payments, refunds paid out,
AvtaleGiro.

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

    paid = actions.add_parser("refund-paid", help="mark a bank refund paid out (done in the bank)")
    paid.add_argument("id", type=int, help="the refund (evgate reports unmatched --refunds)")
    add_database_flag(paid)
    paid.set_defaults(func=_refund_paid)

    agreement = actions.add_parser(
        "avtalegiro-agreement", help="a site's AvtaleGiro agreement with Nets"
    )
    agreement.add_argument("--site", required=True)
    agreement.add_argument("--customer-unit", required=True, help="Nets' customer unit id (8)")
    agreement.add_argument("--account", required=True, help="the account claims pay into (11)")
    agreement.add_argument("--agreement-id", help="Nets' agreement id (9 digits)")
    add_database_flag(agreement)
    agreement.set_defaults(func=_agreement)

    claims = actions.add_parser(
        "avtalegiro-claims", help="write the AvtaleGiro claim file of a site's open invoices"
    )
    claims.add_argument("--site", required=True)
    claims.add_argument("--out", required=True, help="the file to write (for Nets)")
    claims.add_argument(
        "--again", action="store_true", help="claim again invoices claimed before and still open"
    )
    add_database_flag(claims)
    claims.set_defaults(func=_claims)

    mandates = actions.add_parser(
        "import-mandates", help="read the bank's AvtaleGiro mandate file (new/changed/deleted)"
    )
    mandates.add_argument("file")
    mandates.add_argument("--site", help="the site whose agreement the file is for")
    add_database_flag(mandates)
    mandates.set_defaults(func=_mandates)


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


def _refund_paid(args: argparse.Namespace) -> int:
    from services.context import CLI as ACTOR
    from services.refunds import mark_paid_out

    done = in_transaction(args, lambda conn: mark_paid_out(conn, ACTOR, args.id))
    what = "marked paid out" if done["changed"] else "was paid out already"
    print(
        f"refund {done['id']} of {format_amount(done['amount'], done['currency'])} "
        f"{done['currency']} {what}"
    )
    return 0


def _agreement(args: argparse.Namespace) -> int:
    from services.avtalegiro import set_agreement
    from services.context import CLI as ACTOR

    async def work(conn: Any) -> dict[str, Any]:
        return await set_agreement(
            conn,
            ACTOR,
            args.site,
            customer_unit=args.customer_unit,
            account=args.account,
            agreement_id=args.agreement_id,
        )

    print(json.dumps(in_transaction(args, work), indent=2))
    return 0


def _claims(args: argparse.Namespace) -> int:
    from services.avtalegiro import write_claims
    from services.context import CLI as ACTOR

    out = Path(args.out)

    async def work(conn: Any) -> dict[str, Any]:
        done = await write_claims(conn, ACTOR, args.site, again=args.again)
        if done["text"] is not None:  # written inside the transaction: no file, no claims
            out.write_bytes(done["text"].encode("iso-8859-1"))
        return done

    try:
        done = in_transaction(args, work)
    except OSError as exc:
        print(f"evgate: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if done["text"] is None:
        print(f"site {args.site}: no invoices to claim, no file written")
        return 0
    print(
        f"wrote {args.out}: AvtaleGiro transmission {done['transmission']}, "
        f"{len(done['claims'])} claims, {_nok(done['total'])}"
    )
    for c in done["claims"]:
        notice = "bank notifies" if c["bank_notice"] else "no bank notice"
        print(f"  {c['invoice']}  KID {c['kid']}  {_nok(c['amount']):>14}  {c['due_on']}  {notice}")
    return 0


def _mandates(args: argparse.Namespace) -> int:
    from billing.avtalegiro import AvtaleGiroError
    from services.avtalegiro import import_mandates
    from services.context import CLI as ACTOR

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"evgate: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        done = in_transaction(
            args, lambda conn: import_mandates(conn, ACTOR, data, site_id=args.site)
        )
    except AvtaleGiroError as exc:
        print(f"evgate: {args.file}: {exc} (nothing was changed)", file=sys.stderr)
        return 1
    if done["already_imported"]:
        print(f"mandate file {done['transmission']} was imported already: nothing changed")
        return 0
    print(
        f"mandate file {done['transmission']}: {done['mandates']} mandates, "
        f"{done['changed']} changed, {done['unchanged']} already so, "
        f"{len(done['unknown_kids'])} of no subscriber"
    )
    for c in done["changes"]:
        state = "active" if c["active"] else "deleted"
        print(f"  subscriber {c['subscriber_id']}: KID {c['kid']} {state}")
    for kid in done["unknown_kids"]:
        print(f"  KID {kid}: no subscriber of evgate")
    return 0
