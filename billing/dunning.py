"""The daily job (I/O): mark invoices past their due date overdue, send due reminders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning_rules import next_reminder
from billing.ledger import amount_due
from store import billing_store as bs


async def daily(engine: AsyncEngine, now: datetime | None = None) -> dict[str, Any]:
    """Idempotent: running it twice on a day sends nothing twice (UNIQUE(invoice_id, n))."""
    now = now or datetime.now(UTC)
    sent: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        overdue = await bs.mark_overdue(conn, now)
        settings: dict[str, dict[str, Any]] = {}
        for inv in await bs.overdue_invoices(conn):
            if amount_due(inv["total"], inv["paid_amount"], inv["credited_amount"]) <= 0:
                continue
            site = settings.get(inv["site_id"])
            if site is None:
                site = settings[inv["site_id"]] = await bs.site_billing_settings(
                    conn, inv["site_id"]
                )
            n = next_reminder(
                inv["reminders_sent"],
                inv["due_at"],
                inv["last_reminder_at"],
                now,
                site["reminder_count"],
                site["reminder_interval_days"],
            )
            if n is not None and await bs.add_reminder(
                conn, inv["id"], n, site["reminder_fee"], now
            ):
                sent.append(
                    {"invoice": inv["number_text"], "reminder": n, "fee": site["reminder_fee"]}
                )
    return {"marked_overdue": overdue, "reminders": sent}
