"""Billing errors the user can fix: one sentence saying what was wrong and what to do."""

from __future__ import annotations


class BillingError(ValueError):
    """Bad input or a state that forbids the action (e.g. paying a credited invoice)."""


class NotFoundError(LookupError):
    """No such invoice, credit note or subscriber."""
