"""What every command that touches the store shares: the URL flag, migrations, errors."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from config.cli import CliError
from config.settings import Settings, SettingsError
from gateway.auth import PasswordError
from store import migrate
from store.admin import Conflict, NotFound, ValidationError
from store.db import StoreError, create_engine

T = TypeVar("T")

USER_ERRORS = (ValidationError, Conflict, NotFound, StoreError, PasswordError, SettingsError)


def add_database_flag(parser: argparse.ArgumentParser) -> None:
    """The store's URL flag; and the store's errors become one-line user errors (config/cli.py)."""
    parser.add_argument(
        "--database-url",
        help="default: $EVGATE_DATABASE_URL or sqlite+aiosqlite:///./var/evgate.db",
    )
    parser.set_defaults(user_errors=USER_ERRORS)


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {"database_url": getattr(args, "database_url", None), **extra}
    try:
        return Settings.load(overrides)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def in_transaction(args: argparse.Namespace, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Migrate the database, run `work` in one transaction (all or nothing), map errors."""
    settings = settings_from(args)

    async def main() -> T:
        try:
            engine = create_engine(settings.database_url)
        except StoreError as exc:
            raise CliError(str(exc)) from None
        try:
            await migrate.upgrade(engine)
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except USER_ERRORS as exc:
        raise CliError(str(exc)) from None
    except (OperationalError, DBAPIError, OSError) as exc:
        first = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise CliError(f"database {settings.database_url} failed: {first}") from None
