"""Where the broker is, parsed once for every MQTT client of ours."""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt


@dataclass(frozen=True)
class Broker:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"MQTT URL {url!r} must look like mqtt://HOST:1883")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)

    def client(self, role: str) -> aiomqtt.Client:
        """A client with a unique id (two instances must never share one)."""
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=f"evgate-{role}-{random.getrandbits(48):012x}",
            timeout=10,
        )
