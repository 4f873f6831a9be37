"""Invoices as the CLI and the API show them (JSON-ready dicts; amounts in minor units)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from store import billing_store as bs


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _quantity(milli: int | None) -> str | None:
    """A manual line's quantity as exact text ('1.5'); None on other lines."""
    if milli is None:
        return None
    return f"{(Decimal(milli) / 1000).normalize():f}"


def invoice_public(inv: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "id": inv["id"],
        "number": inv["number_text"],
        "kid": inv["kid"],
        "subscriber_id": inv["subscriber_id"],
        "site_id": inv["site_id"],
        "period": inv["period"],
        "kind": inv.get("kind") or "automatic",
        "state": inv["state"],
        "currency": inv["currency"],
        "net": inv["net"],
        "vat": inv["vat"],
        "total": inv["total"],
        "vat_breakdown": inv["vat_breakdown"],
        "paid": inv["paid_amount"],
        "credited": inv["credited_amount"],
        "issued_at": _iso(inv["issued_at"]),
        "due_at": _iso(inv["due_at"]),
        "reminders_sent": inv["reminders_sent"],
        "seller": inv.get("seller"),
        "buyer": inv.get("buyer"),
        "lines": [
            {
                "position": ln["position"],
                "kind": ln["kind"],
                "description": ln["description"],
                "session_id": ln["session_id"],
                "charger_id": ln["charger_id"],
                "started_at": _iso(ln["started_at"]),
                "stopped_at": _iso(ln["stopped_at"]),
                "energy_wh": ln["energy_wh"],
                "charging_s": ln["charging_s"],
                "parking_s": ln["parking_s"],
                "late": bool(ln["late"]),
                "net": ln["net"],
                "vat_bp": ln["vat_bp"],
                "unit_prices": ln.get("unit_prices"),
                "quantity": _quantity(ln.get("quantity_milli")),
                "unit_price": ln.get("unit_price"),
            }
            for ln in lines
        ],
    }


async def list_public(conn: AsyncConnection, **filters: Any) -> list[dict[str, Any]]:
    rows = await bs.list_invoices(conn, **filters)
    lines = await bs.lines_of(conn, [r["id"] for r in rows])
    return [invoice_public(r, lines[r["id"]]) for r in rows]


async def pdf_of(conn: AsyncConnection, number: str, reminder: int | None = None) -> bytes:
    """The PDF of an invoice (by number), of a credit note (CN-...), or of an invoice's reminder."""
    return render_pdf(await pdf_inputs(conn, number, reminder))


# what one document is drawn from: (which document, its rows), picklable, so that the
# drawing (CPU, a quarter of a second for a page) can run in a process of its own
PdfInputs = tuple[str, tuple[Any, ...]]


async def pdf_inputs(conn: AsyncConnection, number: str, reminder: int | None = None) -> PdfInputs:
    """The rows the PDF of ``number`` (or of its reminder ``reminder``) is drawn from."""
    from billing.errors import NotFoundError

    note = await bs.get_credit_note(conn, number) if number.startswith("CN-") else None
    inv = await bs.get_invoice(conn, int(note["invoice_id"]) if note else number)
    if inv is None:
        raise NotFoundError(f"no invoice or credit note {number!r}: see `evgate invoices list`")
    sub = await bs.get_subscriber(conn, inv["subscriber_id"]) or {}
    site = await bs.get_site(conn, inv["site_id"]) or {"tz": "UTC"}
    seller = await bs.get_seller(conn, inv["site_id"])
    buyer = await bs.get_buyer(conn, inv["subscriber_id"])
    if note is not None:
        if reminder is not None:
            raise NotFoundError(f"{number} is a credit note: reminders belong to invoices")
        return "credit_note", (note, inv, sub, site, seller, buyer)
    if reminder is not None:
        sent = await bs.reminders_of(conn, inv["id"])
        this = next((r for r in sent if int(r["n"]) == reminder), None)
        if this is None:
            raise NotFoundError(
                f"invoice {number} has {len(sent)} reminder(s), not reminder {reminder}"
            )
        return "reminder", (inv, this, sent, sub, site, seller)
    lines = (await bs.lines_of(conn, [inv["id"]]))[inv["id"]]
    return "invoice", (inv, lines, sub, site, seller, buyer)


def render_pdf(inputs: PdfInputs) -> bytes:
    """Draw the document ``pdf_inputs`` read (pure: no I/O)."""
    from billing.documents import credit_note_pdf, invoice_pdf
    from billing.reminder_pdf import reminder_pdf

    kind, args = inputs
    if kind == "credit_note":
        return credit_note_pdf(*args)
    if kind == "reminder":
        return reminder_pdf(*args)
    return invoice_pdf(*args)


async def ubl_of(conn: AsyncConnection, number: str) -> bytes:
    """The EHF / Peppol BIS Billing 3.0 UBL of an invoice (by number) or a credit note (CN-...)."""
    from billing.errors import NotFoundError
    from billing.ubl import credit_note_ubl, invoice_ubl

    note = await bs.get_credit_note(conn, number) if number.startswith("CN-") else None
    inv = await bs.get_invoice(conn, int(note["invoice_id"]) if note else number)
    if inv is None:
        raise NotFoundError(f"no invoice or credit note {number!r}: see `evgate invoices list`")
    sub = await bs.get_subscriber(conn, inv["subscriber_id"]) or {}
    site = await bs.get_site(conn, inv["site_id"]) or {"tz": "UTC"}
    seller = await bs.get_seller(conn, inv["site_id"])
    buyer = await bs.get_buyer(conn, inv["subscriber_id"])
    if note is not None:
        return credit_note_ubl(note, inv, sub, site, seller, buyer)
    lines = (await bs.lines_of(conn, [inv["id"]]))[inv["id"]]
    return invoice_ubl(inv, lines, sub, site, seller, buyer)
