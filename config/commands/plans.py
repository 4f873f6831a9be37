"""`evgate plans list|add|charge|end`: a subscriber's fixed fees through services.plans."""

from __future__ import annotations

import argparse
import json
from typing import Any

from billing.money import format_amount
from config.cli import CliError
from config.commands.common import add_database_flag, in_transaction
from config.commands.sites import vat_basis_points
from services import plans
from services.context import CLI
from store import admin, subscribers

LINE = "DESCRIPTION=AMOUNT[@VAT%], e.g. 'Parking=300.00' or 'Key card=50@0'"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser("plans", help="a subscriber's fixed fees, bundles, one-off charges")
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    ls = actions.add_parser("list", help="list a subscriber's plans and charges")
    ls.add_argument("subscriber", type=int)
    ls.add_argument("--json", action="store_true")
    add_database_flag(ls)
    ls.set_defaults(func=_list)

    add = actions.add_parser("add", help="add a plan; several --line make a bundle")
    add.add_argument("subscriber", type=int)
    add.add_argument("--line", action="append", required=True, metavar="LINE", help=LINE)
    add.add_argument("--every", type=int, choices=(1, 3, 12), default=1, help="months per fee")
    add.add_argument("--from", dest="first", required=True, help="first month covered, YYYY-MM")
    until = add.add_mutually_exclusive_group()
    until.add_argument("--times", type=int, help="a recurring fee of N periods")
    until.add_argument("--until", help="last month covered, YYYY-MM")
    add.add_argument("--bundle", help="the bundle's name (needed for several lines)")
    add_database_flag(add)
    add.set_defaults(func=_add)

    charge = actions.add_parser("charge", help="a one-off charge on the invoice of a month")
    charge.add_argument("subscriber", type=int)
    charge.add_argument("--line", required=True, metavar="LINE", help=LINE)
    charge.add_argument("--month", required=True, help="the usage month, YYYY-MM")
    add_database_flag(charge)
    charge.set_defaults(func=_charge)

    end = actions.add_parser("end", help="end a plan after a month")
    end.add_argument("plan", type=int)
    end.add_argument("--after", required=True, help="the last month it covers, YYYY-MM")
    add_database_flag(end)
    end.set_defaults(func=_end)


def parse_line(text: str) -> dict[str, Any]:
    """'Parking=300.00@25' -> description, amount text, VAT in basis points (None: the site's)."""
    description, sep, rest = text.rpartition("=")
    if not sep or not description.strip() or not rest.strip():
        raise CliError(f"line {text!r} is not {LINE}")
    amount, at, vat = rest.partition("@")
    return {
        "description": description.strip(),
        "amount": amount.strip(),
        "vat_bp": vat_basis_points(vat) if at else None,
    }


async def _currency(conn: Any, subscriber_id: int) -> str:
    sub = await subscribers.get_subscriber(conn, subscriber_id)
    return str((await admin.get_site(conn, sub["site_id"]))["currency"])


def _print(rows: list[dict[str, Any]], currency: str) -> None:
    for r in rows:
        every = "one-off" if r["one_off"] else f"every {r['period_months']} month(s)"
        until = r["last_period"] or "until ended"
        bundle = f" [{r['bundle']}]" if r["bundle"] else ""
        print(
            f"{r['id']}\t{r['description']}{bundle}\t{format_amount(r['amount'], currency)} "
            f"{currency}\t{every}\t{r['first_period']}..{until}"
        )


def _list(args: argparse.Namespace) -> int:
    async def work(conn: Any) -> tuple[list[dict[str, Any]], str]:
        return await plans.list_plans(conn, CLI, args.subscriber), await _currency(
            conn, args.subscriber
        )

    rows, currency = in_transaction(args, work)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print(rows, currency)
    return 0


def _add(args: argparse.Namespace) -> int:
    lines = [parse_line(t) for t in args.line]

    async def work(conn: Any) -> tuple[list[dict[str, Any]], str]:
        rows = await plans.add_plan(
            conn,
            CLI,
            args.subscriber,
            lines,
            period_months=args.every,
            first_period=args.first,
            times=args.times,
            last_period=args.until,
            bundle=args.bundle,
        )
        return rows, await _currency(conn, args.subscriber)

    rows, currency = in_transaction(args, work)
    _print(rows, currency)
    return 0


def _charge(args: argparse.Namespace) -> int:
    line = parse_line(args.line)

    async def work(conn: Any) -> tuple[dict[str, Any], str]:
        row = await plans.add_charge(conn, CLI, args.subscriber, line, period=args.month)
        return row, await _currency(conn, args.subscriber)

    row, currency = in_transaction(args, work)
    _print([row], currency)
    return 0


def _end(args: argparse.Namespace) -> int:
    row = in_transaction(args, lambda conn: plans.end_plan(conn, CLI, args.plan, args.after))
    print(f"plan {row['id']} ends after {row['last_period']}")
    return 0
