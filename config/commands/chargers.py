"""`evgate chargers add|import|list`."""

from __future__ import annotations

import argparse
import json

from config.commands.common import add_database_flag, in_transaction
from config.commands.imports import checked, hash_all, read_rows
from gateway.auth import hash_password
from services import chargers
from services.context import CLI
from store import charger_views


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("chargers", help="register chargers")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True

    add = group.add_parser("add", help="register one charger")
    add.add_argument("id", help="the OCPP identity: last path segment of the charger's URL")
    add.add_argument("--site", required=True)
    add.add_argument("--password", help="HTTP Basic Auth password (16-40 characters)")
    add_database_flag(add)
    add.set_defaults(func=_add)

    imp = group.add_parser("import", help="register chargers from a CSV file (id[,password])")
    imp.add_argument("file")
    imp.add_argument("--site", required=True)
    add_database_flag(imp)
    imp.set_defaults(func=_import)

    ls = group.add_parser("list", help="list chargers")
    ls.add_argument("--json", action="store_true")
    add_database_flag(ls)
    ls.set_defaults(func=_list)


def _check_row(row: dict[str, str]) -> None:
    chargers.check(row["id"], row.get("password") or None)


def _add(args: argparse.Namespace) -> int:
    chargers.check(args.id, args.password)  # before the database is opened
    in_transaction(
        args, lambda conn: chargers.register(conn, CLI, args.site, args.id, args.password)
    )
    print(
        f"charger {args.id} registered on site {args.site}"
        f" ({'password set' if args.password else 'no password'})"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    rows = checked(args.file, read_rows(args.file, "id", ("password",)), _check_row, "id")
    hashes = hash_all([r.get("password") or None for _, r in rows], hash_password)
    records = [(r["id"], h) for (_, r), h in zip(rows, hashes, strict=True)]
    count = in_transaction(
        args, lambda conn: chargers.import_chargers(conn, CLI, args.site, records)
    )
    print(f"{count} chargers imported into site {args.site}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = in_transaction(args, charger_views.list_chargers)
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        for r in rows:
            print(
                f"{r['id']}\t{r['site_id'] or '-'}\t{r['state']}\t"
                f"{'monthly' if r['monthly_payment'] else 'direct'}"
            )
    return 0
