"""Bearer tokens of the config API: roles super-admin, admin (one site) and viewer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import NotFound, ValidationError
from store.ids import new_id
from store.schema import api_tokens, sites
from store.secrets import new_secret, secret_hash

ROLES = ("super-admin", "admin", "viewer")
PREFIX = "evg_"
PUBLIC_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.role,
    api_tokens.c.site_id,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
)


def check_role(role: str, site_id: str | None) -> None:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "admin" and site_id is None:
        raise ValidationError("an admin token needs a site: give --site / site_id")
    if role == "super-admin" and site_id is not None:
        raise ValidationError("a super-admin token covers every site: give no site")


async def create_token(
    conn: AsyncConnection, role: str, site_id: str | None = None, name: str = ""
) -> tuple[int, str]:
    """Store a new token's hash; return its id and the token (shown once, never stored)."""
    check_role(role, site_id)
    if site_id is not None:
        found = await conn.execute(select(sites.c.id).where(sites.c.id == site_id))
        if found.first() is None:
            raise NotFound(f"no site {site_id!r}")
    token = new_secret(PREFIX)
    result = await conn.execute(
        insert(api_tokens).values(
            name=name[:100],
            token_hash=secret_hash(token),
            role=role,
            site_id=site_id,
            created_at=datetime.now(UTC),
        )
    )
    return new_id(result), token


async def find_token(conn: AsyncConnection, token: str) -> dict[str, Any] | None:
    """The live (not revoked) token with this secret, or None."""
    query = select(*PUBLIC_COLUMNS).where(
        api_tokens.c.token_hash == secret_hash(token), api_tokens.c.revoked_at.is_(None)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def list_tokens(conn: AsyncConnection) -> list[dict[str, Any]]:
    query = select(*PUBLIC_COLUMNS).order_by(api_tokens.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def revoke_token(conn: AsyncConnection, token_id: int) -> dict[str, Any]:
    """Mark a token revoked (kept for the audit trail); return it as it was."""
    row = (
        (await conn.execute(select(*PUBLIC_COLUMNS).where(api_tokens.c.id == token_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no API token {token_id}")
    if row["revoked_at"] is None:
        await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id)
            .values(revoked_at=datetime.now(UTC))
        )
    return dict(row)
