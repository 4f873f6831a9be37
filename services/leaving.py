"""A subscriber who leaves (cancellation): fees stop, unused advance fees are credited.

The rule is billing.cancellation's: the month of the cancellation is the last one paid for.
Plans end with it; what was invoiced in advance for later months is credited pro rata by a
credit note on the invoice that carried it (a paid invoice's credit becomes the subscriber's
balance). Sessions until the cancellation are billed as always, on the invoice of their month:
that is the final invoice. Runs in the cancellation's transaction: all of it or none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing.cancellation import unused_fees
from billing.lifecycle import InvoiceEvent, applies_to
from billing.months import months_between, period_of
from services import billing
from store import admin, audit, plans


async def leave(
    conn: AsyncConnection, actor_label: str, subscriber: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """End the subscriber's plans with this month and credit what was paid ahead."""
    site = await admin.get_site(conn, subscriber["site_id"])
    last_paid = period_of(now, site["tz"])
    own = [p for p in await plans.plans_of(conn, int(subscriber["id"])) if not p["one_off"]]
    ended = []
    for plan in own:
        last = plan["last_period"]
        if last is None or months_between(last_paid, last) > 0:
            await plans.set_last_period(conn, int(plan["id"]), last_paid)
            ended.append(int(plan["id"]))
    creditable = sorted(str(s) for s in applies_to(InvoiceEvent.CREDIT))
    invoiced = await plans.invoiced_lines(conn, int(subscriber["id"]), creditable)
    lines = {period: found[1] for period, found in invoiced.items()}
    notes = []
    for fee in unused_fees(own, lines, last_paid):
        invoice = invoiced[fee.period][0]
        note = await billing.credit_invoice(
            conn,
            int(invoice["id"]),
            fee.net,
            f"{fee.description}: {fee.unused_months} of {fee.months} months unused "
            f"after the cancellation",
            actor=actor_label,
            now=now,
            vat_bp=fee.vat_bp,
        )
        notes.append({"credit_note": note["number"], "invoice": invoice["number_text"]})
    summary = {"last_paid_month": last_paid, "ended_plans": ended, "credit_notes": notes}
    if not ended and not notes:  # no fees to settle: the cancellation's own entry says it all
        return summary
    await audit.record(
        conn,
        actor_label,
        "subscriber.leave",
        "subscriber",
        subscriber["id"],
        site_id=subscriber["site_id"],
        after=summary,
    )
    return summary
