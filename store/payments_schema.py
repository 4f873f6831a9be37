"""Payments received by bank giro (Nets OCR Giro files), the ones no invoice took, and the
refunds owed to their payers. On the shared metadata (migration 0012).

The unique constraints carry the idempotency of an import: a file is stored once (its
sha256, and its transmission number per data transmitter), a transaction once (its
transmission, assignment and transaction numbers). Money is integer minor units.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from store.metadata import BigId, metadata
from store.types import JsonText, UtcDateTime

# One imported OCR Giro file (a Nets transmission).
ocr_files = Table(
    "ocr_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("data_transmitter", String(8), nullable=False),
    Column("transmission_number", String(7), nullable=False),
    Column("data_recipient", String(8), nullable=False),
    Column("nets_date", String(10), nullable=True),  # YYYY-MM-DD, Nets' processing date
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),  # the import's scope
    Column("filename", String(200), nullable=False, server_default=""),
    Column("transactions", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),  # minor units, as the file states it
    Column("summary", JsonText, nullable=False, server_default="{}"),
    Column("actor", String(120), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint("data_transmitter", "transmission_number"),
)

# Each transaction of an imported file, and what became of it.
ocr_transactions = Table(
    "ocr_transactions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("file_id", BigInteger, ForeignKey("ocr_files.id"), nullable=False),
    Column("data_transmitter", String(8), nullable=False),
    Column("transmission_number", String(7), nullable=False),
    Column("assignment_number", String(7), nullable=False),
    Column("transaction_number", Integer, nullable=False),
    Column("agreement_id", String(9), nullable=True),
    Column("account", String(11), nullable=False),  # the payee's account (the assignment's)
    Column("transaction_type", Integer, nullable=False),
    Column("kid", String(25), nullable=True),
    Column("amount", BigInteger, nullable=False),  # minor units, positive
    Column("paid_on", String(10), nullable=False),  # YYYY-MM-DD (Nets' date)
    Column("debit_account", String(11), nullable=True),  # the payer's account
    Column("outcome", String(16), nullable=False),  # matched | unmatched
    Column("payment_id", BigInteger, ForeignKey("payments.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "data_transmitter",
        "transmission_number",
        "assignment_number",
        "transaction_number",
        name="uq_ocr_transactions_identity",  # the convention's name is past PostgreSQL's 63
    ),
    Index(None, "file_id"),
)

# Money received that no invoice took: an unknown KID, an invoice already paid or credited,
# a KID found on several sites, a reversal. Open until a person assigns it to an invoice or
# marks it to be refunded to the payer.
unmatched_payments = Table(
    "unmatched_payments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),  # ocr_giro
    Column("ocr_transaction_id", BigInteger, ForeignKey("ocr_transactions.id"), unique=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("kid", String(25), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_on", String(10), nullable=False),
    Column("payer_account", String(11), nullable=True),
    # unknown_kid | ambiguous_kid | invoice_paid | invoice_credited | currency | reversal
    Column("reason", String(32), nullable=False),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=True),  # KID's invoice
    Column("state", String(16), nullable=False),  # open | assigned | refund_due
    Column("assigned_invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=True),
    Column("payment_id", BigInteger, ForeignKey("payments.id"), nullable=True),
    Column("resolved_by", String(120), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "state"),
)

# Money to pay back to a payer (an unmatched payment marked refunded-to-payer).
refunds = Table(
    "refunds",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unmatched_id", BigInteger, ForeignKey("unmatched_payments.id"), unique=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payer_account", String(11), nullable=True),
    Column("kid", String(25), nullable=True),
    Column("reason", String(200), nullable=False, server_default=""),
    # due (a bank refund to pay out; paid out: not built yet) | pending | succeeded | failed
    Column("state", String(16), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("paid_at", UtcDateTime, nullable=True),
    # a refund of a credit note (migration 0016): by Stripe for a card-paid invoice (its
    # refund id stored, the key sent so a retry never refunds twice), else by bank, to pay out
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=True),
    Column("credit_note_id", BigInteger, ForeignKey("credit_notes.id"), nullable=True, unique=True),
    Column("method", String(16), nullable=False, server_default="bank"),  # bank | stripe
    Column("stripe_refund_id", String(100), nullable=True, unique=True),
    Column("idempotency_key", String(100), nullable=True, unique=True),
    Column("failure", String(300), nullable=True),
    Index(None, "state"),
)

# Every Stripe webhook event applied, by its id (migration 0016): a delivery of an event seen
# before changes nothing.
stripe_events = Table(
    "stripe_events",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("result", String(40), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

__all__ = ["ocr_files", "ocr_transactions", "refunds", "stripe_events", "unmatched_payments"]
