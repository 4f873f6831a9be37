"""`evgate sessions list [--json]`, `evgate sessions approve|exclude ID --reason TEXT`."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from config.commands.common import add_database_flag, in_transaction
from services import session_review
from services.context import CLI
from store.session_views import list_sessions

FIELDS = (
    "id",
    "charger_id",
    "connector_id",
    "id_tag",
    "started_at",
    "stopped_at",
    "energy_wh",
    "charging_s",
    "parking_s",
    "flags",
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("sessions", help="stored charging sessions")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True
    ls = group.add_parser("list", help="list sessions")
    ls.add_argument("--json", action="store_true", help="a JSON array, times in UTC ISO 8601")
    ls.add_argument("--site")
    ls.add_argument("--charger")
    add_database_flag(ls)
    ls.set_defaults(func=_list)
    helps = {
        "approve": "bill a flagged session despite its flags (from the next billing run)",
        "exclude": "never bill a flagged session",
    }
    for decision, text in helps.items():
        p = group.add_parser(decision, help=text)
        p.add_argument("id", type=int, metavar="ID", help="the session id (sessions list)")
        p.add_argument("--reason", required=True, help="why: kept in the audit log")
        add_database_flag(p)
        p.set_defaults(func=_review, decision=decision)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def public(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS}
    out["started_at"], out["stopped_at"] = _iso(row["started_at"]), _iso(row["stopped_at"])
    out["monthly_payment"] = bool(row["monthly_payment"])
    return out


def _list(args: argparse.Namespace) -> int:
    rows = in_transaction(
        args,
        lambda conn: list_sessions(
            conn, site_id=args.site, charger_id=args.charger, limit=None, newest_first=False
        ),
    )
    items = [public(r) for r in rows]
    if args.json:
        print(json.dumps(items, indent=2))
    else:
        for s in items:
            energy = "-" if s["energy_wh"] is None else f"{s['energy_wh']} Wh"
            print(
                f"{s['id']}\t{s['charger_id']}#{s['connector_id']}\t{s['id_tag']}\t"
                f"{s['started_at']}\t{s['stopped_at'] or 'open'}\t{energy}\t"
                f"{','.join(s['flags'])}"
            )
    return 0


def _review(args: argparse.Namespace) -> int:
    done = in_transaction(
        args,
        lambda conn: session_review.review(conn, CLI, args.id, args.decision, args.reason),
    )
    verb = "approved for billing" if done["decision"] == "approve" else "excluded from billing"
    print(f"session {args.id} {verb} (flags: {','.join(done['flags'])})")
    return 0
