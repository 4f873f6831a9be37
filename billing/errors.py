"""Billing errors the user can fix: one sentence saying what was wrong and what to do."""

from __future__ import annotations

from store.errors import Invalid, NotFound


class BillingError(Invalid):
    """Bad input or a state that forbids the action (e.g. paying a credited invoice)."""


class NotFoundError(NotFound):
    """No such invoice, credit note or subscriber."""


class InvoiceStateError(BillingError):
    """The invoice's state does not allow the event (billing/lifecycle.py's TRANSITIONS)."""

    def __init__(
        self, state: str, event: str, target: str | None = None, *, message: str = ""
    ) -> None:
        self.state, self.event, self.target = str(state), str(event), target
        if message:
            text = message
        elif target is None:
            text = f"an invoice that is {state} cannot take the event '{event}'"
        else:
            text = f"the event '{event}' may not take an invoice from {state} to {target}"
        super().__init__(text)


class WebhookRefused(BillingError):
    """A Stripe webhook that cannot be verified (no secret, bad signature, not JSON)."""
