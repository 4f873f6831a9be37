"""Local authorization lists per charger (the ``charger_local_lists`` table), and the site
facts a list is derived from.

A row is made the first time something concerns the charger's list: a change of its site's
tokens or subscribers (``mark_site``), a command's answer, a push. ``dirty`` counts changes
not pushed yet; a push that read ``dirty = n`` counts n off once the charger accepted, so a
change made while the push was on its way stays due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.errors import NotFound
from store.schema import charger_local_lists as lists
from store.schema import chargers, sites, subscribers, tokens

_INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}

# a charger that failed an update is tried again after this, doubling up to MAX_RETRY
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def _insert(conn: AsyncConnection) -> Any:
    return _INSERTS[conn.dialect.name](lists)


async def mark_site(conn: AsyncConnection, site_id: str) -> None:
    """The site's tokens or subscribers changed (in the caller's transaction): every charger
    of the site is due an update of its list."""
    await _mark(conn, chargers.c.site_id == site_id)


async def mark_charger(conn: AsyncConnection, charger_id: str) -> None:
    """Something the charger's list depends on changed (its site, its monthly payment)."""
    await _mark(conn, chargers.c.id == charger_id)


async def _mark(conn: AsyncConnection, where: Any) -> None:
    stmt = _insert(conn).from_select(
        ["charger_id", "dirty"], select(chargers.c.id, literal(1)).where(where)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[lists.c.charger_id], set_={"dirty": lists.c.dirty + 1, "retry_at": None}
    )
    await conn.execute(stmt)


async def ensure(conn: AsyncConnection, charger_id: str) -> None:
    """The charger's row exists (a command's answer may be the first thing known of it)."""
    stmt = _insert(conn).values(charger_id=charger_id).on_conflict_do_nothing()
    await conn.execute(stmt)


async def get(conn: AsyncConnection, charger_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(lists).where(lists.c.charger_id == charger_id))).first()
    return dict(row._mapping) if row is not None else None


async def charger_facts(conn: AsyncConnection, charger_id: str) -> dict[str, Any]:
    """What the charger's list is derived from besides the tokens: its site, its mode and the
    site's policy. NotFound for an unknown charger."""
    query = (
        select(chargers.c.site_id, chargers.c.monthly_payment, sites.c.auth_policy)
        .select_from(chargers.outerjoin(sites, sites.c.id == chargers.c.site_id))
        .where(chargers.c.id == charger_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"charger {charger_id!r} not found")
    return {
        "site_id": row[0],
        "monthly_payment": bool(row[1]),
        "auth_policy": row[2] or "open",
    }


_SITE_TOKENS = (
    select(tokens.c.id_tag, tokens.c.state, subscribers.c.state, tokens.c.expires_at)
    .select_from(tokens.outerjoin(subscribers, subscribers.c.id == tokens.c.subscriber_id))
    .where(tokens.c.site_id == bindparam("site"))
    .order_by(tokens.c.id_tag)
)


async def site_tokens(
    conn: AsyncConnection, site_id: str | None
) -> list[tuple[str, str, str | None, datetime | None]]:
    """Every token of the site: (idTag, state, its subscriber's state, expiry), the facts
    store.charging.authorize_facts_of reads for an Authorize (the same join)."""
    if site_id is None:
        return []
    rows = await conn.execute(_SITE_TOKENS, {"site": site_id})
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def due(conn: AsyncConnection, now: datetime, limit: int = 500) -> list[str]:
    """Chargers whose list may need an update: changes not pushed, or an Accepted entry that
    has expired since; not those known to have no list, nor those waiting out a failure."""
    query = (
        select(lists.c.charger_id)
        .where(
            or_(lists.c.supported.is_(None), lists.c.supported.is_(True)),
            or_(lists.c.dirty > 0, lists.c.expires_next <= now),
            or_(lists.c.retry_at.is_(None), lists.c.retry_at <= now),
        )
        .order_by(lists.c.charger_id)
        .limit(limit)
    )
    return [r[0] for r in await conn.execute(query)]


async def set_supported(conn: AsyncConnection, charger_id: str, supported: bool) -> None:
    await ensure(conn, charger_id)
    values: dict[str, Any] = {"supported": supported}
    if not supported:
        values["full_next"] = True  # if it ever gets a list, we know nothing of it
    await conn.execute(update(lists).where(lists.c.charger_id == charger_id).values(**values))


async def record_version(conn: AsyncConnection, charger_id: str, version: int) -> None:
    """A GetLocalListVersion answer: -1 (no list) marks the charger unsupported; a version
    other than the one it last accepted from us means we no longer know what it holds, so
    the next update is full."""
    await ensure(conn, charger_id)
    if version < 0:
        await set_supported(conn, charger_id, False)
        return
    await conn.execute(
        update(lists)
        .where(lists.c.charger_id == charger_id)
        .values(
            supported=True,
            full_next=case((lists.c.version == version, lists.c.full_next), else_=True),
        )
    )


async def record_answer(
    conn: AsyncConnection,
    charger_id: str,
    version: int,
    status: str,
    at: datetime,
    held: dict[str, Any] | None = None,
    full: bool = False,
    expires_next: datetime | None = None,
) -> None:
    """A SendLocalList's answer. Accepted: the charger holds ``held`` at ``version`` (after a
    full update we know all of it). VersionMismatch: the next update is full. NotSupported:
    no list on this charger. Failed (or anything else): tried again after a growing delay."""
    await ensure(conn, charger_id)
    values: dict[str, Any] = {"last_status": status, "last_version": version, "last_at": at}
    where = lists.c.charger_id == charger_id
    if status == "Accepted":
        assert held is not None
        values.update(
            version=version,
            entries=held,
            supported=True,
            failures=0,
            retry_at=None,
            accepted_at=at,
            expires_next=expires_next,
        )
        if full:
            values["full_next"] = False
    elif status == "VersionMismatch":
        values.update(full_next=True, supported=True)
    elif status == "NotSupported":
        values.update(supported=False, full_next=True)
    else:
        failures = (await conn.execute(select(lists.c.failures).where(where))).scalar_one()
        delay = min(FIRST_RETRY * 2 ** min(failures, 10), MAX_RETRY)
        values.update(failures=failures + 1, retry_at=at + delay)
    await conn.execute(update(lists).where(where).values(**values))


async def counted_off(conn: AsyncConnection, charger_id: str, seen: int) -> None:
    """The ``seen`` changes are on the charger now (or nothing needed sending)."""
    await conn.execute(
        update(lists)
        .where(lists.c.charger_id == charger_id)
        .values(dirty=case((lists.c.dirty > seen, lists.c.dirty - seen), else_=0))
    )


async def postpone(conn: AsyncConnection, charger_id: str, version: int, at: datetime) -> None:
    """No answer (timeout, socket lost, a CallError): tried again after the growing delay."""
    await record_answer(conn, charger_id, version, "NoAnswer", at)
