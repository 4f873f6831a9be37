"""The SQL of AvtaleGiro: a site's agreement, subscribers' mandates, claims and mandate files.

Writes happen in the caller's transaction. ``UNIQUE(invoice_id)`` on claims is what makes a
claim file re-run write nothing twice; ``UNIQUE(sha256)`` on mandate files makes the same
file read once. Invoice states are never written here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.avtalegiro_schema import (
    avtalegiro_agreements,
    avtalegiro_claim_files,
    avtalegiro_claims,
    avtalegiro_mandate_files,
    avtalegiro_mandates,
)
from store.billing_schema import invoices
from store.ids import new_id
from store.schema import sites, subscribers

Conn = AsyncConnection


def _one(row: Any) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


async def agreement_of(conn: Conn, site_id: str) -> dict[str, Any] | None:
    query = select(avtalegiro_agreements).where(avtalegiro_agreements.c.site_id == site_id)
    return _one((await conn.execute(query)).mappings().first())


async def save_agreement(conn: Conn, site_id: str, values: dict[str, Any]) -> None:
    if await agreement_of(conn, site_id) is None:
        await conn.execute(insert(avtalegiro_agreements).values(site_id=site_id, **values))
    else:
        await conn.execute(
            update(avtalegiro_agreements)
            .where(avtalegiro_agreements.c.site_id == site_id)
            .values(**values)
        )


async def mandate_of(conn: Conn, subscriber_id: int) -> dict[str, Any] | None:
    m = avtalegiro_mandates
    query = select(m).where(m.c.subscriber_id == subscriber_id)
    return _one((await conn.execute(query)).mappings().first())


async def mandates_by_kid(conn: Conn, kid: str, site_id: str | None) -> list[dict[str, Any]]:
    m = avtalegiro_mandates
    query = select(m).where(m.c.kid == kid)
    if site_id is not None:
        query = query.where(m.c.site_id == site_id)
    return [dict(r) for r in (await conn.execute(query.order_by(m.c.id))).mappings()]


async def save_mandate(conn: Conn, subscriber_id: int, values: dict[str, Any]) -> None:
    m = avtalegiro_mandates
    if await mandate_of(conn, subscriber_id) is None:
        await conn.execute(insert(m).values(subscriber_id=subscriber_id, **values))
    else:
        await conn.execute(update(m).where(m.c.subscriber_id == subscriber_id).values(**values))


async def subscribers_by_kid(conn: Conn, kid: str, site_id: str | None) -> list[dict[str, Any]]:
    """The subscribers an issued invoice with this KID belongs to."""
    query = (
        select(subscribers.c.id, subscribers.c.site_id)
        .select_from(invoices.join(subscribers, subscribers.c.id == invoices.c.subscriber_id))
        .where(invoices.c.kid == kid)
    )
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    return [dict(r) for r in (await conn.execute(query.distinct())).mappings()]


async def claimable(
    conn: Conn, site_id: str, states: Collection[str], *, again: bool = False
) -> list[dict[str, Any]]:
    """Open invoices of the site's subscribers who pay by an active AvtaleGiro mandate, with
    the mandate's notification choice, not claimed yet (``again``: claimed ones too)."""
    m = avtalegiro_mandates
    query = (
        select(
            invoices,
            subscribers.c.name.label("subscriber_name"),
            m.c.notify.label("notify"),
            sites.c.tz.label("tz"),
            avtalegiro_claims.c.id.label("claim_id"),
        )
        .select_from(
            invoices.join(subscribers, subscribers.c.id == invoices.c.subscriber_id)
            .join(m, m.c.subscriber_id == subscribers.c.id)
            .join(sites, sites.c.id == invoices.c.site_id)
            .outerjoin(avtalegiro_claims, avtalegiro_claims.c.invoice_id == invoices.c.id)
        )
        .where(
            invoices.c.site_id == site_id,
            invoices.c.state.in_(list(states)),
            invoices.c.kid.is_not(None),
            m.c.active.is_(True),
            subscribers.c.payment_method == "avtalegiro",
        )
        .order_by(invoices.c.due_at, invoices.c.id)
    )
    if not again:
        query = query.where(avtalegiro_claims.c.id.is_(None))
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def insert_claim_file(conn: Conn, row: dict[str, Any]) -> int:
    return new_id(await conn.execute(insert(avtalegiro_claim_files).values(row)))


async def set_claim_file(conn: Conn, file_id: int, **values: Any) -> None:
    await conn.execute(
        update(avtalegiro_claim_files)
        .where(avtalegiro_claim_files.c.id == file_id)
        .values(**values)
    )


async def save_claim(conn: Conn, row: dict[str, Any]) -> None:
    """A new claim of an invoice, or (a claim made again) the file that now carries it."""
    c = avtalegiro_claims
    found = (await conn.execute(select(c.c.id).where(c.c.invoice_id == row["invoice_id"]))).first()
    if found is None:
        await conn.execute(insert(c).values(row))
    else:
        await conn.execute(update(c).where(c.c.id == found[0]).values(row))


async def claims_of(conn: Conn, site_id: str) -> list[dict[str, Any]]:
    c = avtalegiro_claims
    query = (
        select(c, invoices.c.number_text, invoices.c.state)
        .select_from(c.join(invoices, invoices.c.id == c.c.invoice_id))
        .where(invoices.c.site_id == site_id)
        .order_by(c.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def mandate_file_by_sha256(conn: Conn, sha256: str) -> dict[str, Any] | None:
    f = avtalegiro_mandate_files
    return _one((await conn.execute(select(f).where(f.c.sha256 == sha256))).mappings().first())


async def insert_mandate_file(
    conn: Conn,
    sha256: str,
    number: str,
    site_id: str | None,
    summary: Any,
    actor: str,
    at: datetime,
) -> int:
    row = {
        "sha256": sha256,
        "transmission_number": number,
        "site_id": site_id,
        "summary": summary,
        "actor": actor[:120],
        "imported_at": at,
    }
    return new_id(await conn.execute(insert(avtalegiro_mandate_files).values(row)))
