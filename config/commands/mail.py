"""`evgate mail list [--state S] [--site S] [--json]`, `evgate mail retry ID`: the mail outbox."""

from __future__ import annotations

import argparse
import json

from config.commands.common import add_database_flag, in_transaction
from services import mail
from services.context import CLI
from store.mail_store import STATES


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("mail", help="the e-mails evgate queued and sent")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True
    ls = group.add_parser("list", help="mails, newest first (no bodies)")
    ls.add_argument("--state", choices=STATES)
    ls.add_argument("--site")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--json", action="store_true", help="a JSON array, times in UTC ISO 8601")
    add_database_flag(ls)
    ls.set_defaults(func=_list)
    retry = group.add_parser("retry", help="send a failed mail again (attempts from zero)")
    retry.add_argument("id", type=int)
    add_database_flag(retry)
    retry.set_defaults(func=_retry)


def _list(args: argparse.Namespace) -> int:
    limit = max(1, min(args.limit, 10_000))
    items = in_transaction(args, lambda conn: mail.listing(conn, CLI, args.site, args.state, limit))
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for m in items:
        print(
            f"{m['id']}\t{m['state']}\t{m['kind']}\t{m['site_id'] or '-'}\t{m['recipient']}\t"
            f"attempts {m['attempts']}\t{m['sent_at'] or m['next_attempt_at']}\t"
            f"{m['last_error'] or ''}".rstrip()
        )
    return 0


def _retry(args: argparse.Namespace) -> int:
    row = in_transaction(args, lambda conn: mail.retry(conn, CLI, args.id))
    print(f"mail {row['id']} ({row['kind']} to {row['recipient']}) is pending again")
    return 0
