"""The SQL of bank giro imports, unmatched payments, refunds and the payment reports.

Writes happen in the caller's transaction (an OCR file is imported whole or not at all);
the unique constraints of store/payments_schema.py make a repeated import find what is
there instead of writing it twice. Invoice states are not written here: a payment goes
through billing.payments (the invoice locked, billing.lifecycle deciding).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import BigInteger, cast, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.billing_schema import invoices, payments, reminders
from store.ids import new_id
from store.payments_schema import (
    ocr_files,
    ocr_transactions,
    refunds,
    stripe_events,
    unmatched_payments,
)
from store.schema import sites, subscribers

Conn = AsyncConnection


def _one(row: Any) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


# --- files and transactions -----------------------------------------------------------------


async def file_by_sha256(conn: Conn, sha256: str) -> dict[str, Any] | None:
    query = select(ocr_files).where(ocr_files.c.sha256 == sha256)
    return _one((await conn.execute(query)).mappings().first())


async def file_by_transmission(
    conn: Conn, data_transmitter: str, number: str
) -> dict[str, Any] | None:
    query = select(ocr_files).where(
        ocr_files.c.data_transmitter == data_transmitter,
        ocr_files.c.transmission_number == number,
    )
    return _one((await conn.execute(query)).mappings().first())


async def insert_file(conn: Conn, row: dict[str, Any]) -> int:
    return new_id(await conn.execute(insert(ocr_files).values(row)))


async def set_file_summary(conn: Conn, file_id: int, summary: dict[str, Any]) -> None:
    await conn.execute(update(ocr_files).where(ocr_files.c.id == file_id).values(summary=summary))


async def known_transactions(
    conn: Conn, identities: Sequence[tuple[str, str, str, int]]
) -> set[tuple[str, str, str, int]]:
    """Which of these (transmitter, transmission, assignment, transaction) are stored."""
    t = ocr_transactions.c
    key = tuple_(
        t.data_transmitter, t.transmission_number, t.assignment_number, t.transaction_number
    )
    found: set[tuple[str, str, str, int]] = set()
    for start in range(0, len(identities), 500):
        chunk = list(identities[start : start + 500])
        query = select(
            t.data_transmitter, t.transmission_number, t.assignment_number, t.transaction_number
        ).where(key.in_(chunk))
        found |= {(r[0], r[1], r[2], int(r[3])) for r in (await conn.execute(query)).all()}
    return found


async def insert_transaction(conn: Conn, row: dict[str, Any]) -> int:
    return new_id(await conn.execute(insert(ocr_transactions).values(row)))


async def set_transaction_payment(conn: Conn, transaction_id: int, payment_id: int) -> None:
    await conn.execute(
        update(ocr_transactions)
        .where(ocr_transactions.c.id == transaction_id)
        .values(payment_id=payment_id)
    )


async def invoices_by_kid(conn: Conn, kid: str, site_id: str | None) -> list[dict[str, Any]]:
    """Issued invoices carrying ``kid`` (unique per site: one per site at most)."""
    query = select(
        invoices.c.id, invoices.c.site_id, invoices.c.number_text, invoices.c.state
    ).where(invoices.c.kid == kid)
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    return [dict(r) for r in (await conn.execute(query.order_by(invoices.c.id))).mappings()]


# --- unmatched payments and refunds ---------------------------------------------------------


async def insert_unmatched(conn: Conn, row: dict[str, Any]) -> int:
    return new_id(await conn.execute(insert(unmatched_payments).values(row)))


async def lock_unmatched(conn: Conn, unmatched_id: int) -> dict[str, Any] | None:
    """The unmatched payment, locked until the transaction ends (PostgreSQL FOR UPDATE)."""
    query = select(unmatched_payments).where(unmatched_payments.c.id == unmatched_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return _one((await conn.execute(query)).mappings().first())


async def update_unmatched(conn: Conn, unmatched_id: int, **values: Any) -> None:
    await conn.execute(
        update(unmatched_payments).where(unmatched_payments.c.id == unmatched_id).values(**values)
    )


async def insert_refund(conn: Conn, row: dict[str, Any]) -> int:
    return new_id(await conn.execute(insert(refunds).values(row)))


async def refund_of(conn: Conn, unmatched_id: int) -> dict[str, Any] | None:
    query = select(refunds).where(refunds.c.unmatched_id == unmatched_id)
    return _one((await conn.execute(query)).mappings().first())


# --- what the reports read ------------------------------------------------------------------


async def received_payments(conn: Conn, site_id: str | None) -> list[dict[str, Any]]:
    """Succeeded payments with their invoice's site, currency and the site's time zone; not
    the credit balances carried between a subscriber's invoices (method ``balance``), which
    move money already received."""
    query = (
        select(
            payments.c.id,
            payments.c.method,
            payments.c.amount,
            payments.c.currency,
            payments.c.paid_on,
            payments.c.updated_at,
            invoices.c.site_id,
            invoices.c.number_text,
            sites.c.tz.label("tz"),
        )
        .select_from(
            payments.join(invoices, invoices.c.id == payments.c.invoice_id).join(
                sites, sites.c.id == invoices.c.site_id
            )
        )
        .where(payments.c.status == "succeeded", payments.c.method != "balance")
        .order_by(payments.c.id)
    )
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def open_invoices(
    conn: Conn, site_id: str | None, states: Collection[str]
) -> list[dict[str, Any]]:
    """Invoices in ``states`` with their figures (reminder fees summed) and the site's zone."""
    fees = (
        select(reminders.c.invoice_id, func.sum(reminders.c.fee).label("fees"))
        .group_by(reminders.c.invoice_id)
        .subquery()
    )
    query = (
        select(
            invoices.c.id,
            invoices.c.number_text,
            invoices.c.site_id,
            invoices.c.subscriber_id,
            subscribers.c.name.label("subscriber_name"),
            invoices.c.state,
            invoices.c.currency,
            invoices.c.total,
            invoices.c.paid_amount,
            invoices.c.credited_amount,
            # a SUM is NUMERIC on PostgreSQL (a Decimal): back to the integer it is
            cast(func.coalesce(fees.c.fees, 0), BigInteger).label("fees"),
            invoices.c.due_at,
            invoices.c.kid,
            sites.c.tz.label("tz"),
        )
        .select_from(
            invoices.join(sites, sites.c.id == invoices.c.site_id)
            .join(subscribers, subscribers.c.id == invoices.c.subscriber_id)
            .outerjoin(fees, fees.c.invoice_id == invoices.c.id)
        )
        .where(invoices.c.state.in_(list(states)))
        .order_by(invoices.c.due_at, invoices.c.id)
    )
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def credit_balances(conn: Conn, site_id: str | None) -> list[dict[str, Any]]:
    """Invoices paid beyond what they owe (amount due below 0: money owed to the subscriber)."""
    fees = (
        select(reminders.c.invoice_id, func.sum(reminders.c.fee).label("fees"))
        .group_by(reminders.c.invoice_id)
        .subquery()
    )
    fee = cast(func.coalesce(fees.c.fees, 0), BigInteger)
    query = (
        select(
            invoices.c.id,
            invoices.c.number_text,
            invoices.c.site_id,
            invoices.c.subscriber_id,
            invoices.c.state,
            invoices.c.currency,
            invoices.c.total,
            invoices.c.paid_amount,
            invoices.c.credited_amount,
            fee.label("fees"),
        )
        .select_from(invoices.outerjoin(fees, fees.c.invoice_id == invoices.c.id))
        .where(
            invoices.c.state.in_(("paid", "credited")),
            invoices.c.paid_amount + invoices.c.credited_amount > invoices.c.total + fee,
        )
        .order_by(invoices.c.id)
    )
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def unmatched_rows(
    conn: Conn, site_id: str | None, states: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Unmatched payments (a site's, or all of them: ``site_id`` None), with the number of
    the invoice a KID pointed to and of the one it was assigned to."""
    kid_invoice = invoices.alias("kid_invoice")
    assigned = invoices.alias("assigned_invoice")
    u = unmatched_payments
    query = (
        select(
            u,
            kid_invoice.c.number_text.label("invoice_number"),
            assigned.c.number_text.label("assigned_invoice_number"),
            ocr_transactions.c.file_id,
        )
        .select_from(
            u.outerjoin(kid_invoice, kid_invoice.c.id == u.c.invoice_id)
            .outerjoin(assigned, assigned.c.id == u.c.assigned_invoice_id)
            .outerjoin(ocr_transactions, ocr_transactions.c.id == u.c.ocr_transaction_id)
        )
        .order_by(u.c.id)
    )
    if site_id is not None:
        query = query.where(u.c.site_id == site_id)
    if states is not None:
        query = query.where(u.c.state.in_(list(states)))
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def refund_rows(
    conn: Conn, site_id: str | None, states: Collection[str] | None = None
) -> list[dict[str, Any]]:
    query = select(refunds).order_by(refunds.c.id)
    if site_id is not None:
        query = query.where(refunds.c.site_id == site_id)
    if states is not None:
        query = query.where(refunds.c.state.in_(list(states)))
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def file_transactions(conn: Conn, file_id: int) -> list[dict[str, Any]]:
    query = (
        select(ocr_transactions)
        .where(ocr_transactions.c.file_id == file_id)
        .order_by(ocr_transactions.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


# --- card refunds of credit notes and Stripe's events ------------------------------------------


async def pending_card_refunds(conn: AsyncConnection) -> list[dict[str, Any]]:
    query = select(refunds).where(refunds.c.method == "stripe", refunds.c.state == "pending")
    return [dict(r) for r in (await conn.execute(query.order_by(refunds.c.id))).mappings()]


async def refund_by_id(conn: AsyncConnection, refund_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(refunds).where(refunds.c.id == refund_id))).mappings().first()
    return dict(row) if row is not None else None


async def refund_by_stripe_id(conn: AsyncConnection, stripe_id: str) -> dict[str, Any] | None:
    query = select(refunds).where(refunds.c.stripe_refund_id == stripe_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def update_refund(conn: AsyncConnection, refund_id: int, **values: Any) -> None:
    await conn.execute(update(refunds).where(refunds.c.id == refund_id).values(**values))


async def event_seen(conn: AsyncConnection, event_id: str) -> bool:
    query = select(stripe_events.c.event_id).where(stripe_events.c.event_id == event_id)
    return (await conn.execute(query)).first() is not None


async def record_event(
    conn: AsyncConnection, event_id: str, kind: str, result: str, at: Any
) -> bool:
    """Keep a webhook event's id (False when it was kept already: a redelivery)."""
    if await event_seen(conn, event_id):
        return False
    await conn.execute(
        insert(stripe_events).values(
            event_id=event_id, type=kind[:100], result=result, received_at=at
        )
    )
    return True


async def lock_refund(conn: AsyncConnection, refund_id: int) -> dict[str, Any] | None:
    """The refund, locked until the transaction ends (PostgreSQL FOR UPDATE)."""
    query = select(refunds).where(refunds.c.id == refund_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return _one((await conn.execute(query)).mappings().first())


async def payer_account_of(conn: AsyncConnection, invoice_id: int) -> str | None:
    """The payer's account of the latest giro payment of the invoice (from its OCR file)."""
    query = (
        select(ocr_transactions.c.debit_account)
        .select_from(
            ocr_transactions.join(payments, payments.c.id == ocr_transactions.c.payment_id)
        )
        .where(payments.c.invoice_id == invoice_id, ocr_transactions.c.debit_account.is_not(None))
        .order_by(ocr_transactions.c.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return str(row[0]) if row is not None else None


async def refunds_of_invoice(conn: AsyncConnection, invoice_id: int) -> list[dict[str, Any]]:
    query = select(refunds).where(refunds.c.invoice_id == invoice_id).order_by(refunds.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
