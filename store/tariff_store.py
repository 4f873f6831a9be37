"""Versioned tariffs: a tariff is a name, a currency and a list of immutable versions.

An edit adds a version and moves ``tariffs.current_version_id``; old versions stay for the
sessions that snapshotted them (``sessions.tariff_id`` is a ``tariff_versions.id``). The OCPI
JSON is stored as text written by the tariff engine, so numbers stay exact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import NotFound
from store.ids import new_id
from store.schema import tariff_versions, tariffs


def now() -> datetime:
    return datetime.now(UTC)


async def create_tariff(
    conn: AsyncConnection,
    *,
    site_id: str | None,
    name: str,
    currency: str,
    ocpi_text: str,
    created_by: str,
) -> dict[str, Any]:
    """A new tariff with its first version; returns ids and the version number (1)."""
    at = now()
    result = await conn.execute(
        insert(tariffs).values(
            site_id=site_id, name=name, currency=currency, created_at=at, updated_at=at
        )
    )
    tariff_id = new_id(result)
    return await _add_version(conn, tariff_id, 1, ocpi_text, created_by, at)


async def add_version(
    conn: AsyncConnection, tariff_id: int, ocpi_text: str, created_by: str
) -> dict[str, Any]:
    """Append a version and make it current (chargers start new sessions on it)."""
    await get_tariff_row(conn, tariff_id, for_update=True)
    last = (
        await conn.execute(
            select(func.max(tariff_versions.c.version)).where(
                tariff_versions.c.tariff_id == tariff_id
            )
        )
    ).scalar_one()
    return await _add_version(conn, tariff_id, int(last or 0) + 1, ocpi_text, created_by, now())


async def _add_version(
    conn: AsyncConnection,
    tariff_id: int,
    version: int,
    ocpi_text: str,
    created_by: str,
    at: datetime,
) -> dict[str, Any]:
    result = await conn.execute(
        insert(tariff_versions).values(
            tariff_id=tariff_id,
            version=version,
            ocpi=ocpi_text,
            created_at=at,
            created_by=created_by[:120],
        )
    )
    version_id = new_id(result)
    await conn.execute(
        update(tariffs)
        .where(tariffs.c.id == tariff_id)
        .values(current_version_id=version_id, updated_at=at)
    )
    return {"id": tariff_id, "version_id": version_id, "version": version}


async def get_tariff_row(
    conn: AsyncConnection, tariff_id: int, for_update: bool = False
) -> dict[str, Any]:
    query = select(tariffs).where(tariffs.c.id == tariff_id)
    if for_update:
        query = query.with_for_update()  # one new version at a time (PostgreSQL)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"no tariff {tariff_id}")
    return dict(row)


async def get_tariff(conn: AsyncConnection, tariff_id: int) -> dict[str, Any]:
    """The tariff with every version, oldest first (each with its OCPI JSON text)."""
    row = await get_tariff_row(conn, tariff_id)
    versions = await conn.execute(
        select(tariff_versions)
        .where(tariff_versions.c.tariff_id == tariff_id)
        .order_by(tariff_versions.c.version)
    )
    return {**row, "versions": [dict(v) for v in versions.mappings()]}


async def list_tariffs(
    conn: AsyncConnection, site_id: str | None = None, *, with_global: bool = True
) -> list[dict[str, Any]]:
    """Tariffs with their current version number; a site sees its own and the global ones."""
    current = tariff_versions.alias("current")
    query = (
        select(tariffs, current.c.version.label("current_version"))
        .select_from(tariffs.outerjoin(current, current.c.id == tariffs.c.current_version_id))
        .order_by(tariffs.c.id)
    )
    if site_id is not None:
        own = tariffs.c.site_id == site_id
        query = query.where(or_(own, tariffs.c.site_id.is_(None)) if with_global else own)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def get_version(conn: AsyncConnection, version_id: int) -> dict[str, Any] | None:
    query = select(tariff_versions).where(tariff_versions.c.id == version_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None
