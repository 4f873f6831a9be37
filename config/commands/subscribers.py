"""`evgate subscribers buyer ID ...`: a subscriber's buyer details for its invoices."""

from __future__ import annotations

import argparse
import json

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
