"""AvtaleGiro (Norwegian direct debit through Nets), on the shared metadata (migration 0019).

A site's bank agreement (its Nets customer unit, agreement id and the account claims are
paid into), each subscriber's mandate (the KID the payer registered it with, and whether the
bank notifies the payer of each claim), the claim files evgate wrote and every invoice it
claimed (once: ``UNIQUE(invoice_id)``), and the mandate files it read (once: their sha256).
Money is integer øre.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Table

from store.metadata import BigId, metadata
from store.types import JsonText, UtcDateTime

# The site's AvtaleGiro agreement with Nets (what its claim files are written for).
avtalegiro_agreements = Table(
    "avtalegiro_agreements",
    metadata,
    Column("site_id", String(64), ForeignKey("sites.id"), primary_key=True),
    Column("customer_unit", String(8), nullable=False),  # Nets' customer unit id: the sender
    Column("agreement_id", String(9), nullable=True),  # Nets' agreement id
    Column("account", String(11), nullable=False),  # the account the claims are paid into
    Column("updated_by", String(120), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A subscriber's AvtaleGiro mandate: registered by the payer in their bank with a KID.
avtalegiro_mandates = Table(
    "avtalegiro_mandates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), nullable=False, unique=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("kid", String(25), nullable=False),
    Column("notify", Boolean, nullable=False),  # the bank notifies the payer of each claim
    Column("active", Boolean, nullable=False),
    Column("updated_by", String(120), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A claim file written (one Nets transmission; its number is the row's id).
avtalegiro_claim_files = Table(
    "avtalegiro_claim_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("transmission_number", String(7), nullable=False),
    Column("claims", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# An invoice claimed by AvtaleGiro: once (a later file repeats it only when asked).
avtalegiro_claims = Table(
    "avtalegiro_claims",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False, unique=True),
    Column("file_id", BigInteger, ForeignKey("avtalegiro_claim_files.id"), nullable=False),
    Column("kid", String(25), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("due_on", String(10), nullable=False),  # YYYY-MM-DD
    Column("notify", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# A mandate file read (Nets' AvtaleGiro agreements assignment): once by its sha256.
avtalegiro_mandate_files = Table(
    "avtalegiro_mandate_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("transmission_number", String(7), nullable=False),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("summary", JsonText, nullable=False, server_default="{}"),
    Column("actor", String(120), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)

__all__ = [
    "avtalegiro_agreements",
    "avtalegiro_claim_files",
    "avtalegiro_claims",
    "avtalegiro_mandate_files",
    "avtalegiro_mandates",
]
