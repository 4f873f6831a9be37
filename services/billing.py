"""Billing use cases, one function each, shared by `evgate ...` and the HTTP API.

Recording an offline payment, issuing a credit note, a billing run (or its dry run),
applying a Stripe webhook and setting a site's KID mode: each checks its input, writes, and
leaves its audit entries and outbox events in the same transaction as the change, whoever
called it. The caller names the actor for the audit log ("cli", "scheduler", an API token's
``token:<id> (<name>)``) and may pass ``authorize``, called with the invoice's site before
anything is written (the API's "may this token change that site?"). The CLI and the routes
only parse and format.

Payments and credits are checked against the invoice row locked for the transaction
(billing.payments), never against one read before the lock; the states are
billing.lifecycle's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing import parties, payments, refunds
from billing.dunning_rules import effective, settings_problem
from billing.errors import BillingError, NotFoundError, WebhookRefused
from billing.kid import check_kid_mode
from billing.months import parse_period
from billing.run import Payer, Progress, RunOptions, RunReport, run_billing
from billing.stripe_payments import StripeSettings, apply_event
from billing.webhook_signature import SignatureError, verify
from store import audit
from store import billing_store as bs
from store.errors import Forbidden

Authorize = Callable[[str], None]  # raises when the caller may not change the site
# payments.method of what a person records by hand: the seam where a Vipps or eFaktura
# integration would record its own payments instead (docs/payments.md)
MANUAL_METHODS = ("offline", "vipps", "efaktura", "paper")


def _amount(amount: str | int, currency: str) -> int:
    """Text in major units ('123.45') from a person, or minor units from code."""
    return amount if isinstance(amount, int) else payments.parse_amount(amount, currency)


async def record_offline_payment(
    conn: AsyncConnection,
    invoice_key: str | int,
    amount: str | int,
    paid_on: date,
    reference: str = "",
    *,
    actor: str,
    authorize: Authorize | None = None,
    now: datetime | None = None,
    method: str = "offline",
) -> dict[str, Any]:
    """A payment received outside Stripe and the bank giro file (``method``: a bank transfer
    ``offline``, or ``vipps``, ``efaktura``, ``paper``, recorded by hand until they are
    integrated); the invoice after it (with ``amount_due``)."""
    if method not in MANUAL_METHODS:
        raise BillingError(f"a payment recorded by hand is one of {', '.join(MANUAL_METHODS)}")
    now = now or datetime.now(UTC)
    invoice = await payments.locked_invoice(conn, invoice_key)
    if authorize is not None:
        authorize(invoice["site_id"])
    cents = _amount(amount, invoice["currency"])
    done = await payments.pay(conn, invoice, cents, paid_on, reference, actor, now, method=method)
    await audit.record(
        conn,
        actor,
        "payment.add",
        "invoice",
        invoice["number_text"] or invoice["id"],
        site_id=invoice["site_id"],
        after=done["payment"],
    )
    return done


async def credit_invoice(
    conn: AsyncConnection,
    invoice_key: str | int,
    net: str | int | None = None,
    reason: str = "",
    *,
    actor: str,
    authorize: Authorize | None = None,
    now: datetime | None = None,
    vat_bp: int | None = None,
    pay_out: bool = False,
) -> dict[str, Any]:
    """A credit note for all that is left (``net`` None) or a net amount (at the invoice's
    main VAT rate, or ``vat_bp``); the note with the invoice after it, and the card refund it
    calls for (``refund``, pending: send it after the commit with
    ``StripePayments.send_refunds``), if any. With ``pay_out`` what else it makes owed back
    is a bank refund to pay out (billing.refunds) instead of a credit balance to carry."""
    now = now or datetime.now(UTC)
    invoice = await payments.locked_invoice(conn, invoice_key)
    if authorize is not None:
        authorize(invoice["site_id"])
    cents = None if net is None else _amount(net, invoice["currency"])
    note = await payments.credit(conn, invoice, cents, reason, actor, now, vat_bp)
    note["refund"] = await refunds.after_credit(conn, invoice, note, actor, now, pay_out=pay_out)
    await audit.record(
        conn,
        actor,
        "credit_note.create",
        "credit_note",
        note["number"],
        site_id=invoice["site_id"],
        after={
            "invoice": invoice["number_text"],
            "reason": reason[:200],
            **{k: note[k] for k in ("net", "vat", "total")},
        },
    )
    return note


async def billing_run(
    engine: AsyncEngine,
    period: str,
    site_id: str | None = None,
    *,
    actor: str,
    dry_run: bool = False,
    batch_size: int = 250,
    progress: Progress | None = None,
    payer: Payer | None = None,
    now: datetime | None = None,
    run_id: int | None = None,
) -> RunReport:
    """Bill ``period`` (one site or all), or report exactly what that would do (``dry_run``:
    nothing stored, no one charged). The run audits each issued invoice and itself.
    ``run_id``: a queued run row to take (the worker process of ``config.billing_jobs``)."""
    parse_period(period)
    if batch_size < 1:
        raise BillingError("the batch size must be at least 1")
    options = RunOptions(
        period, site_id, dry_run, now, batch_size=batch_size, actor=actor, run_id=run_id
    )
    return await run_billing(engine, options, progress, None if dry_run else payer)


async def apply_stripe_webhook(
    engine: AsyncEngine,
    payload: bytes,
    signature: str | None,
    settings: StripeSettings | None,
) -> str:
    """A webhook delivery: verified with the endpoint secret, then applied once (a repeat or
    an outcome older than the recorded one changes nothing). Raises WebhookRefused."""
    if settings is None or not settings.webhook_secret:  # nothing can be verified: refuse
        raise WebhookRefused(
            "webhook refused: set EVGATE_STRIPE_WEBHOOK_SECRET to receive Stripe webhooks"
        )
    try:
        verify(payload, signature, settings.webhook_secret)
    except SignatureError as exc:
        raise WebhookRefused(f"webhook refused: {exc}") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookRefused("webhook body is not JSON") from None
    if not isinstance(event, dict):
        raise WebhookRefused("webhook body is not a JSON object")
    return await apply_event(engine, event)


SETTINGS = (
    "kid_mode",
    "reminder_count",
    "reminder_interval_days",
    "reminder_fee",
    "reminder_fee_cap",
    "fee_reminders",
    "card_charge_at",
    "card_retries",
    "card_retry_days",
)
CAPS = ("reminder_fee_cap", "fee_reminders")  # what the law allows: a super-admin's to change
CHARGE_AT = ("issue", "due")  # when a card pays: when the invoice is issued, or on its due date


def _fee(amount: str | int, currency: str) -> int:
    """A fee may be zero ('0', '0.00'): no fee; anything else as a payment amount."""
    if isinstance(amount, str) and amount.strip().strip("0.") == "":
        return 0
    return _amount(amount, currency)


async def billing_settings(conn: AsyncConnection, site_id: str) -> dict[str, Any]:
    """The site's billing settings in force: its KID mode and dunning (the currency's legal
    defaults where none were set), with ``currency`` and the site's ``payment_terms_days``."""
    site = await bs.get_site(conn, site_id)
    if site is None:
        raise NotFoundError(f"no site {site_id!r}")
    stored = await bs.site_billing_settings(conn, site_id)
    settings = effective(stored, site["currency"])
    settings.update(currency=site["currency"], payment_terms_days=site["payment_terms_days"])
    return settings


async def update_billing_settings(
    conn: AsyncConnection,
    site_id: str,
    changes: dict[str, Any],
    *,
    actor: str,
    authorize: Authorize | None = None,
    may_change_caps: bool = True,
) -> dict[str, Any]:
    """Change some of the site's billing settings (``SETTINGS``); fees in minor units or in
    major-unit text ('70.00'). Refused, naming the setting, when the result breaks the legal
    cap; the cap itself only a super-admin changes. A KID mode applies to the invoices issued
    from now on. Audited; returns the settings after."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise BillingError(f"unknown billing setting(s): {', '.join(unknown)}")
    if authorize is not None:
        authorize(site_id)
    if not may_change_caps and any(k in changes for k in CAPS):
        raise Forbidden("only a super-admin may change the reminder fee cap or fee count")
    before = await billing_settings(conn, site_id)
    values = dict(changes)
    if "kid_mode" in values:
        check_kid_mode(values["kid_mode"])
    if values.get("card_charge_at", "issue") not in CHARGE_AT:
        raise BillingError(f"card_charge_at must be one of {', '.join(CHARGE_AT)}")
    if not 0 <= int(values.get("card_retries", 0)) <= 10:
        raise BillingError("card_retries must be between 0 and 10")
    if not 1 <= int(values.get("card_retry_days", 1)) <= 30:
        raise BillingError("card_retry_days must be between 1 and 30")
    for key in ("reminder_fee", "reminder_fee_cap"):
        if key in values and values[key] is not None:
            values[key] = _fee(values[key], before["currency"])
    problem = settings_problem(
        effective({**before, **values}, before["currency"]), before["currency"]
    )
    if problem is not None:
        raise BillingError(f"billing settings of {site_id!r} refused: {problem}")
    await bs.set_billing_settings(conn, site_id, **values)
    after = await billing_settings(conn, site_id)
    changed = sorted(k for k in SETTINGS if before[k] != after[k])
    await audit.record(
        conn,
        actor,
        "billing_settings.update",
        "site",
        site_id,
        site_id=site_id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return after


async def seller_details(conn: AsyncConnection, site_id: str) -> dict[str, Any]:
    """The site's seller details as stored (every field; None where unset)."""
    if await bs.get_site(conn, site_id) is None:
        raise NotFoundError(f"no site {site_id!r}: see `evgate sites list`")
    row = await bs.get_seller(conn, site_id) or {}
    out = {"site_id": site_id, **{k: row.get(k) for k in parties.SELLER_FIELDS}}
    return {**out, "logo": parties.logo_info(row.get("logo"))}


async def set_seller(
    conn: AsyncConnection,
    site_id: str,
    values: dict[str, Any],
    *,
    actor: str,
    authorize: Authorize | None = None,
) -> dict[str, Any]:
    """Change the site's seller details (legal name, address, org and VAT numbers, bank
    account, ...): checked by country (billing/parties.py), stored compact, audited as
    ``seller.update``. Invoices already issued keep the seller they were issued with."""
    if authorize is not None:
        authorize(site_id)
    if await bs.get_site(conn, site_id) is None:
        raise NotFoundError(f"no site {site_id!r}: see `evgate sites list`")
    before = await bs.get_seller(conn, site_id)
    after = parties.check_seller(values, before)
    await bs.put_seller(conn, site_id, after)
    await audit.record(
        conn,
        actor,
        "seller.update",
        "site",
        site_id,
        site_id=site_id,
        before=parties.seller_snapshot(before),
        after=after,
    )
    return {"site_id": site_id, **after, "logo": parties.logo_info((before or {}).get("logo"))}


async def set_seller_logo(
    conn: AsyncConnection,
    site_id: str,
    logo: bytes | None,
    *,
    actor: str,
    authorize: Authorize | None = None,
) -> dict[str, Any]:
    """Set (PNG or JPEG, checked) or remove (None) the logo at the top of the site's
    documents; audited as ``seller.logo`` (its type and size, not its bytes)."""
    if authorize is not None:
        authorize(site_id)
    if await bs.get_site(conn, site_id) is None:
        raise NotFoundError(f"no site {site_id!r}: see `evgate sites list`")
    if logo is not None:
        parties.check_logo(logo)
    before = parties.logo_info(((await bs.get_seller(conn, site_id)) or {}).get("logo"))
    await bs.put_seller_logo(conn, site_id, logo)
    after = parties.logo_info(logo)
    await audit.record(
        conn, actor, "seller.logo", "site", site_id, site_id=site_id, before=before, after=after
    )
    return await seller_details(conn, site_id)


def buyer_public(subscriber_id: int, row: dict[str, Any] | None) -> dict[str, Any]:
    out = {"subscriber_id": subscriber_id, **{k: (row or {}).get(k) for k in parties.BUYER_FIELDS}}
    out["document_format"] = parties.document_format(row)
    return out


async def buyer_details(conn: AsyncConnection, subscriber_id: int) -> dict[str, Any]:
    if await bs.get_subscriber(conn, subscriber_id) is None:
        raise NotFoundError(f"no subscriber {subscriber_id}")
    return buyer_public(subscriber_id, await bs.get_buyer(conn, subscriber_id))


async def set_buyer(
    conn: AsyncConnection,
    subscriber_id: int,
    values: dict[str, Any],
    *,
    actor: str,
    authorize: Authorize | None = None,
) -> dict[str, Any]:
    """Change a subscriber's buyer details (billing address; for a company its org number,
    VAT number and buyer reference; its document format): checked, stored, audited as
    ``buyer.update``."""
    sub = await bs.get_subscriber(conn, subscriber_id)
    if sub is None:
        raise NotFoundError(f"no subscriber {subscriber_id}")
    if authorize is not None:
        authorize(sub["site_id"])
    before = await bs.get_buyer(conn, subscriber_id)
    after = parties.check_buyer(values, before)
    await bs.put_buyer(conn, subscriber_id, after)
    await audit.record(
        conn,
        actor,
        "buyer.update",
        "subscriber",
        subscriber_id,
        site_id=sub["site_id"],
        before={k: before.get(k) for k in parties.BUYER_FIELDS} if before else None,
        after=after,
    )
    return buyer_public(subscriber_id, after)
