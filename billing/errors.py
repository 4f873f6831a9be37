"""Billing errors the user can fix: one sentence saying what was wrong and what to do."""

from __future__ import annotations

from store.errors import Invalid, NotFound


class BillingError(Invalid):
    """Bad input or a state that forbids the action (e.g. paying a credited invoice)."""


class NotFoundError(NotFound):
    """No such invoice, credit note or subscriber."""
