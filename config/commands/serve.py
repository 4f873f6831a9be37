"""`evgate serve`: run the OCPP central system and the config API."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource

from config import logs
from config.cli import CliError
from config.commands.common import USER_ERRORS, settings_from


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the OCPP central system and the config API")
    p.add_argument(
        "--database-url",
        help="default: $EVGATE_DATABASE_URL or sqlite+aiosqlite:///./var/evgate.db",
    )
    p.add_argument(
        "--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for real chargers)"
    )
    p.add_argument("--ocpp-port", type=int, help="OCPP WebSocket port (default 9000)")
    p.add_argument("--api-port", type=int, help="config API port (default 8080)")
    p.add_argument(
        "--unknown-chargers",
        choices=("reject", "pending"),
        help="refuse unknown charger ids, or register them as pending (default reject)",
    )
    p.add_argument("--heartbeat-interval", type=int, help="seconds, sent in BootNotification (300)")
    p.add_argument(
        "--max-connections",
        type=int,
        help="chargers held at once; more get 503 + Retry-After (default 0: the open-file "
        "limit less 128)",
    )
    p.add_argument(
        "--api-max-body",
        type=int,
        help="bytes a config API request body may hold; larger get 413 unread (default 1 MiB)",
    )
    p.add_argument("--tls-cert", help="certificate file: serve wss:// (security profile 2)")
    p.add_argument("--tls-key", help="private key file of --tls-cert")
    p.add_argument(
        "--tls-client-ca",
        help="CA file: ask chargers for client certificates it signed (security profile 3)",
    )
    p.add_argument(
        "--csms-ca-cert",
        help="CA certificate (PEM) that signs OCPP 2.0.1 chargers' renewed certificates",
    )
    p.add_argument("--csms-ca-key", help="the private key (PEM, unencrypted) of --csms-ca-cert")
    p.add_argument(
        "--csms-cert-days",
        help="days a certificate signed for a charger lives (default 365; never past the CA's)",
    )
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING")
    p.add_argument(
        "--mqtt-url",
        help="mqtt://HOST:1883: publish events, route commands between "
        "instances (default: none; events wait in the outbox)",
    )
    p.add_argument(
        "--public-url",
        help="where chargers and people reach the API port and the web portal: diagnostics "
        "upload URLs, links in mails, Secure cookies (default http://HOST:API_PORT for "
        "chargers, the address of each request for people)",
    )
    p.add_argument(
        "--diagnostics-dir",
        help="where uploaded diagnostics files are kept (default: diagnostics/ beside the "
        "SQLite file, else ./var/diagnostics)",
    )
    p.set_defaults(func=_serve, user_errors=USER_ERRORS)  # a bad flag or variable: one line


def _serve(args: argparse.Namespace) -> int:
    from config.app import run

    # one descriptor per connected charger: a soft limit of 1,024 would cap the fleet there
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):  # e.g. an unlimited hard limit (macOS)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    settings = settings_from(
        args,
        host=args.host,
        ocpp_port=args.ocpp_port,
        api_port=args.api_port,
        unknown_chargers=args.unknown_chargers,
        heartbeat_interval=args.heartbeat_interval,
        max_connections=args.max_connections,
        api_max_body=args.api_max_body,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        csms_ca_cert=args.csms_ca_cert,
        csms_ca_key=args.csms_ca_key,
        csms_cert_days=args.csms_cert_days,
        log_level=args.log_level,
        mqtt_url=args.mqtt_url,
        public_url=args.public_url,
        diagnostics_dir=args.diagnostics_dir,
    )
    logs.setup(settings.log_level, settings.log_format)
    try:
        asyncio.run(run(settings))  # a bad database URL (StoreError) is a user error: one line
    except OSError as exc:
        raise CliError(f"cannot start: {exc.strerror or exc}") from None
    return 0
