"""External services for tests: skip with a reason when absent, fail when required."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest

PG_URL = os.environ.get("EVGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
MQTT_URL = os.environ.get("EVGATE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def required() -> bool:
    return os.environ.get("EVGATE_REQUIRE_SERVICES") == "1"


def unavailable(what: str, why: str) -> None:
    message = f"{what} not reachable ({why}); start it (README.md, Tests)"
    if required():
        pytest.fail(f"EVGATE_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


def reachable(url: str, default_port: int) -> str | None:
    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return None
    except OSError as exc:
        return str(exc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    import asyncpg

    why = reachable(PG_URL, 5432)
    if why:
        unavailable("PostgreSQL", why)
    parts = urlsplit(PG_URL.replace("+asyncpg", ""))
    admin_dsn = f"postgresql://{parts.netloc}{parts.path}"
    name = f"evgate_t_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(admin_dsn)
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        unavailable("PostgreSQL", str(exc))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"postgresql+asyncpg://{parts.netloc}/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
