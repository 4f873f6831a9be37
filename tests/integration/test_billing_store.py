"""Billing's bulk writes: many rows in few statements, every row kept, in order."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from store import billing_store as bs
from store.billing_schema import invoice_lines
from tests.unit.billing.billing_testkit import NOW, World, rows


async def test_lines_beyond_one_statement_are_all_written(engine: AsyncEngine) -> None:
    """More lines than one SQLite statement takes (its parameter limit): all there, as given."""
    w = await World(engine).setup()
    sub = await w.subscriber("A")
    n = 2 * (bs._SQLITE_VARIABLES // len(bs.LINE_COLUMNS)) + 7
    async with engine.begin() as conn:
        ids = await bs.insert_invoices(
            conn,
            [
                {
                    "site_id": w.site,
                    "subscriber_id": sub,
                    "period": "2026-10",
                    "state": "draft",
                    "series": "OSL",
                    "currency": "NOK",
                    "net": 0,
                    "vat": 0,
                    "total": 0,
                    "vat_breakdown": [],
                    "created_at": NOW,
                }
            ],
        )
        lines = [
            (
                ids[sub],
                pos,
                "fee",
                f"fee {pos}",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                pos % 2 == 0,
                pos,
                2500,
                f"F={pos}",
            )
            for pos in range(1, n + 1)
        ]
        await bs.insert_lines(conn, lines, [])
    written = await rows(engine, invoice_lines, invoice_lines.c.id)
    assert [
        (r["position"], r["description"], r["net"], r["late"], r["unit_prices"]) for r in written
    ] == [(pos, f"fee {pos}", pos, pos % 2 == 0, f"F={pos}") for pos in range(1, n + 1)]
