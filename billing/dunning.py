"""The daily job (I/O): mark invoices past their due date overdue, send due reminders.

Which invoices may become overdue, and whether they do, is billing.lifecycle's: the store
reads the candidates (in the states ``DUE_DATE_PASSED`` applies to, due before now) in one
query, the machine decides each, and the changes are written in one statement per state with
their audit entries and outbox events, in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing import mails
from billing.dunning_rules import effective, fee_for, next_reminder
from billing.lifecycle import Figures, InvoiceEvent, applies_to, next_state
from store import audit
from store import billing_store as bs

E = InvoiceEvent


async def mark_overdue(conn: AsyncConnection, now: datetime, actor: str = "scheduler") -> int:
    """Invoices whose due date passed with money owed become overdue; returns how many."""
    decided = []
    for inv in await bs.due_candidates(conn, applies_to(E.DUE_DATE_PASSED), now):
        figures = Figures(
            inv["total"], inv["paid_amount"], inv["credited_amount"], inv["fees"], inv["due_at"]
        )
        new = next_state(inv["state"], E.DUE_DATE_PASSED, figures, now)
        decided.append((int(inv["id"]), str(inv["state"]), new.value))
    return await bs.set_states(conn, decided, actor, now)


async def daily(
    engine: AsyncEngine, now: datetime | None = None, actor: str = "scheduler"
) -> dict[str, Any]:
    """Idempotent: running it twice on a day sends nothing twice (UNIQUE(invoice_id, n))."""
    now = now or datetime.now(UTC)
    sent: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        overdue = await mark_overdue(conn, now, actor)
        settings: dict[str, dict[str, Any]] = {}
        for inv in await bs.invoices_in(conn, applies_to(E.REMINDER_FEE)):
            figures = Figures(inv["total"], inv["paid_amount"], inv["credited_amount"])
            if figures.amount_due <= 0:
                continue
            site = settings.get(inv["site_id"])
            if site is None:
                stored = await bs.site_billing_settings(conn, inv["site_id"])
                site = settings[inv["site_id"]] = effective(stored, inv["currency"])
            n = next_reminder(
                inv["reminders_sent"],
                inv["due_at"],
                inv["last_reminder_at"],
                now,
                site["reminder_count"],
                site["reminder_interval_days"],
            )
            if n is None:
                continue
            # a reminder fee never moves the state (the table): checked before it is added
            next_state(inv["state"], E.REMINDER_FEE, figures, now)
            fee = fee_for(n, site)
            if await bs.add_reminder(conn, inv["id"], n, fee, now):
                await mails.reminder_sent(conn, inv, n, now)
                sent.append({"invoice": inv["number_text"], "reminder": n, "fee": fee})
                await audit.record(
                    conn,
                    actor,
                    "invoice.reminder",
                    "invoice",
                    inv["number_text"],
                    site_id=inv["site_id"],
                    after={"reminder": n, "fee": fee},
                )
    return {"marked_overdue": overdue, "reminders": sent}
