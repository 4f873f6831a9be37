"""`evgate portal`: the web portal's users, and a subscriber's one-time sign-in link.

evgate portal add-user EMAIL --role admin --site S1      (password from a prompt)
echo "$PW" | evgate portal add-user EMAIL --role super-admin --password-stdin
evgate portal sign-in-link SUBSCRIBER_ID                  (prints the link's URL)
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.ext.asyncio import AsyncConnection

from config.cli import CliError
from config.commands.common import add_database_flag, in_transaction, settings_from
from services import portal_auth
from services.context import CLI
from store import api_tokens
from store import billing_store as bs
from store.errors import NotFound


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("portal", help="web portal users and sign-in links")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True

    add = group.add_parser("add-user", help="add a portal user (e-mail and password)")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=api_tokens.ROLES)
    add.add_argument("--site", help="the site an admin (or a viewer) is limited to")
    add.add_argument("--language", default="en", choices=portal_auth.LANGUAGES)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_database_flag(add)
    add.set_defaults(func=_add_user)

    link = group.add_parser(
        "sign-in-link", help="a subscriber's one-time sign-in link to its own page (printed)"
    )
    link.add_argument("subscriber_id", type=int)
    add_database_flag(link)
    link.set_defaults(func=_sign_in_link)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ: run the command again")
    return first


def _add_user(args: argparse.Namespace) -> int:
    email = portal_auth.normal_email(args.email)  # before any prompt or database
    api_tokens.check_role(args.role, args.site)
    password = _password(args)
    portal_auth.check_password(password)

    async def work(conn: AsyncConnection) -> int:
        row = await portal_auth.add_user(
            conn, CLI, email, password, args.role, args.site, args.language
        )
        return int(row["id"])

    user_id = in_transaction(args, work)
    where = f" of site {args.site}" if args.site else ""
    print(f"portal user {user_id}: {email}, {args.role}{where}")
    return 0


def _sign_in_link(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    base = settings.public_url or settings.api_base

    async def work(conn: AsyncConnection) -> str:
        sub = await bs.get_subscriber(conn, args.subscriber_id)
        if sub is None:
            raise NotFound(f"no subscriber {args.subscriber_id}: see GET /api/v1/subscribers")
        return await portal_auth.issue_sign_in_link(conn, CLI, sub, base)

    print(in_transaction(args, work))
    return 0
