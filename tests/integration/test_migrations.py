"""The migrations create exactly the schema the code declares, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from store import migrate
from store.schema import metadata


async def test_migrated_database_matches_the_schema(engine: AsyncEngine) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upgrade_twice_is_a_no_op(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        version = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
        # the newest migration (0018_security_profiles: sites.security_profile, after 0020)
        assert [r[0] for r in version] == ["0018_security_profiles"]
