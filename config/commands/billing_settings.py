"""`evgate sites billing SITE [--kid-mode ...] [--reminder-fee ...]`: show or change a site's
billing settings through services.billing (the same checks and audit as the API)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from billing.money import format_amount
from config.commands.common import add_database_flag, in_transaction
from services import billing
from services.context import CLI

NULL = "default"  # `--reminder-fee-cap default`: back to the currency's legal cap


def register(group: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = group.add_parser(
        "billing", help="show or change a site's KID mode, reminders and reminder fee"
    )
    p.add_argument("id", help="the site")
    p.add_argument("--kid-mode", choices=("mod10", "mod11"), help="KID check digit, new invoices")
    p.add_argument("--reminder-count", type=int, help="reminders per unpaid invoice (0-10)")
    p.add_argument("--reminder-interval-days", type=int, help="days after due and between")
    p.add_argument("--reminder-fee", help="fee per reminder, e.g. 70.00 (within the cap)")
    p.add_argument(
        "--reminder-fee-cap", help=f"the legal cap per reminder, e.g. 70.00, or '{NULL}'"
    )
    p.add_argument("--fee-reminders", type=int, help="how many reminders may carry a fee")
    p.add_argument("--card-charge-at", choices=("issue", "due"), help="when cards are charged")
    p.add_argument("--card-retries", type=int, help="retries of a declined card (0-10)")
    p.add_argument("--card-retry-days", type=int, help="days between card retries (1-30)")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    add_database_flag(p)
    p.set_defaults(func=_billing)


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "kid_mode": args.kid_mode,
        "reminder_count": args.reminder_count,
        "reminder_interval_days": args.reminder_interval_days,
        "reminder_fee": args.reminder_fee,
        "reminder_fee_cap": args.reminder_fee_cap,
        "fee_reminders": args.fee_reminders,
        "card_charge_at": args.card_charge_at,
        "card_retries": args.card_retries,
        "card_retry_days": args.card_retry_days,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if changes.get("reminder_fee_cap") == NULL:
        changes["reminder_fee_cap"] = None
    return changes


def _billing(args: argparse.Namespace) -> int:
    changes = _changes(args)

    async def work(conn: Any) -> dict[str, Any]:
        if not changes:
            return await billing.billing_settings(conn, args.id)
        return await billing.update_billing_settings(conn, args.id, changes, actor=CLI.label)

    settings = in_transaction(args, work)
    if args.json:
        print(json.dumps(settings, indent=2, sort_keys=True))
        return 0
    cur = settings["currency"]
    terms = settings["payment_terms_days"]
    print(f"site {args.id}: KID {settings['kid_mode']}, {terms} days to pay")
    print(
        f"reminders: {settings['reminder_count']}, every {settings['reminder_interval_days']} "
        f"days; fee {format_amount(settings['reminder_fee'], cur)} {cur} on the first "
        f"{settings['fee_reminders']} (cap {format_amount(settings['reminder_fee_cap'], cur)})"
    )
    print(
        f"cards: charged at {settings['card_charge_at']}, a declined one retried "
        f"{settings['card_retries']} times every {settings['card_retry_days']} days"
    )
    return 0
