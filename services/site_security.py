"""A site's OCPP security profile (super-admin only): which transport and credentials its
chargers must connect with; the gateway applies it at the next connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.security_profiles import PROFILES
from services.context import Actor
from store import admin, audit
from store.errors import Invalid

DESCRIPTIONS = {
    1: "Basic Auth (ws:// or wss://)",
    2: "TLS + Basic Auth (wss:// only)",
    3: "TLS + client certificate (wss:// with a certificate naming the charger)",
}


async def set_profile(
    conn: AsyncConnection, actor: Actor, site_id: str, profile: int
) -> dict[str, Any]:
    """Set the site's security profile (1, 2 or 3); returns the site after, audited."""
    actor.check_super("only a super-admin may change a site's security profile")
    if isinstance(profile, bool) or profile not in PROFILES:
        raise Invalid(f"security profile must be 1, 2 or 3, not {profile!r}")
    before = await admin.get_site(conn, site_id)
    await admin.set_security_profile(conn, site_id, profile)
    after = await admin.get_site(conn, site_id)
    await audit.record(
        conn,
        actor.label,
        "site.security_profile",
        "site",
        site_id,
        site_id=site_id,
        before={"security_profile": before["security_profile"]},
        after={"security_profile": profile},
    )
    return after
