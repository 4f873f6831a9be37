"""Sites: create (super-admin), change settings (an admin may change its own, not its plan).

Each write runs in the caller's transaction and leaves its audit entry in the same one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.context import Actor
from store import admin, audit, local_lists, site_updates
from store.admin import SiteInput


async def create(conn: AsyncConnection, actor: Actor, site: SiteInput) -> dict[str, Any]:
    """Validate and store a new site; returns it as stored."""
    actor.check_super()
    await admin.add_site(conn, site)
    row = await admin.get_site(conn, site.id)
    await audit.record(
        conn, actor.label, "site.create", "site", site.id, site_id=site.id, after=row
    )
    return row


async def update(
    conn: AsyncConnection, actor: Actor, site_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Change a site's settings (validated as the site would be after); returns it after."""
    actor.check_write(site_id)
    if "plan" in values:
        actor.check_super("only a super-admin may change a site's plan")
    before, after = await site_updates.update_site(conn, site_id, values)
    if before.get("auth_policy") != after.get("auth_policy"):
        await local_lists.mark_site(conn, site_id)  # who may charge changed
    await audit.record(
        conn,
        actor.label,
        "site.update",
        "site",
        site_id,
        site_id=site_id,
        before=before,
        after=after,
    )
    return after


async def visible(conn: AsyncConnection, actor: Actor) -> list[dict[str, Any]]:
    """The sites this actor may see."""
    return [r for r in await admin.list_sites(conn) if actor.can_read(r["id"])]


async def get(conn: AsyncConnection, actor: Actor, site_id: str) -> dict[str, Any]:
    actor.check_read(site_id)
    return await admin.get_site(conn, site_id)
