"""`evgate bill`, `evgate invoices ...`, `evgate payments add ...`: thin shells that parse the
arguments, call services/billing.py (writes, audited as "cli") or billing/ (reads), print."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from billing.money import format_amount
from config import compose
from config.cli import CliError
from config.commands.common import USER_ERRORS, add_database_flag, in_transaction, settings_from
from store import migrate

T = TypeVar("T")
CLI = "cli"  # the audit log's actor for what the command line changes
ERRORS = USER_ERRORS  # the one CLI mapping (config/commands/common.py)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    if "bill" in sub.choices:  # one module, three groups: register them once
        return
    bill = sub.add_parser("bill", help="the monthly billing run: issue numbered invoices")
    bill.add_argument("--month", required=True, help="the usage month, YYYY-MM")
    bill.add_argument("--site", help="one site only (default: every site)")
    bill.add_argument("--dry-run", action="store_true", help="compute and report, store nothing")
    bill.add_argument("--json", action="store_true", help="print the report as JSON")
    bill.add_argument("--csv", help="write the run's invoice lines to this CSV file")
    bill.add_argument(
        "--batch-size", type=int, default=250, help="subscribers per transaction (default 250)"
    )
    # how `evgate serve` hands a run to a process of its own (config/billing_jobs.py)
    bill.add_argument("--run-id", type=int, help=argparse.SUPPRESS)
    bill.add_argument("--actor", default=CLI, help=argparse.SUPPRESS)
    add_database_flag(bill)
    bill.set_defaults(func=_bill)

    inv = sub.add_parser("invoices", help="issued invoices and credit notes")
    actions = inv.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="list invoices")
    ls.add_argument("--month")
    ls.add_argument("--site")
    ls.add_argument("--subscriber", type=int)
    ls.add_argument("--json", action="store_true", help="JSON with lines and session ids")
    add_database_flag(ls)
    ls.set_defaults(func=_list)
    pdf = actions.add_parser("pdf", help="write an invoice's (or credit note's) PDF")
    pdf.add_argument("number", help="e.g. OSL-000001 or CN-OSL-000001")
    pdf.add_argument("--out", required=True, help="the PDF file to write")
    pdf.add_argument("--reminder", type=int, metavar="N", help="the invoice's Nth payment reminder")
    add_database_flag(pdf)
    pdf.set_defaults(func=_pdf)
    ubl = actions.add_parser(
        "ubl", help="write an invoice's (or credit note's) EHF / Peppol BIS Billing 3.0 UBL"
    )
    ubl.add_argument("number", help="e.g. OSL-000001 or CN-OSL-000001")
    ubl.add_argument("--out", required=True, help="the XML file to write")
    add_database_flag(ubl)
    ubl.set_defaults(func=_ubl)
    credit = actions.add_parser("credit", help="issue a credit note (full, or --amount)")
    credit.add_argument("number")
    credit.add_argument("--amount", help="net amount to credit, e.g. 100.00 (default: all)")
    credit.add_argument("--reason", default="")
    credit.add_argument(
        "--pay-out",
        action="store_true",
        help="what a bank payment made owed back is a refund to pay out, not a balance to carry",
    )
    add_database_flag(credit)
    credit.set_defaults(func=_credit)
    manual = actions.add_parser(
        "manual", help="issue a manual invoice now (numbered in the site's series, mailed)"
    )
    manual.add_argument("--subscriber", type=int, required=True)
    manual.add_argument(
        "--line",
        action="append",
        required=True,
        metavar="TEXT;QTY;UNIT_PRICE;VAT%",
        help="a line, e.g. 'Key card;1;50.00;25' (repeat for more)",
    )
    manual.add_argument("--json", action="store_true", help="print the invoice as JSON")
    add_database_flag(manual)
    manual.set_defaults(func=_manual)
    charge = actions.add_parser("charge", help="charge a declined invoice's card again now")
    charge.add_argument("number")
    add_database_flag(charge)
    charge.set_defaults(func=_charge)
    daily = actions.add_parser("daily", help="mark overdue invoices, send due reminders")
    add_database_flag(daily)
    daily.set_defaults(func=_daily)

    pay = sub.add_parser("payments", help="payments received outside Stripe, bank giro files")
    pay_actions = pay.add_subparsers(dest="action", metavar="ACTION")
    pay_actions.required = True
    add = pay_actions.add_parser("add", help="record an offline payment of an invoice")
    add.add_argument("invoice", help="the invoice number, e.g. OSL-000001")
    add.add_argument("--amount", required=True, help="amount received, e.g. 1250.00")
    add.add_argument("--date", required=True, help="payment date, YYYY-MM-DD")
    add.add_argument("--reference", default="", help="bank reference (KID, OCR, ...)")
    add.add_argument(
        "--method",
        choices=("offline", "vipps", "efaktura", "paper"),
        default="offline",
        help="how it was paid (default offline: a bank transfer)",
    )
    add_database_flag(add)
    add.set_defaults(func=_pay)
    from config.commands import payments as giro  # import-ocr, assign, refund

    giro.register_actions(pay_actions)


def _with_engine(args: argparse.Namespace, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    settings = settings_from(args)

    async def main() -> T:
        engine = compose.engine(settings)
        try:
            await migrate.upgrade(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ERRORS as exc:
        raise CliError(str(exc)) from None


def _guard(work: Callable[[Any], Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
    async def run(conn: Any) -> T:
        try:
            return await work(conn)
        except ERRORS as exc:
            raise CliError(str(exc)) from None

    return run


class _Progress:
    """A progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.shown = max(total, 1), 0, -1

    def __call__(self, n: int) -> None:
        self.done += n
        pct = min(100, self.done * 100 // self.total)
        if pct != self.shown:
            self.shown = pct
            bar = "#" * (pct // 4)
            sys.stderr.write(f"\rbilling [{bar:<25}] {pct:3d}% {self.done}/{self.total} sessions")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def _bill(args: argparse.Namespace) -> int:
    from services.billing import billing_run

    async def work(engine: AsyncEngine) -> Any:
        progress = None
        if sys.stderr.isatty():
            from billing.run import count_billable

            progress = _Progress(await count_billable(engine, args.month, args.site))
        payer = None if args.dry_run else compose.payer(settings_from(args))
        report = await billing_run(
            engine,
            args.month,
            args.site,
            actor=args.actor,
            dry_run=args.dry_run,
            batch_size=args.batch_size,
            progress=progress,
            payer=payer,
            run_id=args.run_id,
        )
        if progress is not None:
            progress.close()
        if args.csv and report.run_id is not None:
            from billing.documents import run_csv
            from store import billing_store as bs

            async with engine.connect() as conn:
                rows = await bs.list_invoices(conn, period=args.month, site_id=args.site)
                lines = await bs.lines_of(conn, [r["id"] for r in rows])
            Path(args.csv).write_text(run_csv(rows, lines), encoding="utf-8")
        return report

    report = _with_engine(args, work)
    failed = report.failed_sites
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return _failed(failed)
    title = "dry run (nothing stored)" if report.dry_run else f"run {report.run_id}"
    print(f"billing {report.period}: {title}")
    print(f"{'invoices':<12}{report.invoices:>14}")
    print(f"{'subscribers':<12}{report.subscribers:>14}")
    print(f"{'sessions':<12}{report.sessions:>14}")
    print(f"{'kWh':<12}{report.energy_wh / 1000:>14.3f}")
    for cur, t in sorted(report.totals.items()):
        print(
            f"{cur:<12}{'net ' + format_amount(t['net'], cur):>14}  "
            f"vat {format_amount(t['vat'], cur)}  total {format_amount(t['total'], cur)}"
        )
    if report.already_invoiced:
        print(f"already invoiced (skipped): {report.already_invoiced}")
    if report.held_back_count:
        print(f"held back (not billed, see --json): {report.held_back_count} sessions")
    if report.excluded_count:
        print(f"excluded from billing by a review: {report.excluded_count} sessions")
    return _failed(failed)


def _failed(failed: dict[str, str]) -> int:
    """Exit 1 with one line when some site could not be billed (the others were)."""
    if not failed:
        return 0
    sites = "; ".join(f"{site}: {why}" for site, why in sorted(failed.items()))
    print(f"evgate: billing failed for {len(failed)} site(s), the others are billed: {sites}",
          file=sys.stderr)  # fmt: skip
    return 1


def _list(args: argparse.Namespace) -> int:
    from billing.views import list_public

    items = in_transaction(
        args,
        lambda conn: list_public(
            conn, period=args.month, site_id=args.site, subscriber_id=args.subscriber
        ),
    )
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for i in items:
        cur = i["currency"]
        print(
            f"{i['number'] or '-'}\t{i['subscriber_id']}\t{i['period']}\t{i['kind']}\t"
            f"{i['state']}\t"
            f"{format_amount(i['net'], cur)}\t{format_amount(i['vat'], cur)}\t"
            f"{format_amount(i['total'], cur)} {cur}"
        )
    return 0


def _pdf(args: argparse.Namespace) -> int:
    from billing.views import pdf_of

    data = in_transaction(args, _guard(lambda conn: pdf_of(conn, args.number, args.reminder)))
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


def _ubl(args: argparse.Namespace) -> int:
    from billing.views import ubl_of

    data = in_transaction(args, _guard(lambda conn: ubl_of(conn, args.number)))
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


def _credit(args: argparse.Namespace) -> int:
    from services.billing import credit_invoice

    async def work(conn: Any) -> Any:
        return await credit_invoice(
            conn, args.number, args.amount, args.reason, actor=CLI, pay_out=args.pay_out
        )

    note = in_transaction(args, _guard(work))
    cur = note["invoice"]["currency"]
    print(f"credit note {note['number']}: {format_amount(note['total'], cur)} {cur}")
    refund = note["refund"]
    if refund is not None and refund["method"] == "bank":
        amount = format_amount(refund["amount"], cur)
        print(f"bank refund {refund['id']} of {amount} {cur} to pay out")
        note["refund"] = refund.get("card")
    if note["refund"] is not None:
        from services.cards import send_refunds

        stripe = compose.stripe_settings(settings_from(args))
        sent = _with_engine(args, lambda engine: send_refunds(engine, stripe))
        state = sent[0]["state"] if sent else "pending (no Stripe key: the daily job sends it)"
        amount = format_amount(note["refund"]["amount"], cur)
        print(f"card refund of {amount} {cur}: {state}")
    return 0


def _manual(args: argparse.Namespace) -> int:
    from billing.manual import split_line
    from services.context import CLI as CLI_ACTOR
    from services.manual_invoices import issue_manual_invoice

    lines = [split_line(text) for text in args.line]

    async def work(conn: Any) -> Any:
        return await issue_manual_invoice(conn, CLI_ACTOR, args.subscriber, lines)

    inv = in_transaction(args, _guard(work))
    if args.json:
        print(json.dumps(inv, indent=2))
        return 0
    cur = inv["currency"]
    print(
        f"manual invoice {inv['number']} to subscriber {inv['subscriber_id']}: "
        f"{format_amount(inv['total'], cur)} {cur} (KID {inv['kid']}, due {inv['due_at'][:10]})"
    )
    return 0


def _charge(args: argparse.Namespace) -> int:
    from services.cards import retry_card
    from services.context import CLI as CLI_ACTOR

    stripe = compose.stripe_settings(settings_from(args))
    done = _with_engine(args, lambda engine: retry_card(engine, stripe, CLI_ACTOR, args.number))
    failure = f": {done['failure']}" if done.get("failure") else ""
    print(f"invoice {args.number}: card payment {done['status']}{failure}")
    return 0 if done["status"] != "failed" else 1


def _daily(args: argparse.Namespace) -> int:
    from billing.dunning import daily

    stripe = compose.stripe_payments(settings_from(args))

    async def both(engine: AsyncEngine) -> dict[str, Any]:
        done = await daily(engine, actor=CLI)
        if stripe is not None:  # due-date charges, retries of declined cards, card refunds
            cards = await stripe.daily(engine, datetime.now(UTC))
            done["cards"] = {k: len(v) for k, v in cards.items()}
        return done

    print(json.dumps(_with_engine(args, both)))
    return 0


def _pay(args: argparse.Namespace) -> int:
    from services.billing import record_offline_payment

    try:
        paid_on = date.fromisoformat(args.date)
    except ValueError:
        raise CliError(f"--date {args.date!r} must be YYYY-MM-DD") from None

    async def work(conn: Any) -> Any:
        return await record_offline_payment(
            conn, args.invoice, args.amount, paid_on, args.reference, actor=CLI, method=args.method
        )

    inv = in_transaction(args, _guard(work))
    cur = inv["currency"]
    due = inv["amount_due"]
    tail = f"due {format_amount(due, cur)}" if due > 0 else f"credit {format_amount(-due, cur)}"
    paid = format_amount(inv["paid_amount"], cur)
    print(f"{inv['number_text']}: {inv['state']}, paid {paid} {cur}, {tail}")
    return 0
