"""The billing mails, queued in the transaction of the event that causes them (I/O: store).

An issued invoice (with its PDF), a reminder (with the reminder's PDF), a recorded payment,
a declined card: each is a row of the mail outbox written by ``store.mail_store`` in the
caller's transaction, so a rolled-back run or payment queues nothing and a re-run queues
nothing twice (the dedup key). The PDFs are attached as references (the invoice number, the
reminder's number) and rendered when the mail is sent (billing.views.pdf_of): a run issuing
thousands of invoices does not render thousands of PDFs inside its transaction, and the
outbox holds no blobs; an issued invoice's content is fixed, so the PDF sent is the one the
API serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncConnection

from billing import local_forms
from billing.lifecycle import amount_due
from mail.texts import language_of, render
from store import billing_store as bs
from store import mail_store


def _day(iso: str, language: str) -> str:
    """A calendar date given as ``YYYY-MM-DD`` (a payment's date) in the reader's form."""
    return format_date(date.fromisoformat(iso), "short", locale=local_forms.locale_of(language))


def _period(period: str, language: str) -> str:
    """``"2026-10"`` -> ``"October 2026"`` / ``"oktober 2026"`` (the reader's month name)."""
    year, month = (int(p) for p in period.split("-"))
    return format_date(date(year, month, 1), "LLLL y", locale=local_forms.locale_of(language))


def addressable(sub: Mapping[str, Any]) -> bool:
    """A subscriber a mail can be sent to (a mail never fails the event that causes it)."""
    email = sub.get("email") or ""
    return "@" in email and " " not in email.strip()


def _row(
    kind: str,
    key: str,
    site: Mapping[str, Any],
    sub: Mapping[str, Any],
    language: str,
    params: dict[str, Any],
    at: datetime,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    text = render(
        kind,
        language,
        {"name": sub.get("name") or "", "site_name": site.get("name") or site["id"], **params},
    )
    return {
        "kind": kind,
        "dedup_key": key,
        "site_id": site["id"],
        "recipient": sub["email"],
        "language": text.language,
        "subject": text.subject,
        "text_body": text.text,
        "html_body": text.html,
        "attachments": attachments,
        "at": at,
    }


def invoice_issued_row(
    site: Mapping[str, Any], sub: Mapping[str, Any], invoice: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    """``invoice``: number_text, period, total, currency, kid, due_at."""
    lang = language_of(invoice.get("language"), sub.get("language"))
    number = invoice["number_text"]
    params = {
        "number": number,
        "period": _period(invoice["period"], lang),
        "total": local_forms.money(invoice["total"], invoice["currency"], lang),
        "due": local_forms.date(invoice["due_at"], site["tz"], lang),
        "kid": invoice.get("kid") or "-",
    }
    return _row(
        "invoice_issued",
        f"invoice_issued:{site['id']}:{number}",
        site,
        sub,
        lang,
        params,
        at,
        [{"invoice_number": number}],
    )


async def invoices_issued(
    conn: AsyncConnection,
    site: Mapping[str, Any],
    issued: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    at: datetime,
) -> None:
    """Queue the mail of each issued invoice, [(subscriber, invoice), ...], in one statement."""
    rows = [invoice_issued_row(site, sub, inv, at) for sub, inv in issued if addressable(sub)]
    await mail_store.queue_many(conn, rows)


async def _parties(
    conn: AsyncConnection, invoice: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The invoice's site and subscriber, or None when it has no address to write to."""
    sub = await bs.get_subscriber(conn, int(invoice["subscriber_id"]))
    site = await bs.get_site(conn, str(invoice["site_id"]))
    if sub is None or site is None or not addressable(sub):
        return None
    return site, sub


async def reminder_sent(
    conn: AsyncConnection, invoice: Mapping[str, Any], n: int, at: datetime
) -> int | None:
    """Queue reminder ``n`` of ``invoice`` (just recorded) with its PDF attached."""
    from billing.reminder_pdf import new_due_date

    parties = await _parties(conn, invoice)
    if parties is None:
        return None
    site, sub = parties
    lang = language_of(invoice.get("language"), sub.get("language"))
    number, currency = invoice["number_text"], invoice["currency"]
    sent = await bs.reminders_of(conn, int(invoice["id"]))
    this = next(r for r in sent if int(r["n"]) == n)
    fees = sum(int(r["fee"]) for r in sent if int(r["n"]) <= n)
    owed = amount_due(
        int(invoice["total"]), int(invoice["paid_amount"]), int(invoice["credited_amount"])
    )
    params = {
        "number": number,
        "n": n,
        "amount_due": local_forms.money(owed + fees, currency, lang),
        "fee": local_forms.money(int(this["fee"]), currency, lang),
        "due": local_forms.date(new_due_date(this["sent_at"]), site["tz"], lang),
        "kid": invoice.get("kid") or "-",
    }
    row = _row(
        "reminder",
        f"reminder:{site['id']}:{number}:{n}",
        site,
        sub,
        lang,
        params,
        at,
        [{"invoice_number": number, "reminder": n}],
    )
    return await mail_store.queue(conn, **row)


async def payment_received(
    conn: AsyncConnection,
    invoice: Mapping[str, Any],
    payment: Mapping[str, Any],
    owed: int,
    at: datetime,
) -> int | None:
    """Queue the receipt of ``payment`` (a stored payment row with its id) on ``invoice``;
    ``owed``: what is still to pay after it."""
    parties = await _parties(conn, invoice)
    if parties is None:
        return None
    site, sub = parties
    lang = language_of(invoice.get("language"), sub.get("language"))
    currency = invoice["currency"]
    paid_on = payment.get("paid_on")
    params = {
        "number": invoice["number_text"],
        "amount": local_forms.money(int(payment["amount"]), currency, lang),
        "paid_on": _day(paid_on, lang) if paid_on else local_forms.date(at, site["tz"], lang),
        "amount_due": local_forms.money(max(owed, 0), currency, lang),
    }
    key = f"payment_received:{site['id']}:{payment['id']}"
    return await mail_store.queue(
        conn, **_row("payment_received", key, site, sub, lang, params, at)
    )


async def card_declined(
    conn: AsyncConnection,
    invoice: Mapping[str, Any],
    payment_key: str,
    amount: int,
    reason: str,
    at: datetime,
) -> int | None:
    """Queue the notice that card charge ``payment_key`` for ``invoice`` was declined."""
    parties = await _parties(conn, invoice)
    if parties is None:
        return None
    site, sub = parties
    lang = language_of(invoice.get("language"), sub.get("language"))
    params = {
        "number": invoice["number_text"],
        "amount": local_forms.money(amount, invoice["currency"], lang),
        "reason": reason or "-",
    }
    key = f"card_declined:{site['id']}:{payment_key}"
    return await mail_store.queue(conn, **_row("card_declined", key, site, sub, lang, params, at))
