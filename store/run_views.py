"""The portal's read of billing runs: a site's recent runs, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.billing_schema import billing_runs


async def recent_runs(
    conn: AsyncConnection, site_id: str, *, every_site: bool = False, limit: int = 20
) -> list[dict[str, Any]]:
    """The site's runs (and, ``every_site``, the runs of all sites, for a super-admin)."""
    where = billing_runs.c.site_id == site_id
    if every_site:
        where = or_(where, billing_runs.c.site_id.is_(None))
    query = select(billing_runs).where(where).order_by(billing_runs.c.id.desc()).limit(limit)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
