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
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import mails
from billing.errors import BillingError, NotFoundError
from billing.lifecycle import InvoiceEvent, allowed, outcome_applies
from billing.payments import settle
from store import audit
from store import billing_store as bs
from store import payments_store as ps

log = logging.getLogger("evgate.billing.stripe")
E = InvoiceEvent
STRIPE = "stripe"  # the audit log's actor for what Stripe's answers and events change


@dataclass(frozen=True)
class StripeSettings:
    """What the Stripe client needs; built from config.settings.Settings by config.compose."""

    api_key: str
    webhook_secret: str = ""
    api_base: str | None = None  # e.g. localstripe's http://127.0.0.1:PORT
    publishable_key: str = ""  # Stripe.js in the portal's card page (pk_live_/pk_test_)


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

    # -- a card the subscriber registers with Stripe itself -------------------------------------
    async def start_card_setup(self, engine: AsyncEngine, subscriber_id: int) -> dict[str, Any]:
        """A SetupIntent for the subscriber's Stripe customer: its client secret goes to
        Stripe's own card form (Stripe.js ``confirmCardSetup``), never a card number to us."""
        customer = await self.ensure_customer(engine, subscriber_id)
        intent = await self.client.v1.setup_intents.create_async(
            params={
                "customer": customer["customer_id"],
                "usage": "off_session",
                "metadata": {"evgate_subscriber_id": str(subscriber_id)},
            }
        )
        return {
            "subscriber_id": subscriber_id,
            "setup_intent": intent.id,
            "client_secret": intent.client_secret,
        }

    async def finish_card_setup(self, engine: AsyncEngine, setup_intent_id: str) -> dict[str, Any]:
        """The return from Stripe's form: the SetupIntent is read back from Stripe (the
        redirect's query proves nothing) and, once it succeeded, its card is the default."""
        try:
            intent = await self.client.v1.setup_intents.retrieve_async(setup_intent_id)
        except stripe.InvalidRequestError:
            raise NotFoundError(f"Stripe knows no setup intent {setup_intent_id!r}") from None
        return await save_setup(engine, _plain(intent))

    async def card_details(self, payment_method_id: str) -> dict[str, Any]:
        """Brand, last four digits and expiry of a card Stripe holds (all Stripe tells us)."""
        method = await self.client.v1.payment_methods.retrieve_async(payment_method_id)
        card = method.to_dict().get("card") or {}
        return {k: card.get(k) for k in ("brand", "last4", "exp_month", "exp_year")}

    # -- charging -----------------------------------------------------------------------------
    async def charge_period(
        self, engine: AsyncEngine, period: str | None, retry_failed: bool = False
    ) -> list[dict[str, Any]]:
        """Charge every autopay invoice (of ``period``) of the sites that charge at issue not
        charged yet (and, with ``retry_failed``, those whose attempts failed: a new attempt, a
        new key), then repeat pending attempts left by a crash (same idempotency key)."""
        async with engine.connect() as conn:
            todo = await bs.autopay_invoices(conn, period, retry_failed)
            pending = await bs.pending_stripe_payments(conn, period)
        results = [await self.charge(engine, inv["id"]) for inv in todo]
        for payment in pending:
            results.append(await self._call(engine, payment))
        return results

    async def daily(self, engine: AsyncEngine, now: datetime) -> dict[str, Any]:
        """The daily card job: the first charge of invoices whose site charges on the due date
        (due by now), a new attempt for each declined one whose site's retry interval has
        passed (up to its retries), attempts and refunds a crash left pending."""
        async with engine.connect() as conn:
            first = await bs.autopay_invoices(conn, charge_at="due", due_by=now)
            failed = await bs.autopay_invoices(conn, retry_failed=True, charge_at=None)
            pending = await bs.pending_stripe_payments(conn, None)
        retry = [
            inv
            for inv in failed
            if 0 < inv["card_attempts"] <= inv["card_retries"]
            and inv["last_card_attempt_at"] is not None
            and now - _aware(inv["last_card_attempt_at"]) >= timedelta(days=inv["card_retry_days"])
        ]
        charged = [await self.charge(engine, inv["id"]) for inv in first]
        retried = [await self.charge(engine, inv["id"]) for inv in retry]
        repeated = [await self._call(engine, p) for p in pending]
        refunds = await self.send_refunds(engine)
        return {"charged": charged, "retried": retried, "repeated": repeated, "refunds": refunds}

    async def retry(self, engine: AsyncEngine, number: str) -> dict[str, Any]:
        """A super-admin's retry of a declined card now: a new attempt with its own key."""
        async with engine.connect() as conn:
            invoice = await bs.get_invoice(conn, number)
            if invoice is None:
                raise NotFoundError(f"no invoice {number!r}: see `evgate invoices list`")
            attempts = [
                p for p in await bs.payments_of(conn, int(invoice["id"])) if p["method"] == "stripe"
            ]
        if invoice["payment_method"] != "stripe":
            raise BillingError(f"invoice {number} is not paid by card")
        if invoice["state"] not in ("issued", "overdue"):
            raise BillingError(f"invoice {number} is {invoice['state']}: nothing to charge")
        if any(p["status"] in ("pending", "succeeded") for p in attempts):
            raise BillingError(f"invoice {number} has a card payment in flight or done")
        return await self.charge(engine, int(invoice["id"]))

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

    # -- refunds ------------------------------------------------------------------------------
    async def send_refunds(self, engine: AsyncEngine) -> list[dict[str, Any]]:
        """Send every pending card refund (billing.refunds), each with its own key: one just
        recorded, or one a crash left unsent (Stripe answers a repeat with the first refund)."""
        async with engine.connect() as conn:
            todo = await ps.pending_card_refunds(conn)
        return [await self._refund(engine, refund) for refund in todo]

    async def _refund(self, engine: AsyncEngine, refund: dict[str, Any]) -> dict[str, Any]:
        async with engine.connect() as conn:
            paid = [
                p
                for p in await bs.payments_of(conn, int(refund["invoice_id"]))
                if p["method"] == "stripe" and p["status"] == "succeeded"
            ]
        intent = next((p["stripe_payment_intent_id"] for p in reversed(paid)), None)
        status, failure, stripe_id = "failed", None, None
        if intent is None:
            failure = "no card payment to refund"
        else:
            try:
                done = await self.client.v1.refunds.create_async(
                    params={
                        "payment_intent": intent,
                        "amount": int(refund["amount"]),
                        "metadata": {"evgate_refund_id": str(refund["id"])},
                    },
                    options={"idempotency_key": refund["idempotency_key"]},
                )
                stripe_id = done.id
                status = {"succeeded": "succeeded", "pending": "pending"}.get(
                    str(done.status), "failed"
                )
                if status == "failed":
                    failure = f"refund {done.status}"
            except stripe.StripeError as exc:
                failure = f"stripe: {exc.user_message or exc}"
        return await record_refund(engine, int(refund["id"]), status, failure, stripe_id)


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


async def record_refund(
    engine: AsyncEngine,
    refund_id: int,
    status: str,
    failure: str | None,
    stripe_id: str | None,
) -> dict[str, Any]:
    """What Stripe said of a refund: only a pending one moves (to succeeded or failed). A
    succeeded refund lowers what the invoice was paid (``refund``); a failed one gives the
    money back to the subscriber's credit balance, to be carried or refunded again."""
    now = _now()
    async with engine.begin() as conn:
        found = await ps.refund_by_id(conn, refund_id)
        assert found is not None
        invoice = await bs.lock_invoice(conn, int(found["invoice_id"]))
        refund = await ps.refund_by_id(conn, refund_id)
        assert invoice is not None and refund is not None
        applied = refund["state"] == "pending" and status != "pending"
        values: dict[str, Any] = {}
        if stripe_id and refund["stripe_refund_id"] != stripe_id:
            values["stripe_refund_id"] = stripe_id
        if applied:
            values.update(state=status, failure=failure)
        if values:
            await ps.update_refund(conn, refund_id, **values)
        if applied:
            money = await bs.payment_by_key(conn, f"{refund['idempotency_key']}-payment")
            assert money is not None
            await bs.update_payment(conn, int(money["id"]), status=status, updated_at=now)
            await audit.record(
                conn,
                STRIPE,
                f"refund.{status}",
                "invoice",
                invoice["number_text"],
                site_id=invoice["site_id"],
                after={
                    "refund": refund_id,
                    "amount": refund["amount"],
                    "failure": failure,
                    "stripe_refund_id": stripe_id or refund["stripe_refund_id"],
                },
            )
            if status == "succeeded":
                await settle(conn, invoice, E.REFUND, STRIPE, now)
    return {
        "refund_id": refund_id,
        "state": status if applied else refund["state"],
        "stripe_refund_id": stripe_id or refund["stripe_refund_id"],
        "applied": applied,
    }


async def apply_event(engine: AsyncEngine, event: dict[str, Any]) -> str:
    """A verified webhook event, applied once by its id (``already applied`` for an id seen
    before): payment_intent.succeeded / payment_intent.payment_failed, charge.refunded and
    refund.updated (a refund's outcome), setup_intent.succeeded (a card registered)."""
    event_id = str(event["id"]) if event.get("id") else None
    if event_id is not None:
        async with engine.connect() as conn:
            if await ps.event_seen(conn, event_id):
                return "already applied"
    result = await _apply(engine, event)
    if event_id is not None and result != "ignored":
        async with engine.begin() as conn:
            await ps.record_event(conn, event_id, str(event.get("type", "")), result, _now())
    return result


async def _apply_refunds(engine: AsyncEngine, kind: str, obj: dict[str, Any]) -> str:
    listed = (obj.get("refunds") or {}).get("data") or [] if kind == "charge.refunded" else [obj]
    applied = False
    for item in listed:
        async with engine.connect() as conn:
            refund = await ps.refund_by_stripe_id(conn, str(item.get("id")))
        if refund is None:
            continue
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            str(item.get("status")), "pending"
        )
        failure = None if status != "failed" else str(item.get("failure_reason") or "failed")
        done = await record_refund(engine, int(refund["id"]), status, failure, None)
        applied = applied or bool(done["applied"])
    return "applied" if applied else "already applied" if listed else "unknown refund"


def _plain(obj: Any) -> dict[str, Any]:
    """A SetupIntent as the webhook's JSON would carry it."""
    found = obj.to_dict()
    return {k: found.get(k) for k in ("id", "status", "customer", "payment_method", "metadata")}


async def save_setup(engine: AsyncEngine, intent: dict[str, Any]) -> dict[str, Any]:
    """A succeeded SetupIntent of a subscriber's customer: its card becomes their default and
    they pay by card from the next invoice on. Refused (BillingError) otherwise."""
    sid = str((intent.get("metadata") or {}).get("evgate_subscriber_id", ""))
    if intent.get("status") != "succeeded":
        raise BillingError(f"the card was not registered (setup {intent.get('status')})")
    async with engine.begin() as conn:
        customer = await bs.get_stripe_customer(conn, int(sid)) if sid.isdigit() else None
        if customer is None or customer["customer_id"] != intent.get("customer"):
            raise BillingError("this setup intent belongs to no subscriber of evgate")
        method = str(intent["payment_method"])
        if customer["payment_method_id"] != method:
            await bs.save_stripe_customer(conn, int(sid), customer["customer_id"], method, _now())
            await bs.set_payment_method(conn, int(sid), "stripe")
            sub = await bs.get_subscriber(conn, int(sid))
            await audit.record(
                conn,
                STRIPE,
                "subscriber.card",
                "subscriber",
                int(sid),
                site_id=sub["site_id"] if sub else None,
                after={"payment_method": "stripe", "setup_intent": intent.get("id")},
            )
    return {"subscriber_id": int(sid), "payment_method": "stripe", "card": method}


async def _apply_setup(engine: AsyncEngine, obj: dict[str, Any]) -> str:
    try:
        await save_setup(engine, obj)
    except BillingError:
        return "unknown setup"
    return "applied"


async def _apply(engine: AsyncEngine, event: dict[str, Any]) -> str:
    """A verified webhook event: payment_intent.succeeded / payment_intent.payment_failed.

    ``applied``, ``already applied`` (a duplicate, or an outcome older than the recorded
    one), ``ignored`` (another type) or ``unknown payment``.
    """
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    if kind in ("charge.refunded", "refund.updated"):
        return await _apply_refunds(engine, kind, obj)
    if kind == "setup_intent.succeeded":
        return await _apply_setup(engine, obj)
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


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)
