"""The migrations create exactly the schema the code declares, on both engines."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
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
        # the newest migration (0022_remote_start_id, after 0018_security_profiles)
        assert [r[0] for r in version] == ["0022_remote_start_id"]


async def test_a_populated_sqlite_database_upgrades_to_invoice_kinds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0021 rebuilds the invoices table on SQLite: the rows and the lines that reference
    them survive, the old invoices are automatic, and a manual one may share their period."""
    from store.db import create_engine

    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await migrate.upgrade(eng, "0020")
        async with eng.begin() as conn:
            run = conn.exec_driver_sql
            await run(
                "INSERT INTO sites (id, name, tz, currency, vat_bp, plan, created_at) "
                "VALUES ('S', 'S', 'Europe/Oslo', 'NOK', 2500, 'business', '2026-01-01')"
            )
            await run(
                "INSERT INTO subscribers (id, site_id, state, email, created_at, updated_at) "
                "VALUES (7, 'S', 'active', 'a@b.no', '2026-01-01', '2026-01-01')"
            )
            await run(
                "INSERT INTO invoices (id, site_id, subscriber_id, period, state, series, "
                "currency, net, vat, total, created_at) "
                "VALUES (1, 'S', 7, '2026-10', 'issued', 'S', 'NOK', 100, 25, 125, '2026-11-01')"
            )
            await run(
                "INSERT INTO invoice_lines (invoice_id, position, kind, net, vat_bp) "
                "VALUES (1, 1, 'fee', 100, 2500)"
            )
        await migrate.upgrade(eng)
        async with eng.begin() as conn:
            run = conn.exec_driver_sql
            assert (await run("SELECT id, kind FROM invoices")).all() == [(1, "automatic")]
            assert (await run("SELECT invoice_id FROM invoice_lines")).all() == [(1,)]
            assert (await run("PRAGMA foreign_keys")).scalar() == 1
            await run(
                "INSERT INTO invoices (site_id, subscriber_id, period, state, series, "
                "currency, net, vat, total, created_at, kind) VALUES "
                "('S', 7, '2026-10', 'issued', 'S', 'NOK', 1, 0, 1, '2026-11-02', 'manual')"
            )
        async with eng.begin() as conn:
            with pytest.raises(IntegrityError):  # still one automatic invoice a period
                await conn.exec_driver_sql(
                    "INSERT INTO invoices (site_id, subscriber_id, period, state, series, "
                    "currency, net, vat, total, created_at) VALUES "
                    "('S', 7, '2026-10', 'issued', 'S', 'NOK', 1, 0, 1, '2026-11-02')"
                )
    finally:
        await eng.dispose()
