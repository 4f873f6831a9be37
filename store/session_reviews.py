"""The SQL of session reviews: a session's facts for a review, the decision, a site's decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.billing_schema import invoice_sessions, invoices
from store.errors import NotFound
from store.review_schema import session_reviews
from store.schema import chargers, sessions


async def facts(conn: AsyncConnection, session_id: int) -> dict[str, Any]:
    """What a review looks at: the session's site, flags, stop, mode, the invoice that billed
    it (``invoice``: its number, or None) and the review it has (``review``, or None)."""
    query = (
        select(
            sessions.c.id,
            sessions.c.charger_id,
            sessions.c.flags,
            sessions.c.stopped_at,
            sessions.c.monthly_payment,
            chargers.c.site_id,
            invoices.c.number_text.label("invoice"),
            invoice_sessions.c.session_id.label("billed"),
        )
        .select_from(
            sessions.join(chargers, chargers.c.id == sessions.c.charger_id)
            .outerjoin(invoice_sessions, invoice_sessions.c.session_id == sessions.c.id)
            .outerjoin(invoices, invoices.c.id == invoice_sessions.c.invoice_id)
        )
        .where(sessions.c.id == session_id)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"no session {session_id}")
    out = dict(row)
    out["review"] = await review_of(conn, session_id)
    return out


async def review_of(conn: AsyncConnection, session_id: int) -> dict[str, Any] | None:
    query = select(session_reviews).where(session_reviews.c.session_id == session_id)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else dict(row)


async def put(
    conn: AsyncConnection, session_id: int, decision: str, reason: str, by: str, at: datetime
) -> dict[str, Any]:
    """The session's decision (a later one replaces an earlier one)."""
    row = {
        "session_id": session_id,
        "decision": decision,
        "reason": reason,
        "reviewed_by": by[:120],
        "reviewed_at": at,
    }
    await conn.execute(delete(session_reviews).where(session_reviews.c.session_id == session_id))
    await conn.execute(insert(session_reviews).values(row))
    return row


async def decisions_of_site(conn: AsyncConnection, site_id: str) -> dict[int, str]:
    """{session id: decision} of the site's reviewed sessions not billed yet (a billing run
    reads them once per site; only flagged sessions have one)."""
    query = (
        select(session_reviews.c.session_id, session_reviews.c.decision)
        .select_from(
            session_reviews.join(sessions, sessions.c.id == session_reviews.c.session_id)
            .join(chargers, chargers.c.id == sessions.c.charger_id)
            .outerjoin(invoice_sessions, invoice_sessions.c.session_id == sessions.c.id)
        )
        .where(chargers.c.site_id == site_id, invoice_sessions.c.session_id.is_(None))
    )
    return {int(r[0]): str(r[1]) for r in (await conn.execute(query)).all()}


async def reviews_of(conn: AsyncConnection, session_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not session_ids:
        return {}
    query = select(session_reviews).where(session_reviews.c.session_id.in_(session_ids))
    return {int(r["session_id"]): dict(r) for r in (await conn.execute(query)).mappings()}
