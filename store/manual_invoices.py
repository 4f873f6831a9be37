"""SQL of manual invoices: the draft row and its item lines (numbered and issued by the same
statements as the run's invoices, store.billing_store.take_numbers / set_numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.billing_schema import invoice_lines, invoices


async def insert_draft(
    conn: AsyncConnection, row: dict[str, Any], lines: Sequence[dict[str, Any]]
) -> int:
    """The draft invoice (``row``: the invoice's columns, kind 'manual') and its lines (kind,
    description, net, vat_bp, quantity_milli, unit_price), in order; its id."""
    result = await conn.execute(insert(invoices).values(**row).returning(invoices.c.id))
    invoice_id = int(result.scalar_one())
    await conn.execute(
        insert(invoice_lines),
        [
            {"invoice_id": invoice_id, "position": pos, "late": False, **ln}
            for pos, ln in enumerate(lines, 1)
        ],
    )
    return invoice_id
