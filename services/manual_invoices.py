"""A manual invoice, made by hand (`evgate invoices manual`, POST .../subscribers/{id}/invoices):
a re-invoice after a credit note, a one-off charge invoiced at once.

Its lines are checked and assembled by billing/manual.py; it is written, numbered in the
site's series (the same gap-free counter as the run's invoices, under the same lock), given
its KID, issued by billing.lifecycle, mailed like every issued invoice (billing.mails) and
audited (``invoice.manual`` with its lines, besides ``invoice.issued``) with its
``invoice_issued`` event (``kind: manual``), all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing import mails
from billing.kid import build_kid
from billing.lifecycle import Figures, InvoiceEvent, InvoiceState, next_state
from billing.manual import LineInput, manual_draft
from billing.months import period_of
from billing.numbering import invoice_number, invoice_series
from billing.parties import buyer_snapshot, seller_snapshot
from billing.views import invoice_public
from services.context import Actor
from store import audit, manual_invoices
from store import billing_store as bs
from store.errors import Conflict, NotFound


async def issue_manual_invoice(
    conn: AsyncConnection,
    actor: Actor,
    subscriber_id: int,
    lines: Sequence[LineInput],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Issue a manual invoice of ``lines`` to the subscriber; the invoice as the API shows it.

    Its period is this month in the site's zone (the month it was issued in); the run's own
    invoice of that month is not affected (only automatic invoices are one per period)."""
    now = now or datetime.now(UTC)
    sub = await bs.get_subscriber(conn, subscriber_id)
    if sub is None:
        raise NotFound(f"no subscriber {subscriber_id}: see `evgate subscribers list`")
    actor.check_write(sub["site_id"])
    if sub["state"] == "invited":
        raise Conflict(f"subscriber {subscriber_id} has not accepted the invitation yet")
    site = await bs.get_site(conn, sub["site_id"])
    assert site is not None
    seller = seller_snapshot(await bs.get_seller(conn, site["id"]))
    vat_registered = seller is None or bool(seller.get("vat_number"))
    draft = manual_draft(
        subscriber_id=subscriber_id,
        site_id=site["id"],
        period=period_of(now, site["tz"]),
        currency=site["currency"],
        site_vat_bp=int(site["vat_bp"]),
        lines=lines,
        vat_registered=vat_registered,
    )
    series = invoice_series(site)
    row = {
        "site_id": site["id"],
        "subscriber_id": subscriber_id,
        "period": draft.period,
        "kind": "manual",
        "state": InvoiceState.DRAFT.value,
        "series": series,
        "currency": draft.currency,
        "language": sub.get("language") or "en",
        "net": draft.net,
        "vat": draft.vat,
        "total": draft.total,
        "vat_breakdown": [
            {"vat_bp": g.vat_bp, "net": g.net, "vat": g.vat} for g in draft.vat_groups
        ],
        "payment_method": "manual",
        "created_at": now,
        "seller": seller,
        "buyer": buyer_snapshot(sub, await bs.get_buyer(conn, subscriber_id)),
    }
    line_rows = [
        {
            "kind": ln.kind,
            "description": ln.description,
            "net": ln.net,
            "vat_bp": ln.vat_bp,
            "quantity_milli": ln.quantity_milli,
            "unit_price": ln.unit_price,
        }
        for ln in draft.lines
    ]
    invoice_id = await manual_invoices.insert_draft(conn, row, line_rows)
    number = await bs.take_numbers(conn, series, 1)
    kid_mode = (await bs.site_billing_settings(conn, site["id"]))["kid_mode"]
    terms = sub["payment_terms_days"] or site["payment_terms_days"] or 30
    due_at = now + timedelta(days=int(terms))
    state = next_state(
        InvoiceState.DRAFT, InvoiceEvent.ISSUE, Figures(draft.total, due_at=due_at), now
    )
    number_text = invoice_number(series, number)
    numbered: dict[str, Any] = {
        "b_id": invoice_id,
        "number": number,
        "number_text": number_text,
        "kid": build_kid(subscriber_id, number, kid_mode),
        "state": state.value,
        "issued_at": now,
        "due_at": due_at,
    }
    await bs.set_numbers(conn, [numbered], InvoiceState.DRAFT, actor.label)
    await mails.invoices_issued(
        conn,
        site,
        [(sub, {**numbered, "period": draft.period, "total": draft.total,
                "currency": draft.currency, "language": row["language"]})],
        now,
    )  # fmt: skip
    inv = await bs.get_invoice(conn, invoice_id)
    assert inv is not None
    shown = invoice_public(inv, (await bs.lines_of(conn, [invoice_id]))[invoice_id])
    await audit.record(
        conn,
        actor.label,
        "invoice.manual",
        "invoice",
        number_text,
        site_id=site["id"],
        after={k: shown[k] for k in ("number", "subscriber_id", "net", "vat", "total", "lines")},
    )
    return shown
