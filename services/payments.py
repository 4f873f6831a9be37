"""Payments received by bank giro, and what a person does with the ones no invoice took.

``import_ocr`` reads a Nets OCR Giro file (billing/ocr_giro.py, through netsgiro) and, in the
caller's one transaction, records each transaction: matched by its KID to an issued or
overdue invoice, it is a payment through the existing path (billing.payments.pay on the
locked invoice: partial payments leave it open, billing.lifecycle decides its state);
anything else is an **unmatched payment** with its reason, never dropped. A file already
imported (same sha256, or the same transmission with the same transactions in other bytes,
e.g. other line ends) records nothing and says so; a transaction already stored (same
transmission, assignment and transaction numbers) is skipped, and the database's unique
constraints hold both. A bad file records nothing.

Which site: a KID is unique per site, not across sites. Without ``site_id`` a KID is looked
for on every site; one found on two sites goes to unmatched (``ambiguous_kid``) rather than
being guessed. With ``site_id`` (the site whose bank agreement the file is from) only that
site's invoices are matched and the file's unmatched payments belong to that site.

``assign_unmatched`` pays an invoice with an unmatched payment; ``refund_unmatched`` marks it
to be paid back to the payer (a ``refunds`` row, ``due``). Both are idempotent: the same
call again answers the same without writing. The reports read through store/payments_store.py
and add up with billing/payment_reports.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing import payment_reports, payments
from billing.errors import BillingError, NotFoundError
from billing.money import format_amount
from billing.ocr_giro import CURRENCY, GiroTransaction, OcrFileError, read_ocr, sha256_of
from store import audit
from store import billing_store as bs
from store import payments_store as ps
from store.errors import Conflict

Authorize = Callable[[str | None], None]  # raises when the caller may not import for the scope
SOURCE = "ocr_giro"  # payments.method and unmatched_payments.source of a bank giro payment
OPEN_STATES = ("issued", "overdue")
# why a payment went unmatched, in words (CLI, docs)
REASONS = {
    "unknown_kid": "no invoice has this KID",
    "ambiguous_kid": "invoices of several sites have this KID: import with a site",
    "invoice_paid": "the invoice is paid already",
    "invoice_credited": "the invoice is credited",
    "currency": "the invoice is not in NOK",
    "reversal": "a reversal takes money back: settle it by hand",
}


def _money(amount: int, currency: str = CURRENCY) -> dict[str, Any]:
    return {"amount": amount, "formatted": f"{format_amount(amount, currency)} {currency}"}


async def import_ocr(
    conn: AsyncConnection,
    data: bytes,
    *,
    site_id: str | None = None,
    filename: str = "",
    actor: str,
    authorize: Authorize | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Import one OCR Giro file whole in ``conn``'s transaction; its summary."""
    now = now or datetime.now(UTC)
    if authorize is not None:
        authorize(site_id)
    if site_id is not None and await bs.get_site(conn, site_id) is None:
        raise NotFoundError(f"no site {site_id!r}")
    seen = await ps.file_by_sha256(conn, sha256_of(data))
    if seen is not None:
        return _already(seen)
    giro = read_ocr(data)
    other = await ps.file_by_transmission(conn, giro.data_transmitter, giro.transmission_number)
    if other is not None:  # the same transmission in other bytes (line ends, a re-save)?
        stored = {
            (t["assignment_number"], t["transaction_number"]): (t["kid"], t["amount"])
            for t in await ps.file_transactions(conn, int(other["id"]))
        }
        read = {(t.assignment_number, t.number): (t.kid, t.amount) for t in giro.transactions}
        if stored == read:
            return _already(other)
        raise OcrFileError(
            f"transmission {giro.transmission_number} from {giro.data_transmitter} was "
            f"imported already (file {other['id']}) with other transactions: Nets never "
            "sends one transmission twice, so check where this file came from"
        )
    file_id = await ps.insert_file(
        conn,
        {
            "sha256": giro.sha256,
            "data_transmitter": giro.data_transmitter,
            "transmission_number": giro.transmission_number,
            "data_recipient": giro.data_recipient,
            "nets_date": giro.nets_date.isoformat() if giro.nets_date else None,
            "site_id": site_id,
            "filename": filename[:200],
            "transactions": len(giro.transactions),
            "total": giro.total,
            "actor": actor[:120],
            "imported_at": now,
        },
    )
    known = await ps.known_transactions(conn, [t.identity for t in giro.transactions])
    paid: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    duplicates = 0
    for tx in giro.transactions:
        if tx.identity in known:
            duplicates += 1
            continue
        known.add(tx.identity)
        outcome = await _record(conn, file_id, tx, site_id, actor, now)
        (paid if "invoice" in outcome else unmatched).append(outcome)
        entries.append(outcome.pop("_audit"))
    summary = {
        "file_id": file_id,
        "transmission": giro.transmission_number,
        "data_transmitter": giro.data_transmitter,
        "nets_date": giro.nets_date.isoformat() if giro.nets_date else None,
        "sha256": giro.sha256,
        "site_id": site_id,
        "already_imported": False,
        "transactions": len(giro.transactions),
        "total": _money(giro.total),
        "matched": {"count": len(paid), **_money(sum(p["amount"] for p in paid))},
        "unmatched": {"count": len(unmatched), **_money(sum(u["amount"] for u in unmatched))},
        "duplicates_skipped": duplicates,
        "payments": paid,
        "unmatched_payments": unmatched,
    }
    await ps.set_file_summary(conn, file_id, summary)
    entries.append(
        audit.entry(
            actor,
            "payments.import_ocr",
            "ocr_file",
            file_id,
            site_id=site_id,
            after={k: v for k, v in summary.items() if k not in ("payments", "unmatched_payments")},
        )
    )
    await audit.record_many(conn, entries)
    return summary


def _already(seen: dict[str, Any]) -> dict[str, Any]:
    """The answer for a file imported before: nothing recorded now, every one a duplicate."""
    count = int(seen["transactions"])
    return {
        "file_id": seen["id"],
        "transmission": seen["transmission_number"],
        "data_transmitter": seen["data_transmitter"],
        "nets_date": seen["nets_date"],
        "sha256": seen["sha256"],
        "site_id": seen["site_id"],
        "already_imported": True,
        "imported_at": seen["imported_at"].isoformat(),
        "transactions": count,
        "total": _money(int(seen["total"])),
        "matched": {"count": 0, **_money(0)},
        "unmatched": {"count": 0, **_money(0)},
        "duplicates_skipped": count,
        "payments": [],
        "unmatched_payments": [],
    }


async def _record(
    conn: AsyncConnection,
    file_id: int,
    tx: GiroTransaction,
    site_id: str | None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """One transaction: a payment of the invoice its KID names, or an unmatched payment."""
    reason, invoice = await _match(conn, tx, site_id)
    tx_id = await ps.insert_transaction(
        conn,
        {
            "file_id": file_id,
            "data_transmitter": tx.data_transmitter,
            "transmission_number": tx.transmission_number,
            "assignment_number": tx.assignment_number,
            "transaction_number": tx.number,
            "agreement_id": tx.agreement_id,
            "account": tx.account,
            "transaction_type": tx.type,
            "kid": tx.kid,
            "amount": tx.amount,
            "paid_on": tx.paid_on.isoformat(),
            "debit_account": tx.debit_account,
            "outcome": "unmatched" if reason else "matched",
            "created_at": now,
        },
    )
    if reason is None:
        assert invoice is not None
        reference = f"OCR {tx.identity_text} KID {tx.kid}"
        done = await payments.pay(
            conn,
            invoice,
            tx.amount,
            tx.paid_on,
            reference,
            actor,
            now,
            method=SOURCE,
            idempotency_key=f"ocr-{tx.identity_text}",
        )
        payment = done["payment"]
        await ps.set_transaction_payment(conn, tx_id, payment["id"])
        return {
            "invoice": invoice["number_text"],
            "kid": tx.kid,
            "amount": tx.amount,
            "state": done["state"],
            "amount_due": done["amount_due"],
            "_audit": audit.entry(
                actor,
                "payment.add",
                "invoice",
                invoice["number_text"],
                site_id=invoice["site_id"],
                after=payment,
            ),
        }
    row: dict[str, Any] = {
        "source": SOURCE,
        "ocr_transaction_id": tx_id,
        "site_id": invoice["site_id"] if invoice is not None else site_id,
        "kid": tx.kid,
        "amount": tx.amount,
        "currency": CURRENCY,
        "paid_on": tx.paid_on.isoformat(),
        "payer_account": tx.debit_account,
        "reason": reason,
        "invoice_id": invoice["id"] if invoice is not None else None,
        "state": "open",
        "created_at": now,
    }
    unmatched_id = await ps.insert_unmatched(conn, row)
    return {
        "id": unmatched_id,
        "kid": tx.kid,
        "amount": tx.amount,
        "reason": reason,
        "invoice_number": invoice["number_text"] if invoice is not None else None,
        "_audit": audit.entry(
            actor,
            "payment.unmatched",
            "unmatched_payment",
            unmatched_id,
            site_id=row["site_id"],
            after={k: row[k] for k in ("kid", "amount", "currency", "paid_on", "reason")},
        ),
    }


async def _match(
    conn: AsyncConnection, tx: GiroTransaction, site_id: str | None
) -> tuple[str | None, dict[str, Any] | None]:
    """(None, the locked invoice) to pay, or (why not, the invoice the KID named if any)."""
    if tx.reversal:
        return "reversal", None
    if tx.kid is None:
        return "unknown_kid", None
    found = await ps.invoices_by_kid(conn, tx.kid, site_id)
    if not found:
        return "unknown_kid", None
    if len(found) > 1:
        return "ambiguous_kid", None
    invoice = await payments.locked_invoice(conn, int(found[0]["id"]))
    if invoice["currency"] != CURRENCY:
        return "currency", invoice
    if invoice["state"] == "paid":
        return "invoice_paid", invoice
    if invoice["state"] not in OPEN_STATES:
        return "invoice_credited", invoice
    return None, invoice


async def _unmatched(conn: AsyncConnection, unmatched_id: int) -> dict[str, Any]:
    row = await ps.lock_unmatched(conn, unmatched_id)
    if row is None:
        raise NotFoundError(f"no unmatched payment {unmatched_id}: see `evgate reports unmatched`")
    return row


async def assign_unmatched(
    conn: AsyncConnection,
    unmatched_id: int,
    invoice_number: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Pay ``invoice_number`` with an unmatched payment (the existing payment path: the
    invoice locked, partial and overpayment as for any payment); the outcome."""
    now = now or datetime.now(UTC)
    row = await _unmatched(conn, unmatched_id)
    if row["state"] == "assigned":
        invoice = await bs.get_invoice(conn, int(row["assigned_invoice_id"]))
        assert invoice is not None
        if invoice["number_text"] != invoice_number:
            raise Conflict(
                f"unmatched payment {unmatched_id} was assigned to {invoice['number_text']} already"
            )
        return _assigned(row, invoice, invoice["state"], None)
    if row["state"] != "open":
        raise Conflict(f"unmatched payment {unmatched_id} is marked to be refunded to the payer")
    if row["reason"] == "reversal":
        raise BillingError(
            f"unmatched payment {unmatched_id} is a reversal (money taken back): it cannot pay "
            "an invoice; settle it with a credit note"
        )
    invoice = await payments.locked_invoice(conn, invoice_number)
    if invoice["currency"] != row["currency"]:
        raise BillingError(
            f"invoice {invoice_number} is in {invoice['currency']}, the payment in "
            f"{row['currency']}"
        )
    done = await payments.pay(
        conn,
        invoice,
        int(row["amount"]),
        date.fromisoformat(row["paid_on"]),
        f"unmatched {unmatched_id} KID {row['kid'] or '-'}",
        actor,
        now,
        method=row["source"],
        idempotency_key=f"unmatched-{unmatched_id}",
    )
    payment = done["payment"]
    values = {
        "state": "assigned",
        "assigned_invoice_id": invoice["id"],
        "payment_id": payment["id"],
        "resolved_by": actor[:120],
        "resolved_at": now,
    }
    await ps.update_unmatched(conn, unmatched_id, **values)
    if row["ocr_transaction_id"] is not None:
        await ps.set_transaction_payment(conn, int(row["ocr_transaction_id"]), payment["id"])
    await audit.record(
        conn,
        actor,
        "payment.assign",
        "unmatched_payment",
        unmatched_id,
        site_id=invoice["site_id"],
        before={"state": row["state"]},
        after={"state": "assigned", "invoice": invoice_number, "payment": payment},
    )
    return _assigned({**row, **values}, invoice, done["state"], done["amount_due"])


def _assigned(
    row: dict[str, Any], invoice: dict[str, Any], state: str, due: int | None
) -> dict[str, Any]:
    return {
        "id": row["id"],
        "state": "assigned",
        "amount": row["amount"],
        "currency": row["currency"],
        "invoice_number": invoice["number_text"],
        "invoice_state": state,
        "amount_due": due,
        "payment_id": row["payment_id"],
    }


async def refund_unmatched(
    conn: AsyncConnection,
    unmatched_id: int,
    reason: str = "",
    *,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Mark an unmatched payment to be paid back to its payer: a refund ``due``."""
    now = now or datetime.now(UTC)
    row = await _unmatched(conn, unmatched_id)
    if row["state"] == "refund_due":
        existing = await ps.refund_of(conn, unmatched_id)
        assert existing is not None
        return _refund(existing)
    if row["state"] != "open":
        raise Conflict(f"unmatched payment {unmatched_id} was assigned to an invoice already")
    if row["reason"] == "reversal":
        raise BillingError(
            f"unmatched payment {unmatched_id} is a reversal: the money was taken back, there "
            "is nothing to refund"
        )
    refund = {
        "unmatched_id": unmatched_id,
        "site_id": row["site_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "payer_account": row["payer_account"],
        "kid": row["kid"],
        "reason": reason[:200],
        "state": "due",
        "created_by": actor[:120],
        "created_at": now,
    }
    refund_id = await ps.insert_refund(conn, refund)
    await ps.update_unmatched(
        conn, unmatched_id, state="refund_due", resolved_by=actor[:120], resolved_at=now
    )
    await audit.record(
        conn,
        actor,
        "payment.refund",
        "unmatched_payment",
        unmatched_id,
        site_id=row["site_id"],
        before={"state": row["state"]},
        after={"state": "refund_due", "refund": {**refund, "id": refund_id}},
    )
    return _refund({**refund, "id": refund_id})


def _refund(refund: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "unmatched_id", "amount", "currency", "payer_account", "kid", "state")
    return {"refund_id" if k == "id" else k: refund[k] for k in keys} | {"state": "refund_due"}


# --- reports --------------------------------------------------------------------------------


async def payments_report(
    conn: AsyncConnection, site_id: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    if start is not None and end is not None and start > end:
        raise BillingError(f"from {start} is after to {end}")
    rows = await ps.received_payments(conn, site_id)
    return {"site_id": site_id, **payment_reports.payments_received(rows, start, end)}


async def aging_report(
    conn: AsyncConnection, site_id: str | None, today: date | None = None
) -> dict[str, Any]:
    rows = await ps.open_invoices(conn, site_id, OPEN_STATES)
    today = today or datetime.now(UTC).date()
    return {"site_id": site_id, **payment_reports.aging(rows, today)}


async def unmatched_report(
    conn: AsyncConnection, site_id: str | None, *, open_only: bool = False
) -> dict[str, Any]:
    states = ("open",) if open_only else None
    rows = await ps.unmatched_rows(conn, site_id, states)
    refund_rows = await ps.refund_rows(conn, site_id, ("due",) if open_only else None)
    balances = await ps.credit_balances(conn, site_id)
    return {"site_id": site_id, **payment_reports.unmatched(rows, refund_rows, balances)}
