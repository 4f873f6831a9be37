"""The portal's SQL: users (e-mail, scrypt hash, role, site), sessions and sign-in links.

Session cookies and sign-in link tokens are random secrets kept as their SHA-256; a link is
used once (``used_at`` set in the same statement that checks it is not).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.errors import Conflict, NotFound
from store.ids import new_id
from store.portal_schema import portal_sessions, portal_sign_in_links, portal_users
from store.schema import sites, subscribers
from store.secrets import new_secret, secret_hash

USER_COLUMNS = [c for c in portal_users.c if c.name != "password_hash"]


async def add_user(
    conn: AsyncConnection,
    email: str,
    password_hash: str,
    role: str,
    site_id: str | None,
    language: str,
    now: datetime,
) -> dict[str, Any]:
    if site_id is not None:
        found = await conn.execute(select(sites.c.id).where(sites.c.id == site_id))
        if found.first() is None:
            raise NotFound(f"no site {site_id!r}: see `evgate sites list`")
    taken = await conn.execute(select(portal_users.c.id).where(portal_users.c.email == email))
    if taken.first() is not None:
        raise Conflict(f"a portal user {email!r} exists already")
    row = {
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "site_id": site_id,
        "language": language,
        "created_at": now,
    }
    result = await conn.execute(insert(portal_users).values(**row))
    out = {k: v for k, v in row.items() if k != "password_hash"}
    return {"id": new_id(result), **out}


async def user_by_email(conn: AsyncConnection, email: str) -> dict[str, Any] | None:
    """The user with its password hash (for sign-in), or None."""
    row = (await conn.execute(select(portal_users).where(portal_users.c.email == email))).first()
    return dict(row._mapping) if row is not None else None


async def set_user_language(conn: AsyncConnection, user_id: int, language: str) -> None:
    await conn.execute(
        update(portal_users).where(portal_users.c.id == user_id).values(language=language)
    )


async def set_subscriber_language(conn: AsyncConnection, subscriber_id: int, lang: str) -> None:
    await conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(language=lang)
    )


async def open_session(
    conn: AsyncConnection,
    now: datetime,
    expires_at: datetime,
    *,
    user_id: int | None = None,
    subscriber_id: int | None = None,
) -> str:
    """A new session row; returns the cookie value (never stored)."""
    assert (user_id is None) != (subscriber_id is None)
    token = new_secret("ps_")
    await conn.execute(
        insert(portal_sessions).values(
            token_hash=secret_hash(token),
            user_id=user_id,
            subscriber_id=subscriber_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token


async def find_session(conn: AsyncConnection, token: str, now: datetime) -> dict[str, Any] | None:
    """The live session of a cookie value with its user (or subscriber), else None."""
    row = (
        await conn.execute(
            select(portal_sessions).where(
                portal_sessions.c.token_hash == secret_hash(token),
                portal_sessions.c.expires_at > now,
            )
        )
    ).first()
    if row is None:
        return None
    found = dict(row._mapping)
    if found["user_id"] is not None:
        user = (
            await conn.execute(
                select(*USER_COLUMNS).where(
                    portal_users.c.id == found["user_id"], portal_users.c.disabled_at.is_(None)
                )
            )
        ).first()
        if user is None:
            return None
        found["user"] = dict(user._mapping)
    else:
        sub = (
            await conn.execute(
                select(
                    subscribers.c.id,
                    subscribers.c.site_id,
                    subscribers.c.name,
                    subscribers.c.email,
                    subscribers.c.language,
                    subscribers.c.state,
                ).where(subscribers.c.id == found["subscriber_id"])
            )
        ).first()
        if sub is None:
            return None
        found["subscriber"] = dict(sub._mapping)
    return found


async def close_session(conn: AsyncConnection, token: str, now: datetime) -> None:
    """Sign out: the session row goes (and any expired ones with it)."""
    await conn.execute(
        delete(portal_sessions).where(
            (portal_sessions.c.token_hash == secret_hash(token))
            | (portal_sessions.c.expires_at <= now)
        )
    )


async def add_sign_in_link(
    conn: AsyncConnection, subscriber_id: int, now: datetime, expires_at: datetime
) -> str:
    """A one-time sign-in link's token (only its hash is stored)."""
    found = await conn.execute(select(subscribers.c.id).where(subscribers.c.id == subscriber_id))
    if found.first() is None:
        raise NotFound(f"no subscriber {subscriber_id}")
    token = new_secret("sl_")
    await conn.execute(
        insert(portal_sign_in_links).values(
            token_hash=secret_hash(token),
            subscriber_id=subscriber_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token


async def link_of(conn: AsyncConnection, token: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(portal_sign_in_links).where(
                portal_sign_in_links.c.token_hash == secret_hash(token)
            )
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def use_link(conn: AsyncConnection, link_id: int, now: datetime) -> bool:
    """Mark a link used; False when it was used (or expired) meanwhile: one winner only."""
    result = await conn.execute(
        update(portal_sign_in_links)
        .where(
            portal_sign_in_links.c.id == link_id,
            portal_sign_in_links.c.used_at.is_(None),
            portal_sign_in_links.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


async def subscribers_by_email(conn: AsyncConnection, email: str) -> list[dict[str, Any]]:
    """Active subscribers (any site) with this e-mail, compared without case."""
    from sqlalchemy import func

    rows = await conn.execute(
        select(
            subscribers.c.id,
            subscribers.c.site_id,
            subscribers.c.email,
            subscribers.c.name,
            subscribers.c.language,
        )
        .where(func.lower(subscribers.c.email) == email, subscribers.c.state == "active")
        .order_by(subscribers.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def subscriber_language(conn: AsyncConnection, subscriber_id: int) -> str | None:
    query = select(subscribers.c.language).where(subscribers.c.id == subscriber_id)
    found: str | None = (await conn.execute(query)).scalar_one_or_none()
    return found
