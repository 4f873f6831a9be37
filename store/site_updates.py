"""Changing a site's settings (the config API); creation lives in store.admin."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import Conflict, SiteInput, ValidationError, get_site
from store.schema import chargers, sites

EDITABLE = frozenset(f.name for f in fields(SiteInput)) - {"id"}


async def update_site(
    conn: AsyncConnection, site_id: str, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate the site as it would be after the change, then write it."""
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a site")
    before = await get_site(conn, site_id)
    merged = {name: before[name] for name in EDITABLE} | values
    SiteInput(id=site_id, **merged).check()
    if merged["plan"] != "business":
        monthly = (
            await conn.execute(
                select(func.count()).where(
                    chargers.c.site_id == site_id, chargers.c.monthly_payment.is_(True)
                )
            )
        ).scalar_one()
        if monthly:
            raise Conflict(
                f"{monthly} chargers of site {site_id!r} are in monthly payment: "
                "switch them off before leaving the business plan"
            )
    if values:
        await conn.execute(update(sites).where(sites.c.id == site_id).values(**values))
    return before, await get_site(conn, site_id)
