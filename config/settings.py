"""Settings: command-line flags over EVGATE_* environment variables over defaults.

The one place the process environment is read: every EVGATE_<FIELD> variable is a field
here, and everything else (store, billing, the API) is handed what it needs by
config.compose. tests/unit/config/test_env_only_in_settings.py keeps it that way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

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
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    # MQTT broker for events and cross-instance commands; empty: events wait in the outbox
    mqtt_url: str | None = None
    mqtt_prefix: str = "evgate"
    # Stripe autopay (billing runs, the scheduler) and webhooks; no key: no card payments
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str | None = None  # e.g. localstripe's http://127.0.0.1:PORT
    # the most a config API request body may hold (larger: 413 before it is read)
    api_max_body: int = 1024 * 1024
    # where CLI commands that need a charger's live socket reach a running `evgate serve`
    # (default http://HOST:API_PORT), and the config API token they send
    api_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    # the address people reach the portal at (links in mails: https://portal.example.com);
    # None: the address of the request that made the link
    public_url: str | None = None

    @property
    def api_base(self) -> str:
        return (self.api_url or f"http://{self.host}:{self.api_port}").rstrip("/")

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
        for path in (self.tls_cert, self.tls_key):
            if path and not os.path.isfile(path):
                raise SettingsError(f"TLS file {path!r} does not exist")
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
                f"public URL {self.public_url!r} must look like https://portal.example.com"
            )
        if self.heartbeat_interval < 1:
            raise SettingsError("heartbeat interval must be at least 1 second")
