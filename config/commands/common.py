"""What every command that touches the store shares: the URL flag, migrations, errors.

USER_ERRORS is the one mapping of errors to the command line: any kind of store.errors
(whichever room raised it) and the pure tariff engine's TariffError are a one-line reason
on stderr and exit status 2 (config.cli.main prints them); anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from config import compose
from config.cli import CliError
from config.settings import Settings
from store import migrate
from store.errors import EvgateError
from tariffs import TariffError

T = TypeVar("T")

USER_ERRORS: tuple[type[Exception], ...] = (EvgateError, TariffError)


def add_database_flag(parser: argparse.ArgumentParser) -> None:
    """The store's URL flag; and the store's errors become one-line user errors (config/cli.py)."""
    parser.add_argument(
        "--database-url",
        help="default: $EVGATE_DATABASE_URL or sqlite+aiosqlite:///./var/evgate.db",
    )
    parser.set_defaults(user_errors=USER_ERRORS)


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the flags given, over EVGATE_* (a bad value: SettingsError, a user error)."""
    overrides = {"database_url": getattr(args, "database_url", None), **extra}
    return Settings.load(overrides)


def in_transaction(args: argparse.Namespace, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Migrate the database, run `work` in one transaction (all or nothing).

    User errors (USER_ERRORS) propagate to config.cli.main, which prints them as one line;
    a database that cannot be reached becomes a CliError naming it.
    """
    settings = settings_from(args)

    async def main() -> T:
        engine = compose.engine(settings)
        try:
            await migrate.upgrade(engine)
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (OperationalError, DBAPIError, OSError) as exc:
        first = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise CliError(f"database {settings.database_url} failed: {first}") from None
