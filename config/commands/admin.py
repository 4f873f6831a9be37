"""`evgate admin create-token`: the first API token (after that, POST /api/v1/api-tokens)."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncConnection

from config.commands.common import add_database_flag, in_transaction
from services import api_tokens as services_api_tokens
from services.context import CLI
from store import api_tokens


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("admin", help="config API administration")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True

    create = group.add_parser(
        "create-token", help="create a config API token and print it (shown once)"
    )
    create.add_argument("--role", required=True, choices=api_tokens.ROLES)
    create.add_argument("--site", help="the site an admin (or a viewer) token is limited to")
    create.add_argument("--name", default="", help="who or what uses it, for the audit log")
    add_database_flag(create)
    create.set_defaults(func=_create_token)


def _create_token(args: argparse.Namespace) -> int:
    api_tokens.check_role(args.role, args.site)  # before the database is opened

    async def work(conn: AsyncConnection) -> str:
        _token_id, token = await services_api_tokens.create(
            conn, CLI, args.role, args.site, args.name
        )
        return token

    print(in_transaction(args, work))
    return 0
