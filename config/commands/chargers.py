"""`evgate chargers add|import|list|command|firmware|diagnostics|reservations|push-local-list`.

`firmware` and `diagnostics` read the database: a charger's update-firmware and
get-diagnostics requests, newest first, with every status the charger reported.

`command` and `push-local-list` need the charger's live socket, which only a running
`evgate serve` holds: they post to that server's config API (EVGATE_API_URL, default
http://HOST:API_PORT, with the token EVGATE_API_TOKEN), so the server checks the role and
audits as for any API caller.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

import httpx

from config.cli import CliError
from config.commands.common import USER_ERRORS, add_database_flag, in_transaction, settings_from
from config.commands.imports import checked, hash_all, read_rows
from gateway.auth import hash_password
from services import chargers, command_catalog, firmware, reservations
from services.context import CLI
from store import charger_views


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("chargers", help="register chargers")
    group = parser.add_subparsers(dest="action", metavar="ACTION")
    group.required = True

    add = group.add_parser("add", help="register one charger")
    add.add_argument("id", help="the OCPP identity: last path segment of the charger's URL")
    add.add_argument("--site", required=True)
    add.add_argument("--password", help="HTTP Basic Auth password (16-40 characters)")
    add_database_flag(add)
    add.set_defaults(func=_add)

    imp = group.add_parser("import", help="register chargers from a CSV file (id[,password])")
    imp.add_argument("file")
    imp.add_argument("--site", required=True)
    add_database_flag(imp)
    imp.set_defaults(func=_import)

    ls = group.add_parser("list", help="list chargers")
    ls.add_argument("--json", action="store_true")
    add_database_flag(ls)
    ls.set_defaults(func=_list)

    cmd = group.add_parser(
        "command",
        help="send a remote command to a connected charger through a running `evgate serve`",
    )
    cmd.add_argument("id", help="the charger")
    cmd.add_argument("name", help="one of: " + ", ".join(sorted(command_catalog.CATALOG)))
    cmd.add_argument("--json", default="{}", metavar="BODY", help="the OCPP 1.6 request payload")
    cmd.add_argument("--api-url", help="default: $EVGATE_API_URL or http://HOST:API_PORT")
    cmd.add_argument("--api-token", help="default: $EVGATE_API_TOKEN (an admin token)")
    cmd.set_defaults(func=_command, user_errors=USER_ERRORS)

    for name, what in (
        ("firmware", "a charger's firmware updates and the statuses it reported"),
        ("diagnostics", "a charger's diagnostics requests, statuses and uploaded files"),
    ):
        shown = group.add_parser(name, help=what)
        shown.add_argument("id", help="the charger")
        shown.add_argument("--json", action="store_true")
        add_database_flag(shown)
        shown.set_defaults(func=_firmware if name == "firmware" else _diagnostics)
    res = group.add_parser("reservations", help="a charger's reservations, newest first")
    res.add_argument("id", help="the charger")
    res.add_argument("--json", action="store_true")
    add_database_flag(res)
    res.set_defaults(func=_reservations, user_errors=USER_ERRORS)
    lal = group.add_parser(
        "push-local-list",
        help="send a connected charger the local authorization list derived from its site's "
        "tokens (only what changed since its last accepted version) through `evgate serve`",
    )
    lal.add_argument("id", help="the charger")
    lal.add_argument("--full", action="store_true", help="send the whole list")
    lal.add_argument("--api-url", help="default: $EVGATE_API_URL or http://HOST:API_PORT")
    lal.add_argument("--api-token", help="default: $EVGATE_API_TOKEN (an admin token)")
    lal.set_defaults(func=_push_local_list, user_errors=USER_ERRORS)


def _check_row(row: dict[str, str]) -> None:
    chargers.check(row["id"], row.get("password") or None)


def _add(args: argparse.Namespace) -> int:
    chargers.check(args.id, args.password)  # before the database is opened
    in_transaction(
        args, lambda conn: chargers.register(conn, CLI, args.site, args.id, args.password)
    )
    print(
        f"charger {args.id} registered on site {args.site}"
        f" ({'password set' if args.password else 'no password'})"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    rows = checked(args.file, read_rows(args.file, "id", ("password",)), _check_row, "id")
    hashes = hash_all([r.get("password") or None for _, r in rows], hash_password)
    records = [(r["id"], h) for (_, r), h in zip(rows, hashes, strict=True)]
    count = in_transaction(
        args, lambda conn: chargers.import_chargers(conn, CLI, args.site, records)
    )
    print(f"{count} chargers imported into site {args.site}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = in_transaction(args, charger_views.list_chargers)
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        for r in rows:
            print(
                f"{r['id']}\t{r['site_id'] or '-'}\t{r['state']}\t"
                f"{'monthly' if r['monthly_payment'] else 'direct'}"
            )
    return 0


def _command(args: argparse.Namespace) -> int:
    try:
        body = json.loads(args.json)
    except json.JSONDecodeError as exc:
        raise CliError(f"--json is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CliError("--json must be a JSON object (the OCPP request payload)")
    command_catalog.find(args.name)  # unknown: the known names, before any network
    reply = _post(args, f"/api/v1/chargers/{args.id}/commands/{args.name}", body)
    filled = {k: v for k, v in (reply.get("request") or {}).items() if k not in body}
    if filled:  # what evgate gave the request (reserve-now's reservationId)
        print(f"sent with {json.dumps(filled)}", file=sys.stderr)
    print(json.dumps(reply["answer"], indent=2))
    return 0


def _push_local_list(args: argparse.Namespace) -> int:
    result = _post(args, f"/api/v1/chargers/{args.id}/local-list/push", {"full": args.full})
    print(json.dumps(result, indent=2))
    if result["status"] not in ("Accepted", "UpToDate"):
        raise CliError(f"charger {args.id} answered {result['status']}: its list is unchanged")
    return 0


def _post(args: argparse.Namespace, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the running server's API; its answer, or a one-line CliError."""
    settings = settings_from(args, api_url=args.api_url, api_token=args.api_token)
    if not settings.api_token:
        raise CliError("no API token: set EVGATE_API_TOKEN or --api-token")
    url = f"{settings.api_base}{path}"
    try:
        answer = httpx.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {settings.api_token}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach evgate serve at {settings.api_base}: {exc}") from None
    if answer.status_code != 200:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise CliError(f"{answer.status_code}: {detail}")
    result: dict[str, Any] = answer.json()
    return result


def _reservations(args: argparse.Namespace) -> int:
    rows = in_transaction(args, lambda conn: reservations.list_reservations(conn, CLI, args.id))
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    for r in rows:
        tag = r["id_tag"] + (f" (parent {r['parent_id_tag']})" if r["parent_id_tag"] else "")
        print(
            f"{r['reservation_id']}\tconnector {r['connector_id']}\t{tag}\t"
            f"until {r['expires_at'].isoformat()}\t{r['state']}\t{r['status'] or '-'}"
        )
    if not rows:
        print(f"charger {args.id} has no reservations")
    return 0


def _when(value: object) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "-"


def _history(request: dict[str, Any]) -> str:
    return " > ".join(h["status"] for h in request["history"]) or "-"


def _firmware(args: argparse.Namespace) -> int:
    found = in_transaction(args, lambda conn: firmware.firmware_requests(conn, CLI, args.id))
    if args.json:
        print(json.dumps(found, default=str, indent=2))
        return 0
    if not found["requests"]:
        print(f"no firmware updates asked of {args.id}")
    for r in found["requests"]:
        print(
            f"{r['id']}\t{_when(r['requested_at'])}\t{r['status'] or 'no status yet'}\t"
            f"{r['location']}\t{_history(r)}"
        )
    return 0


def _diagnostics(args: argparse.Namespace) -> int:
    found = in_transaction(args, lambda conn: firmware.diagnostics_requests(conn, CLI, args.id))
    if args.json:
        print(json.dumps(found, default=str, indent=2))
        return 0
    if not found["requests"]:
        print(f"no diagnostics asked of {args.id}")
    for r in found["requests"]:
        upload = r["upload"]
        kept = f"{upload['size']} bytes sha256 {upload['sha256']}" if upload else "no file"
        print(
            f"{r['id']}\t{_when(r['requested_at'])}\t{r['status'] or 'no status yet'}\t"
            f"{r['file_name'] or '-'}\t{kept}\t{_history(r)}"
        )
    return 0
