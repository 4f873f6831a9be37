"""Settings: command-line flags over EVGATE_* environment variables over defaults.

The one place the process environment is read: every EVGATE_<FIELD> variable is a field
here, and everything else (store, billing, the API) is handed what it needs by
config.compose. tests/unit/config/test_env_only_in_settings.py keeps it that way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy.engine import make_url

from store.db import DEFAULT_URL
from store.errors import Invalid


class SettingsError(Invalid):
    """A flag or EVGATE_* variable with a value evgate cannot run with."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    host: str = "127.0.0.1"
    ocpp_port: int = 9000
    api_port: int = 8080
    unknown_chargers: str = "reject"  # reject | pending
    heartbeat_interval: int = 300
    # chargers one process holds at once; 0: the open-file limit less a reserve of 128
    max_connections: int = 0
    tls_cert: str | None = None
    tls_key: str | None = None
    # CA file whose client certificates chargers may present (security profile 3)
    tls_client_ca: str | None = None
    # the CA (certificate and unencrypted key, PEM) that signs OCPP 2.0.1 chargers' renewed
    # client certificates (SignCertificate), and how many days what it signs lives
    csms_ca_cert: str | None = None
    csms_ca_key: str | None = field(default=None, repr=False)
    csms_cert_days: int = 365
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    # MQTT broker for events and cross-instance commands; empty: events wait in the outbox
    mqtt_url: str | None = None
    mqtt_prefix: str = "evgate"
    # Stripe autopay (billing runs, the scheduler) and webhooks; no key: no card payments
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str | None = None  # e.g. localstripe's http://127.0.0.1:PORT
    # the publishable key the portal's card page gives Stripe.js (pk_live_... / pk_test_...)
    stripe_publishable_key: str = ""
    # the most a config API request body may hold (larger: 413 before it is read)
    api_max_body: int = 1024 * 1024
    # where CLI commands that need a charger's live socket reach a running `evgate serve`
    # (default http://HOST:API_PORT), and the config API token they send
    api_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    # where chargers and people reach evgate's API port (diagnostics upload URLs, the links in
    # mails, the portal's Secure cookies); default for chargers http://HOST:API_PORT, which a
    # charger cannot reach when HOST is 0.0.0.0 or behind a proxy; for people, the request's
    public_url: str | None = None
    # where uploaded diagnostics files are kept (default: "diagnostics" beside the SQLite
    # database file, else ./var/diagnostics), and the most one upload may hold
    diagnostics_dir: str | None = None
    diagnostics_max_bytes: int = 20 * 1024 * 1024
    # e-mail: no SMTP host, no mails sent (they wait in the mail outbox)
    smtp_host: str | None = None
    smtp_port: int = 0  # 0: 587 with STARTTLS, 465 with TLS, 25 without
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: str = "starttls"  # starttls | tls (implicit, "SMTPS") | none
    mail_from: str | None = None  # default evgate@MAIL_DOMAIN
    mail_domain: str | None = None  # Message-IDs' domain; default MAIL_FROM's, else localhost

    @property
    def api_base(self) -> str:
        return (self.api_url or f"http://{self.host}:{self.api_port}").rstrip("/")

    @property
    def public_base(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.api_port}").rstrip("/")

    @property
    def diagnostics_path(self) -> str:
        if self.diagnostics_dir:
            return self.diagnostics_dir
        try:
            database = make_url(self.database_url).database or ""
            sqlite = make_url(self.database_url).get_backend_name() == "sqlite"
        except Exception:  # an unreadable URL is reported by the engine, not here
            database, sqlite = "", False
        if sqlite and database and database != ":memory:":
            return os.path.join(os.path.dirname(database) or ".", "diagnostics")
        return os.path.join("var", "diagnostics")

    @property
    def message_domain(self) -> str:
        if self.mail_domain:
            return self.mail_domain
        if self.mail_from and "@" in self.mail_from:
            return self.mail_from.rsplit("@", 1)[1].strip(" >")
        return "localhost"

    @property
    def sender_address(self) -> str:
        return self.mail_from or f"evgate@{self.message_domain}"

    @classmethod
    def load(
        cls, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None
    ) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = (overrides or {}).get(f.name)
            if raw is None:
                raw = env.get(f"EVGATE_{f.name.upper()}")
            if raw is None:
                continue
            if f.type in ("int", int):
                try:
                    raw = int(raw)
                except (TypeError, ValueError):
                    raise SettingsError(
                        f"EVGATE_{f.name.upper()} / --{f.name.replace('_', '-')} "
                        f"must be a whole number, not {raw!r}"
                    ) from None
            values[f.name] = raw
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        for name in ("ocpp_port", "api_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise SettingsError(f"{name.replace('_', ' ')} {port} is not a TCP port (0-65535)")
        if self.unknown_chargers not in ("reject", "pending"):
            raise SettingsError("unknown chargers must be 'reject' or 'pending'")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise SettingsError("TLS needs both a certificate and a key file")
        if self.tls_client_ca and not self.tls_cert:
            raise SettingsError("a TLS client CA needs --tls-cert and --tls-key (wss://)")
        for path in (self.tls_cert, self.tls_key, self.tls_client_ca):
            if path and not os.path.isfile(path):
                raise SettingsError(f"TLS file {path!r} does not exist")
        if bool(self.csms_ca_cert) != bool(self.csms_ca_key):
            raise SettingsError(
                "signing chargers' certificates needs both a CA certificate and key"
            )
        for path in (self.csms_ca_cert, self.csms_ca_key):
            if path and not os.path.isfile(path):
                raise SettingsError(f"CA file {path!r} does not exist")
        if not 1 <= self.csms_cert_days <= 3650:
            raise SettingsError("a signed charger certificate lives 1 to 3650 days")
        if self.mqtt_url and not self.mqtt_url.startswith(("mqtt://", "tcp://")):
            raise SettingsError(f"MQTT URL {self.mqtt_url!r} must look like mqtt://HOST:1883")
        if self.max_connections < 0:
            raise SettingsError("max connections must be 0 (automatic) or more")
        if self.api_max_body < 1024:
            raise SettingsError("the API's body limit must be at least 1024 bytes")
        if self.api_url and not self.api_url.startswith(("http://", "https://")):
            raise SettingsError(f"API URL {self.api_url!r} must look like http://HOST:8080")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"public URL {self.public_url!r} must look like https://evgate.example.com"
            )
        if self.diagnostics_max_bytes < 1024:
            raise SettingsError("the diagnostics upload limit must be at least 1024 bytes")
        if self.smtp_tls not in ("starttls", "tls", "none"):
            raise SettingsError(f"SMTP TLS must be starttls, tls or none, not {self.smtp_tls!r}")
        if not 0 <= self.smtp_port <= 65535:
            raise SettingsError(f"SMTP port {self.smtp_port} is not a TCP port (0-65535)")
        if self.mail_from and "@" not in self.mail_from:
            raise SettingsError(
                f"mail from {self.mail_from!r} must be an address: evgate@example.com"
            )
        if self.heartbeat_interval < 1:
            raise SettingsError("heartbeat interval must be at least 1 second")
