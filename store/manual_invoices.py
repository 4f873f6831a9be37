"""SQL of manual invoices: the draft row and its item lines (numbered and issued by the same
statements as the run's invoices, store.billing_store.take_numbers / set_numbers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.assembly import InvoiceDraft
from store.billing_schema import invoice_lines, invoices


async def insert_draft(conn: AsyncConnection, row: dict[str, Any], draft: InvoiceDraft) -> int:
    """The draft invoice (``row``: the invoice's columns, kind 'manual') and its lines; its id."""
    result = await conn.execute(insert(invoices).values(**row).returning(invoices.c.id))
    invoice_id = int(result.scalar_one())
    await conn.execute(
        insert(invoice_lines),
        [
            {
                "invoice_id": invoice_id,
                "position": pos,
                "kind": ln.kind,
                "description": ln.description,
                "net": ln.net,
                "vat_bp": ln.vat_bp,
                "late": False,
                "quantity_milli": ln.quantity_milli,
                "unit_price": ln.unit_price,
            }
            for pos, ln in enumerate(draft.lines, 1)
        ],
    )
    return invoice_id
