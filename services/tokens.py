"""RFID tokens (OCPP idTags) of a site: add one or a CSV's worth, block and unblock, expire."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.context import Actor
from store import admin, audit, local_lists

check = admin.check_id_tag  # validate a tag before anything is stored (CSV rows: per line)


async def add(conn: AsyncConnection, actor: Actor, site_id: str, id_tag: str) -> None:
    """Add one active token to a site."""
    actor.check_write(site_id)
    check(id_tag)
    await admin.get_site(conn, site_id)
    await admin.add_tokens(conn, site_id, [id_tag])
    await local_lists.mark_site(conn, site_id)  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        "token.create",
        "token",
        id_tag,
        site_id=site_id,
        after={"id_tag": id_tag, "state": "active"},
    )


async def import_tokens(
    conn: AsyncConnection, actor: Actor, site_id: str, id_tags: Sequence[str]
) -> int:
    """Add tokens to a site all or nothing; one audit entry for the lot."""
    actor.check_write(site_id)
    for id_tag in id_tags:
        check(id_tag)
    await admin.get_site(conn, site_id)
    count = await admin.add_tokens(conn, site_id, id_tags)
    await local_lists.mark_site(conn, site_id)  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        "token.import",
        "site",
        site_id,
        site_id=site_id,
        after={"count": count, "id_tags": list(id_tags)},
    )
    return count


async def set_state(
    conn: AsyncConnection, actor: Actor, site_id: str, id_tag: str, state: str
) -> None:
    """Mark a token active or blocked (a blocked card is refused at the next Authorize)."""
    actor.check_write(site_id)
    await admin.set_token_state(conn, site_id, id_tag, state)
    await local_lists.mark_site(conn, site_id)  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        "token.block" if state == "blocked" else "token.unblock",
        "token",
        id_tag,
        site_id=site_id,
        after={"id_tag": id_tag, "state": state},
    )


async def set_expiry(
    conn: AsyncConnection, actor: Actor, site_id: str, id_tag: str, expires_at: datetime | None
) -> dict[str, Any]:
    """Set when a token expires (from then on it is Expired everywhere), or clear it (None)."""
    actor.check_write(site_id)
    before = await admin.set_token_expiry(conn, site_id, id_tag, expires_at)
    await local_lists.mark_site(conn, site_id)  # its chargers' local lists are due
    after = {"id_tag": id_tag, "expires_at": expires_at.isoformat() if expires_at else None}
    await audit.record(
        conn,
        actor.label,
        "token.expiry",
        "token",
        id_tag,
        site_id=site_id,
        before={"id_tag": id_tag, "expires_at": before.isoformat() if before else None},
        after=after,
    )
    return {"site_id": site_id, **after}
