"""Stripe autopay (I/O): a customer per subscriber, one PaymentIntent per invoice attempt.

Idempotency: the attempt is recorded (pending, with key ``evgate-invoice-<id>-attempt-<n>``)
and committed *before* Stripe is called; a crashed or retried run finds the pending attempt
and repeats the call with the same key, which Stripe answers with the first result instead of
charging again. Stripe's ids are stored; a declined card leaves the invoice issued with the
failure recorded. Webhooks (``apply_event``) bring later outcomes, applied idempotently and
in causal order (``record_outcome``): nothing un-pays a paid invoice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import mails
from billing.lifecycle import InvoiceEvent, allowed, outcome_applies
from billing.payments import settle
from store import audit
from store import billing_store as bs

log = logging.getLogger("evgate.billing.stripe")
E = InvoiceEvent
STRIPE = "stripe"  # the audit log's actor for what Stripe's answers and events change


@dataclass(frozen=True)
class StripeSettings:
    """What the Stripe client needs; built from config.settings.Settings by config.compose."""

    api_key: str
    webhook_secret: str = ""
    api_base: str | None = None  # e.g. localstripe's http://127.0.0.1:PORT


def idempotency_key(invoice_id: int, attempt: int) -> str:
    return f"evgate-invoice-{invoice_id}-attempt-{attempt}"


class StripePayments:
    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        extra: dict[str, Any] = {}
        if settings.api_base:
            extra["base_addresses"] = {"api": settings.api_base}
        self.client = stripe.StripeClient(settings.api_key, max_network_retries=0, **extra)

    # -- customers ----------------------------------------------------------------------------
    async def ensure_customer(self, engine: AsyncEngine, subscriber_id: int) -> dict[str, Any]:
        async with engine.connect() as conn:
            found = await bs.get_stripe_customer(conn, subscriber_id)
            sub = await bs.get_subscriber(conn, subscriber_id)
        if found is not None:
            return found
        assert sub is not None
        customer = await self.client.v1.customers.create_async(
            params={
                "email": sub["email"],
                "name": sub["name"] or sub["email"],
                "metadata": {"evgate_subscriber_id": str(subscriber_id)},
            },
            options={"idempotency_key": f"evgate-customer-{subscriber_id}"},
        )
        async with engine.begin() as conn:
            await bs.save_stripe_customer(conn, subscriber_id, customer.id, None, _now())
            found = await bs.get_stripe_customer(conn, subscriber_id)
        assert found is not None
        return found

    async def set_payment_method(
        self, engine: AsyncEngine, subscriber_id: int, payment_method_id: str
    ) -> None:
        """Attach a payment method (collected by the subscriber's sign-up) as the default."""
        customer = await self.ensure_customer(engine, subscriber_id)
        await self.client.v1.payment_methods.attach_async(
            payment_method_id, params={"customer": customer["customer_id"]}
        )
        async with engine.begin() as conn:
            await bs.save_stripe_customer(
                conn, subscriber_id, customer["customer_id"], payment_method_id, _now()
            )

    # -- charging -----------------------------------------------------------------------------
    async def charge_period(
        self, engine: AsyncEngine, period: str | None, retry_failed: bool = False
    ) -> list[dict[str, Any]]:
        """Charge every autopay invoice (of ``period``) not charged yet (and, with
        ``retry_failed``, those whose attempts failed: a new attempt, a new key), then repeat
        pending attempts left by a crash (same idempotency key)."""
        async with engine.connect() as conn:
            todo = await bs.autopay_invoices(conn, period, retry_failed)
            pending = await bs.pending_stripe_payments(conn, period)
        results = [await self.charge(engine, inv["id"]) for inv in todo]
        for payment in pending:
            results.append(await self._call(engine, payment))
        return results

    async def charge(self, engine: AsyncEngine, invoice_id: int) -> dict[str, Any]:
        async with engine.begin() as conn:
            invoice = await bs.lock_invoice(conn, invoice_id)
            assert invoice is not None
            attempts = [
                p for p in await bs.payments_of(conn, invoice_id) if p["method"] == "stripe"
            ]
            pending = [p for p in attempts if p["status"] == "pending"]
            if pending:
                payment = pending[0]
            else:
                attempt = len(attempts) + 1
                now = _now()
                due = invoice["total"] - invoice["credited_amount"] - invoice["paid_amount"]
                row = {
                    "invoice_id": invoice_id,
                    "method": "stripe",
                    "status": "pending",
                    "amount": due,
                    "currency": invoice["currency"],
                    "attempt": attempt,
                    "idempotency_key": idempotency_key(invoice_id, attempt),
                    "created_at": now,
                    "updated_at": now,
                }
                payment = {**row, "id": await bs.insert_payment(conn, row)}
        return await self._call(engine, payment)

    async def _call(self, engine: AsyncEngine, payment: dict[str, Any]) -> dict[str, Any]:
        async with engine.connect() as conn:
            invoice = await bs.get_invoice(conn, int(payment["invoice_id"]))
            customer = (
                await bs.get_stripe_customer(conn, invoice["subscriber_id"]) if invoice else None
            )
        assert invoice is not None
        status, failure, intent_id = "failed", None, None
        if customer is None or not customer["payment_method_id"]:
            failure = "no payment method on file: the subscriber must add a card"
        else:
            try:
                intent = await self.client.v1.payment_intents.create_async(
                    params={
                        "amount": int(payment["amount"]),
                        "currency": invoice["currency"].lower(),
                        "customer": customer["customer_id"],
                        "payment_method": customer["payment_method_id"],
                        "confirm": True,
                        "off_session": True,
                        "metadata": {
                            "evgate_invoice_id": str(invoice["id"]),
                            "evgate_payment_id": str(payment["id"]),
                            "evgate_invoice_number": str(invoice["number_text"]),
                        },
                    },
                    options={"idempotency_key": payment["idempotency_key"]},
                )
                intent_id = intent.id
                if intent.status == "succeeded":
                    status = "succeeded"
                elif intent.status in ("processing", "requires_capture"):
                    status = "pending"
                else:
                    failure = _intent_failure(intent)
            except stripe.CardError as exc:
                failure = exc.user_message or str(exc)
                err_intent = getattr(exc.error, "payment_intent", None)
                intent_id = getattr(err_intent, "id", None) if err_intent else None
            except stripe.StripeError as exc:
                failure = f"stripe: {exc.user_message or exc}"
        return await record_outcome(engine, int(payment["id"]), status, failure, intent_id)


def _intent_failure(intent: Any) -> str:
    error = getattr(intent, "last_payment_error", None)
    message = getattr(error, "message", None) if error else None
    return str(message or f"payment intent {intent.status}")


async def record_outcome(
    engine: AsyncEngine,
    payment_id: int,
    status: str,
    failure: str | None,
    intent_id: str | None,
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Record what Stripe said of an attempt (its answer to our call, or a webhook event).

    Outcomes only move forward (billing.lifecycle.outcome_applies): a succeeded attempt is
    final, so a ``payment_failed`` delivered after ``succeeded``, or any event delivered
    twice, changes nothing (``applied`` False). The invoice is locked first, then the
    attempt read again under that lock: concurrent deliveries queue and the second sees the
    first's outcome. The invoice's state is the lifecycle's; the change is audited as
    ``stripe``'s, in the same transaction.
    """
    now = _now()
    async with engine.begin() as conn:
        found = await bs.payment_by_id(conn, payment_id)
        assert found is not None
        invoice = await bs.lock_invoice(conn, int(found["invoice_id"]))
        payment = await bs.payment_by_id(conn, payment_id)
        assert invoice is not None and payment is not None
        recorded = str(payment["status"])
        applied = outcome_applies(recorded, status)
        values: dict[str, Any] = {}
        if applied:
            values = {"status": status, "failure": failure, "updated_at": now}
        if intent_id and payment["stripe_payment_intent_id"] != intent_id:
            values["stripe_payment_intent_id"] = intent_id
        if values:
            await bs.update_payment(conn, payment_id, **values)
        state = str(invoice["state"])
        if applied:
            await audit.record(
                conn,
                STRIPE,
                f"payment.{status}",
                "payment",
                payment_id,
                site_id=invoice["site_id"],
                before={"status": recorded},
                after={
                    "status": status,
                    "failure": failure,
                    "invoice": invoice["number_text"],
                    "stripe_payment_intent_id": intent_id,
                    "stripe_event_id": event_id,
                },
            )
            event = E.PAYMENT if status == "succeeded" else E.PAYMENT_FAILED
            if allowed(state, event):
                after = await settle(conn, invoice, event, STRIPE, now)
                state = after["state"]
                if status == "succeeded":
                    await mails.payment_received(conn, after, payment, after["amount_due"], now)
            elif status == "succeeded":  # paid after a credit note: a credit balance
                log.warning("stripe payment %s for a %s invoice", payment_id, state)
                await bs.update_invoice(
                    conn, invoice["id"], paid_amount=invoice["paid_amount"] + payment["amount"]
                )
            if status == "failed":
                reason = failure or ""
                await mails.card_declined(
                    conn, invoice, str(payment_id), int(payment["amount"]), reason, now
                )
    return {
        "payment_id": payment_id,
        "status": status if applied else recorded,
        "failure": failure if applied else payment["failure"],
        "invoice_state": state,
        "applied": applied,
    }


async def apply_event(engine: AsyncEngine, event: dict[str, Any]) -> str:
    """A verified webhook event: payment_intent.succeeded / payment_intent.payment_failed.

    ``applied``, ``already applied`` (a duplicate, or an outcome older than the recorded
    one), ``ignored`` (another type) or ``unknown payment``.
    """
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    if kind not in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return "ignored"
    intent_id = obj.get("id")
    async with engine.connect() as conn:
        payment = await bs.payment_by_intent(conn, intent_id) if intent_id else None
        if payment is None:
            pid = (obj.get("metadata") or {}).get("evgate_payment_id")
            payment = await bs.payment_by_id(conn, int(pid)) if pid and pid.isdigit() else None
    if payment is None:
        return "unknown payment"
    event_id = str(event["id"]) if event.get("id") else None
    if kind == "payment_intent.succeeded":
        done = await record_outcome(
            engine, payment["id"], "succeeded", None, intent_id, event_id=event_id
        )
    else:
        error = obj.get("last_payment_error") or {}
        message = error.get("message") or "failed"
        done = await record_outcome(
            engine, payment["id"], "failed", message, intent_id, event_id=event_id
        )
    return "applied" if done["applied"] else "already applied"


def _now() -> datetime:
    return datetime.now(UTC)
