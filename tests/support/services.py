"""External services for tests: skip with a reason when absent, fail when required."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

T = TypeVar("T")
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


def _admin() -> tuple[str, str]:
    """(admin DSN, host part) of the test server; skips or fails when it is not there."""
    why = reachable(PG_URL, 5432)
    if why:
        unavailable("PostgreSQL", why)
    parts = urlsplit(PG_URL.replace("+asyncpg", ""))
    return f"postgresql://{parts.netloc}{parts.path}", parts.netloc


async def _admin_execute(sql: str) -> None:
    import asyncpg

    admin_dsn, _ = _admin()
    try:
        conn = await asyncpg.connect(admin_dsn)
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        unavailable("PostgreSQL", str(exc))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_pg_database(template: str | None = None) -> AsyncIterator[str]:
    """A new PostgreSQL database for one test, empty or a copy of ``template``; dropped after."""
    _, netloc = _admin()
    name = f"evgate_t_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    await _admin_execute(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield f"postgresql+asyncpg://{netloc}/{name}"
    finally:
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pg_template_database(build: Callable[[str], Awaitable[None]]) -> Iterator[str]:
    """A database built once by ``build(url)`` for tests to copy; its name. Dropped after."""
    _, netloc = _admin()
    name = f"evgate_tmpl_{uuid.uuid4().hex[:12]}"
    run_apart(_admin_execute(f'CREATE DATABASE "{name}"'))
    try:
        run_apart(build(f"postgresql+asyncpg://{netloc}/{name}"))
        yield name
    finally:
        run_apart(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_apart(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a loop of its own, in a thread: session fixtures are first
    asked for from inside a test's running loop, where ``asyncio.run`` is refused."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
