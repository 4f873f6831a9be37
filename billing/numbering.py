"""Invoice and credit-note numbers: what a series is called and how a number is written.

Invoices count gap-free per series (the site's ``invoice_series``, or its id in capitals);
credit notes have their own gap-free counter in the same series, written with a ``CN-`` prefix.
The counting itself happens in the store under a row lock (store.billing_store.take_numbers).
"""

from __future__ import annotations


def invoice_series(site: dict[str, object]) -> str:
    series = str(site.get("invoice_series") or "").strip()
    return series or str(site["id"]).upper()


def credit_series(series: str) -> str:
    """The counter key of a series' credit notes."""
    return f"{series}/CN"


def invoice_number(series: str, number: int) -> str:
    return f"{series}-{number:06d}"


def credit_note_number(series: str, number: int) -> str:
    return f"CN-{series}-{number:06d}"
