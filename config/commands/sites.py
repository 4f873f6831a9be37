"""`evgate sites add|policy|security-profile|billing|power-limit|list`."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from config.cli import CliError
from config.commands import billing_settings
from config.commands.common import add_database_flag, in_transaction
from services import site_power, site_security, sites
from services.context import CLI
from store import admin


def vat_basis_points(text: str) -> int:
    """'25' or '25%' or '12.5' percent -> basis points, exactly."""
    try:
        value = Decimal(text.strip().rstrip("%")) * 100
    except InvalidOperation:
        raise CliError(f"VAT {text!r} is not a percentage such as 25 or 12.5") from None
    if value != value.to_integral_value():
        raise CliError(f"VAT {text!r} has more than two decimals")
    return int(value)


POLICY = "open: any unblocked tag may charge; registered: only the site's tokens"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("sites", help="create and list sites")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True

    add = group.add_parser("add", help="create a site")
    add.add_argument("id")
    add.add_argument("--tz", required=True, help="IANA time zone, e.g. Europe/Oslo")
    add.add_argument("--currency", required=True, help="ISO 4217 code, e.g. NOK")
    add.add_argument("--vat", required=True, help="VAT rate in percent, e.g. 25")
    add.add_argument("--plan", choices=admin.PLANS, default="basic")
    add.add_argument("--name", default="")
    add.add_argument(
        "--allow-passwordless",
        action="store_true",
        help="let chargers without a password connect (the Wallbox default)",
    )
    add.add_argument("--payment-terms", type=int, default=30, help="days to pay an invoice")
    add.add_argument("--auth-policy", choices=admin.AUTH_POLICIES, default="open", help=POLICY)
    add_database_flag(add)
    add.set_defaults(func=_add)

    policy = group.add_parser("policy", help="set who may charge off monthly payment")
    policy.add_argument("id")
    policy.add_argument("auth_policy", choices=admin.AUTH_POLICIES, help=POLICY)
    add_database_flag(policy)
    policy.set_defaults(func=_policy)

    security = group.add_parser(
        "security-profile",
        help="set the OCPP security profile the site's chargers must connect with",
    )
    security.add_argument("id")
    security.add_argument(
        "profile",
        type=int,
        choices=(1, 2, 3),
        help="1: Basic Auth; 2: TLS + Basic Auth; 3: TLS + client certificate",
    )
    add_database_flag(security)
    security.set_defaults(func=_security_profile)

    billing_settings.register(group)

    power = group.add_parser(
        "power-limit",
        help="set or remove the site's power limit (kW), shared between its running sessions",
    )
    power.add_argument("id")
    which = power.add_mutually_exclusive_group(required=True)
    which.add_argument("--kw", help="the limit in kW, e.g. 22 or 7.4 (at most 3 decimals)")
    which.add_argument("--none", action="store_true", help="remove the limit")
    add_database_flag(power)
    power.set_defaults(func=_power_limit)

    seller = group.add_parser(
        "seller", help="set the site's seller details its invoices carry (checked by country)"
    )
    seller.add_argument("id")
    add_seller_flags(seller)
    add_database_flag(seller)
    seller.set_defaults(func=_seller)

    ls = group.add_parser("list", help="list sites")
    ls.add_argument("--json", action="store_true")
    add_database_flag(ls)
    ls.set_defaults(func=_list)


def _yes_no(text: str) -> bool:
    if text.lower() in ("yes", "true", "1"):
        return True
    if text.lower() in ("no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not yes or no")


def add_seller_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--legal-name")
    p.add_argument("--street")
    p.add_argument("--postcode")
    p.add_argument("--city")
    p.add_argument("--country", help="two letters, e.g. NO, SE, DK (default NO)")
    p.add_argument("--orgnr", help="organisation number, e.g. 923609016")
    p.add_argument("--vat", help="VAT number, e.g. NO923609016MVA; 'none': not VAT registered")
    p.add_argument("--foretaksregisteret", type=_yes_no, metavar="yes|no")
    p.add_argument("--f-skatt", type=_yes_no, metavar="yes|no", help="Godkänd för F-skatt")
    p.add_argument("--account", help="Norwegian 11-digit account number or IBAN")
    p.add_argument("--bic")
    p.add_argument("--invoice-email")
    p.add_argument("--logo", metavar="FILE", help="a PNG or JPEG for the top of its documents")
    p.add_argument("--no-logo", action="store_true", help="remove the logo")


_SELLER_FLAGS = {
    "legal_name": "legal_name",
    "street": "street",
    "postcode": "postcode",
    "city": "city",
    "country": "country",
    "orgnr": "orgnr",
    "vat": "vat_number",
    "foretaksregisteret": "foretaksregisteret",
    "f_skatt": "f_skatt",
    "account": "account",
    "bic": "bic",
    "invoice_email": "invoice_email",
}


def _seller(args: argparse.Namespace) -> int:
    from services import billing

    values = {
        key: getattr(args, flag)
        for flag, key in _SELLER_FLAGS.items()
        if getattr(args, flag) is not None
    }
    if str(values.get("vat_number", "")).lower() == "none":
        values["vat_number"] = None
    logo: bytes | None = None
    if args.logo:
        try:
            logo = Path(args.logo).read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read the logo {args.logo}: {exc.strerror}") from None

    async def work(conn: Any) -> dict[str, Any]:
        changes_logo = logo is not None or args.no_logo
        if values or not changes_logo:
            done = await billing.set_seller(conn, args.id, values, actor=CLI.label)
        if changes_logo:
            done = await billing.set_seller_logo(conn, args.id, logo, actor=CLI.label)
        return done

    print(json.dumps(in_transaction(args, work), indent=2))
    return 0


def _add(args: argparse.Namespace) -> int:
    site = admin.SiteInput(
        id=args.id,
        tz=args.tz,
        currency=args.currency,
        vat_bp=vat_basis_points(args.vat),
        plan=args.plan,
        allow_passwordless=args.allow_passwordless,
        name=args.name,
        payment_terms_days=args.payment_terms,
        auth_policy=args.auth_policy,
    )
    in_transaction(args, lambda conn: sites.create(conn, CLI, site))
    print(f"site {site.id} created ({site.plan}, {site.tz}, {site.currency})")
    return 0


def _policy(args: argparse.Namespace) -> int:
    values = {"auth_policy": args.auth_policy}
    in_transaction(args, lambda conn: sites.update(conn, CLI, args.id, values))
    print(f"site {args.id} auth policy is now {args.auth_policy}")
    return 0


def _security_profile(args: argparse.Namespace) -> int:
    in_transaction(args, lambda conn: site_security.set_profile(conn, CLI, args.id, args.profile))
    described = site_security.DESCRIPTIONS[args.profile]
    print(f"site {args.id} security profile is now {args.profile}: {described}")
    return 0


def kilowatts(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CliError(f"power limit {text!r} is not a number of kW such as 22 or 7.4") from None
    if not value.is_finite():
        raise CliError(f"power limit {text!r} is not a number of kW such as 22 or 7.4")
    return value


def _power_limit(args: argparse.Namespace) -> int:
    watts = None if args.none else site_power.kw_to_w(kilowatts(args.kw))
    stored = in_transaction(
        args, lambda conn: site_power.set_power_limit(conn, CLI, args.id, watts)
    )
    if watts is None:
        print(f"site {args.id} has no power limit now")
    else:
        print(
            f"site {args.id} power limit is now {stored['power_limit_kw']} kW; "
            "running sessions are re-shared when a session starts or stops"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = in_transaction(args, lambda conn: sites.visible(conn, CLI))
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        for r in rows:
            vat = Decimal(r["vat_bp"]) / 100
            print(
                f"{r['id']}\t{r['plan']}\t{r['tz']}\t{r['currency']}\tVAT {vat}%"
                f"\tprofile {r['security_profile']}"
            )
    return 0
