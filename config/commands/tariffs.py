"""`evgate tariffs`: price an OCPI CDR under a tariff, and check a tariff for mistakes.

A thin shell over the pure ``tariffs`` package: it reads files, picks the time zone and turns
bad input into one-line errors (exit status 2) that name the file and the field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from config.cli import CliError
from config.country_zones import infer_zone
from tariffs import (
    ChargingPeriod,
    Tariff,
    TariffError,
    cdr_totals,
    check_tariff,
    dumps,
    parse_tariff,
    periods_from_cdr,
    price_periods,
)
from tariffs.cdr import cdr_time_warnings
from tariffs.periods import zone_for

_COST_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
_VOLUME_FIELDS = ("total_energy", "total_time", "total_parking_time")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tariffs", help="price and check OCPI 2.2.1 tariffs")
    actions = parser.add_subparsers(dest="tariffs_action", metavar="ACTION")
    actions.required = True

    price = actions.add_parser(
        "price",
        help="price the charging periods of an OCPI CDR",
        description="Price the charging periods of an OCPI 2.2.1 CDR and print the CDR totals "
        "as JSON (amounts as 4-decimal strings).",
    )
    price.add_argument("--cdr", required=True, metavar="CDR.json", help="OCPI CDR to price")
    price.add_argument(
        "--tariff", metavar="TARIFF.json", help="OCPI tariff (default: the CDR's own tariffs)"
    )
    price.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone of the site (default: cdr_location.time_zone, else the zone of "
        "cdr_location.country when it has one, else UTC)",
    )
    price.set_defaults(func=price_command)

    check = actions.add_parser("check", help="validate a tariff and list warnings")
    check.add_argument("tariff", metavar="TARIFF.json")
    check.set_defaults(func=check_command)


def price_command(args: argparse.Namespace) -> int:
    cdr = _load(args.cdr)
    if not isinstance(cdr, Mapping):
        raise CliError(f"{args.cdr}: must hold an OCPI CDR object")
    tariff = _tariff_file(args.tariff) if args.tariff else _cdr_tariff(cdr, args.cdr)
    currency = cdr.get("currency")
    if isinstance(currency, str) and currency != tariff.currency:
        raise CliError(f"{args.cdr}: currency: the CDR is in {currency}, the tariff in "
                       f"{tariff.currency}")  # fmt: skip
    try:
        periods = periods_from_cdr(cdr)
    except TariffError as err:
        raise CliError(f"{args.cdr}: {err}") from None
    tz = _zone(args.tz, cdr, periods)
    for warning in cdr_time_warnings(cdr, periods):
        print(f"evgate: warning: {args.cdr}: {warning}", file=sys.stderr)
    try:
        session = price_periods(tariff, periods, tz)
    except TariffError as err:
        raise CliError(f"{args.cdr}: {err}") from None
    totals = cdr_totals(session)
    out: dict[str, Any] = {"currency": session.currency}
    for name in _COST_FIELDS:
        out[name] = {k: str(v) for k, v in totals[name].items()}
    for name in _VOLUME_FIELDS:
        out[name] = totals[name]
    print(dumps(out))
    return 0


def check_command(args: argparse.Namespace) -> int:
    tariff = _tariff_file(args.tariff)
    label = f"tariff {tariff.id}" if tariff.id else "tariff"
    count = len(tariff.elements)
    print(f"{args.tariff}: valid OCPI 2.2.1 {label} in {tariff.currency}, {count} element(s)")
    for warning in check_tariff(tariff):
        print(f"warning: {warning}")
    return 0


def _load(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None


def _tariff_file(path: str) -> Tariff:
    obj = _load(path)
    try:
        return parse_tariff(obj)
    except TariffError as err:
        raise CliError(f"{path}: {err}") from None


def _cdr_tariff(cdr: Mapping[str, Any], path: str) -> Tariff:
    """The CDR's own tariff: the only one, or the one all periods name."""
    raw = cdr.get("tariffs")
    if not isinstance(raw, list) or not raw:
        raise CliError(f"{path}: tariffs: the CDR carries no tariff; pass --tariff TARIFF.json")
    tariffs = []
    for i, obj in enumerate(raw):
        try:
            tariffs.append(parse_tariff(obj))
        except TariffError as err:
            raise CliError(f"{path}: tariffs[{i}].{err}") from None
    if len(tariffs) == 1:
        return tariffs[0]
    periods = cdr.get("charging_periods")
    named = (
        {p.get("tariff_id") for p in periods if isinstance(p, Mapping)}
        if isinstance(periods, list)
        else set()
    )
    chosen = [t for t in tariffs if t.id is not None and t.id in named]
    if len(named) == 1 and len(chosen) == 1:
        return chosen[0]
    raise CliError(f"{path}: tariffs: the CDR carries several tariffs; pass --tariff TARIFF.json")


def _zone(given: str | None, cdr: Mapping[str, Any], periods: Sequence[ChargingPeriod]) -> str:
    """--tz, else cdr_location.time_zone (not in OCPI 2.2.1, but some CPOs send it), else the
    zone of cdr_location.country when that country keeps one clock, else UTC (with a warning)."""
    location = cdr.get("cdr_location")
    location = location if isinstance(location, Mapping) else {}
    source, tz = "--tz", given
    if tz is None:
        found = location.get("time_zone")
        source, tz = "cdr_location.time_zone", found if isinstance(found, str) else None
    country = location.get("country")
    if tz is None and isinstance(country, str):
        return _country_zone(country, periods)
    if tz is None:
        _warn_utc("the CDR names no time zone (OCPI 2.2.1 CdrLocation has none)")
        return "UTC"
    try:
        zone_for(tz)
    except TariffError:
        raise CliError(
            f"{source}: unknown time zone {tz!r}; use an IANA name like Europe/Oslo"
        ) from None
    return tz


def _country_zone(country: str, periods: Sequence[ChargingPeriod]) -> str:
    instants = [p.start for p in periods] + [periods[-1].end]
    found = infer_zone(country, instants)
    if found.zone is not None:
        print(
            f"evgate: time zone {found.zone} inferred from cdr_location.country {country} "
            "(pass --tz ZONE to override)",
            file=sys.stderr,
        )
        return found.zone
    if not found.known:
        _warn_utc(f"cdr_location.country {country!r} is not a country the time zone table knows")
    else:
        names = ", ".join(found.candidates[:4]) + (", ..." if len(found.candidates) > 4 else "")
        _warn_utc(f"cdr_location.country {country} has several time zones ({names})")
    return "UTC"


def _warn_utc(why: str) -> None:
    print(
        f"evgate: warning: {why}; pricing time windows in UTC. "
        "Pass --tz ZONE to use the site's zone.",
        file=sys.stderr,
    )
