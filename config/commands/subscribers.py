"""`evgate subscribers buyer ID ...`: a subscriber's buyer details for its invoices."""

from __future__ import annotations

import argparse
import json
from typing import Any

from config.commands.common import add_database_flag, in_transaction
from services.context import CLI

_FLAGS = ("street", "postcode", "city", "country", "orgnr", "vat", "reference", "format")
_KEYS = {"vat": "vat_number", "reference": "buyer_reference", "format": "document_format"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("subscribers", help="subscribers' invoice details")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True
    buyer = group.add_parser(
        "buyer", help="set the billing address and, for a company, org and VAT number"
    )
    buyer.add_argument("id", type=int, help="the subscriber's id")
    buyer.add_argument("--street")
    buyer.add_argument("--postcode")
    buyer.add_argument("--city")
    buyer.add_argument("--country", help="two letters, e.g. NO (default NO)")
    buyer.add_argument("--orgnr", help="the company's organisation number")
    buyer.add_argument("--vat", help="the company's VAT number")
    buyer.add_argument("--reference", help="the buyer's reference (on the invoice and in EHF)")
    buyer.add_argument(
        "--format", choices=("pdf", "ehf"), help="default: EHF for a company, else PDF"
    )
    add_database_flag(buyer)
    buyer.set_defaults(func=_buyer)

    method = group.add_parser("payment-method", help="how the subscriber pays")
    method.add_argument("id", type=int, help="the subscriber's id")
    method.add_argument("method", choices=("manual", "avtalegiro", "vipps", "efaktura", "paper"))
    method.add_argument("--kid", help="avtalegiro: the KID the payer registered the mandate with")
    method.add_argument(
        "--notify", choices=("yes", "no"), default="no", help="avtalegiro: the bank notifies"
    )
    add_database_flag(method)
    method.set_defaults(func=_method)

    refund = group.add_parser(
        "refund-balance", help="refund the subscriber's credit balance (card or bank)"
    )
    refund.add_argument("id", type=int, help="the subscriber's id")
    add_database_flag(refund)
    refund.set_defaults(func=_refund_balance)


def _buyer(args: argparse.Namespace) -> int:
    from services import billing

    values = {
        _KEYS.get(flag, flag): getattr(args, flag)
        for flag in _FLAGS
        if getattr(args, flag) is not None
    }
    done = in_transaction(
        args, lambda conn: billing.set_buyer(conn, args.id, values, actor=CLI.label)
    )
    print(json.dumps(done, indent=2))
    return 0


def _method(args: argparse.Namespace) -> int:
    from services.avtalegiro import set_payment_method

    done = in_transaction(
        args,
        lambda conn: set_payment_method(
            conn, CLI, args.id, args.method, kid=args.kid, notify=args.notify == "yes"
        ),
    )
    print(json.dumps(done, indent=2))
    return 0


def _refund_balance(args: argparse.Namespace) -> int:
    import asyncio

    from config import compose
    from config.commands.common import settings_from
    from services.refunds import refund_balance
    from store import migrate

    settings = settings_from(args)

    async def main() -> dict[str, Any]:
        engine = compose.engine(settings)
        try:
            await migrate.upgrade(engine)
            return await refund_balance(engine, compose.stripe_settings(settings), CLI, args.id)
        finally:
            await engine.dispose()

    done = asyncio.run(main())
    if not done["refunds"]:
        print(f"subscriber {args.id} has no credit balance: nothing refunded")
        return 0
    for r in done["refunds"]:
        how = "to the card" if r["method"] == "stripe" else "by bank, to pay out"
        print(
            f"refund {r['id']} of {r['amount']} (minor units) {r['currency']} {how}: {r['state']}"
        )
    return 0
