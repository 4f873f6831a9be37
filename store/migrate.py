"""Apply Alembic migrations from code (serve, the CLI and the tests all call this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision`; a no-op when it is there already."""

    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        return
    # SQLite rebuilds a table to change its constraints (alembic's batch mode); with foreign
    # keys on, dropping the old table of a populated database fails. So the upgrade runs with
    # them off (the pragma only takes outside a transaction), every reference is checked
    # before the commit, and they are on again for whoever uses the connection next.
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()
        try:
            await conn.run_sync(_run)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"migration left broken references: {broken[:5]}")
            await conn.commit()
        finally:
            await conn.rollback()
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()
