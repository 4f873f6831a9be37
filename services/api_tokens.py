"""Config API tokens: create (the first one from the CLI, the rest over the API), revoke."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.context import Actor
from store import api_tokens, audit


async def create(
    conn: AsyncConnection, actor: Actor, role: str, site_id: str | None, name: str = ""
) -> tuple[int, str]:
    """A new token: its id and the secret (shown once; only its hash is stored)."""
    actor.check_super()
    api_tokens.check_role(role, site_id)
    token_id, token = await api_tokens.create_token(conn, role, site_id, name)
    await audit.record(
        conn,
        actor.label,
        "api_token.create",
        "api_token",
        token_id,
        site_id=site_id,
        after={"role": role, "site_id": site_id, "name": name},
    )
    return token_id, token


async def revoke(conn: AsyncConnection, actor: Actor, token_id: int) -> dict[str, Any]:
    """Revoke a token (kept for the audit trail); returns it as it was."""
    actor.check_super()
    before = await api_tokens.revoke_token(conn, token_id)
    await audit.record(
        conn,
        actor.label,
        "api_token.revoke",
        "api_token",
        token_id,
        site_id=before["site_id"],
        before=before,
    )
    return before
