"""`evgate tokens add|import|block|unblock|expire`: RFID cards (OCPP idTags) of a site."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from config.cli import CliError
from config.commands.common import add_database_flag, in_transaction
from config.commands.imports import checked, read_rows
from services import tokens
from services.context import CLI


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("tokens", help="RFID cards and app tokens")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True

    add = group.add_parser("add", help="add one token to a site")
    add.add_argument("id_tag")
    add.add_argument("--site", required=True)
    add_database_flag(add)
    add.set_defaults(func=_add)

    imp = group.add_parser("import", help="add tokens from a CSV file (column id_tag)")
    imp.add_argument("file")
    imp.add_argument("--site", required=True)
    add_database_flag(imp)
    imp.set_defaults(func=_import)

    for name, state in (("block", "blocked"), ("unblock", "active")):
        cmd = group.add_parser(name, help=f"mark a token {state}")
        cmd.add_argument("id_tag")
        cmd.add_argument("--site", required=True)
        add_database_flag(cmd)
        cmd.set_defaults(func=_set_state, state=state)

    exp = group.add_parser("expire", help="set or clear when a token expires (then: Expired)")
    exp.add_argument("id_tag")
    exp.add_argument("--site", required=True)
    when = exp.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", help="ISO 8601 date-time with offset, e.g. 2027-01-31T23:59:59Z")
    when.add_argument("--never", action="store_true", help="clear the expiry")
    add_database_flag(exp)
    exp.set_defaults(func=_expire)


def _add(args: argparse.Namespace) -> int:
    tokens.check(args.id_tag)  # before the database is opened
    in_transaction(args, lambda conn: tokens.add(conn, CLI, args.site, args.id_tag))
    print(f"token {args.id_tag} added to site {args.site}")
    return 0


def _import(args: argparse.Namespace) -> int:
    rows = checked(
        args.file, read_rows(args.file, "id_tag"), lambda r: tokens.check(r["id_tag"]), "id_tag"
    )
    tags = [r["id_tag"] for _, r in rows]
    count = in_transaction(args, lambda conn: tokens.import_tokens(conn, CLI, args.site, tags))
    print(f"{count} tokens imported into site {args.site}")
    return 0


def _set_state(args: argparse.Namespace) -> int:
    in_transaction(
        args, lambda conn: tokens.set_state(conn, CLI, args.site, args.id_tag, args.state)
    )
    print(f"token {args.id_tag} on site {args.site} is now {args.state}")
    return 0


def expiry(text: str) -> datetime:
    """`--at`: an ISO 8601 date-time with its offset, as UTC (a naive time is refused)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--at {text!r} must be an ISO 8601 date-time such as 2027-01-31T23:59:59Z"
        ) from None
    if at.tzinfo is None:
        raise CliError(f"--at {text!r} needs an offset (Z or +01:00)")
    return at.astimezone(UTC)


def _expire(args: argparse.Namespace) -> int:
    at = None if args.never else expiry(args.at)
    in_transaction(args, lambda conn: tokens.set_expiry(conn, CLI, args.site, args.id_tag, at))
    print(f"token {args.id_tag} on site {args.site} expires {at.isoformat() if at else 'never'}")
    return 0
