"""Billing tables, declared on the shared metadata so migrations and tests see them.

Money is integer minor units, times are UTC, billing periods are "YYYY-MM" strings of the
site's local calendar. The unique constraints carry the billing rules: one automatic invoice
per subscriber and period, a session on exactly one invoice, gap-free numbers per series.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    text,
)

from store.metadata import BigId, metadata
from store.types import JsonText, UtcDateTime

# Counters for gap-free numbering: one row per series ("<series>" for invoices,
# "<series>/CN" for credit notes). Incremented under a row lock inside the issuing transaction.
number_series = Table(
    "number_series",
    metadata,
    Column("series", String(48), primary_key=True),
    Column("last_number", BigInteger, nullable=False, server_default=text("0")),
)

billing_runs = Table(
    "billing_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False),  # YYYY-MM
    Column("site_id", String(64), nullable=True),  # None: every site
    Column("state", String(16), nullable=False),  # running | done
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    # counts, totals per currency and held-back sessions (ids and reasons)
    Column("report", JsonText, nullable=False, server_default="{}"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("state", String(16), nullable=False),  # draft|issued|overdue|paid|credited
    Column("series", String(48), nullable=False),
    Column("number", BigInteger, nullable=True),  # given at issue, gap-free per series
    Column("number_text", String(64), nullable=True, unique=True),
    # bank giro reference, given at issue with the number (billing/kid.py), never recomputed
    Column("kid", String(25), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("net", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    # [{"vat_bp": 2500, "net": 1234, "vat": 309}, ...]
    Column("vat_breakdown", JsonText, nullable=False, server_default="[]"),
    Column("paid_amount", BigInteger, nullable=False, server_default=text("0")),
    Column("credited_amount", BigInteger, nullable=False, server_default=text("0")),
    Column("payment_method", String(16), nullable=False, server_default="manual"),
    Column("run_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("issued_at", UtcDateTime, nullable=True),
    Column("due_at", UtcDateTime, nullable=True),
    Column("paid_at", UtcDateTime, nullable=True),
    Column("reminders_sent", Integer, nullable=False, server_default=text("0")),
    Column("last_reminder_at", UtcDateTime, nullable=True),
    # who sold and who bought, as they were at issue (sellers/buyers rows): re-renders of an
    # issued invoice never change; None on invoices issued before these were kept
    Column("seller", JsonText, nullable=True),
    Column("buyer", JsonText, nullable=True),
    # 'automatic' (the monthly run's: one per subscriber and period) or 'manual' (made by
    # hand, any number; billing/manual.py)
    Column("kind", String(16), nullable=False, server_default="automatic"),
    UniqueConstraint("series", "number"),
    UniqueConstraint("site_id", "kid"),
    Index(None, "state", "due_at"),
    Index(None, "site_id", "period"),
    # the run's one invoice per subscriber and period; manual invoices are not counted
    Index(
        "uq_invoices_automatic_subscriber_period",
        "subscriber_id",
        "period",
        unique=True,
        sqlite_where=text("kind = 'automatic'"),
        postgresql_where=text("kind = 'automatic'"),
    ),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # session | fee | discount
    Column("description", String(200), nullable=False, server_default=""),
    Column("session_id", BigInteger, nullable=True),
    Column("charger_id", String(64), nullable=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("stopped_at", UtcDateTime, nullable=True),
    Column("energy_wh", BigInteger, nullable=True),
    Column("charging_s", Integer, nullable=True),
    Column("parking_s", Integer, nullable=True),
    Column("late", Boolean, nullable=False, server_default=text("false")),
    Column("net", BigInteger, nullable=False),
    Column("vat_bp", Integer, nullable=False),
    # the tariff's unit prices that priced a session line (billing/unit_prices.py)
    Column("unit_prices", String(200), nullable=True),
    # a manual invoice's line ('item'): quantity in thousandths and unit price (minor units)
    Column("quantity_milli", BigInteger, nullable=True),
    Column("unit_price", BigInteger, nullable=True),
    Index(None, "invoice_id", "position"),
)

# A session is billed exactly once: enforced here, not only by the code.
invoice_sessions = Table(
    "invoice_sessions",
    metadata,
    Column("session_id", BigInteger, ForeignKey("sessions.id"), primary_key=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Index(None, "invoice_id"),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Column("series", String(48), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("number_text", String(64), nullable=False, unique=True),
    Column("full", Boolean, nullable=False),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("net", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("vat_breakdown", JsonText, nullable=False, server_default="[]"),
    Column("issued_at", UtcDateTime, nullable=False),
    UniqueConstraint("series", "number"),
    Index(None, "invoice_id"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Column("method", String(16), nullable=False),  # stripe | offline | ocr_giro
    Column("status", String(16), nullable=False),  # pending | succeeded | failed
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_on", String(10), nullable=True),  # YYYY-MM-DD (offline payments)
    Column("reference", String(200), nullable=False, server_default=""),
    Column("attempt", Integer, nullable=True),
    # deterministic for Stripe ("invoice-<id>-attempt-<n>"): a retry never charges twice
    Column("idempotency_key", String(100), nullable=True, unique=True),
    Column("stripe_payment_intent_id", String(100), nullable=True, unique=True),
    Column("failure", String(300), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "invoice_id"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("invoice_id", BigInteger, ForeignKey("invoices.id"), nullable=False),
    Column("n", Integer, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    UniqueConstraint("invoice_id", "n"),
)

# Fixed fees of a subscriber's plan: monthly (in arrears, with the month's usage) or quarterly /
# yearly (billed in advance, on the invoice issued at the start of each fee period).
subscriber_plans = Table(
    "subscriber_plans",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), nullable=False),
    Column("description", String(200), nullable=False),
    Column("amount", BigInteger, nullable=False),  # net, minor units, per fee period
    Column("period_months", Integer, nullable=False),  # 1 | 3 | 12
    Column("vat_bp", Integer, nullable=True),  # None: the site's rate
    Column("first_period", String(7), nullable=False),  # YYYY-MM the plan starts
    Column("last_period", String(7), nullable=True),  # YYYY-MM it ends (inclusive)
    # several lines sold together share a bundle name; a one-off charge is one month's plan
    Column("bundle", String(100), nullable=True),
    Column("one_off", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=True),
    Index(None, "subscriber_id"),
)

# Per-site billing settings: dunning (Norway caps reminder fees: make them configurable)
# and the KID mode of its invoices.
billing_settings = Table(
    "billing_settings",
    metadata,
    Column("site_id", String(64), ForeignKey("sites.id"), primary_key=True),
    Column("reminder_count", Integer, nullable=False, server_default=text("2")),
    Column("reminder_interval_days", Integer, nullable=False, server_default=text("14")),
    Column("reminder_fee", BigInteger, nullable=False, server_default=text("0")),
    # how invoice KIDs get their check digit: mod10 | mod11 (billing/kid.py)
    Column("kid_mode", String(8), nullable=False, server_default="mod10"),
    # the legal cap per reminder (minor units) and how many reminders may carry a fee;
    # NULL: the default for the site's currency (billing.dunning_rules.LAWS)
    Column("reminder_fee_cap", BigInteger, nullable=True),
    Column("fee_reminders", Integer, nullable=True),
    # cards: charged at issue or on the due date; a declined charge retried this many times,
    # this many days apart (migration 0016)
    Column("card_charge_at", String(8), nullable=False, server_default="issue"),
    Column("card_retries", Integer, nullable=False, server_default=text("3")),
    Column("card_retry_days", Integer, nullable=False, server_default=text("3")),
)

# A site's seller details for its invoices (billing/parties.py: compact, checked forms).
# vat_number None: not VAT registered. bank_account: Norwegian 11-digit kontonr.
sellers = Table(
    "sellers",
    metadata,
    Column("site_id", String(64), ForeignKey("sites.id"), primary_key=True),
    Column("legal_name", String(200), nullable=True),
    Column("street", String(200), nullable=True),
    Column("postcode", String(16), nullable=True),
    Column("city", String(100), nullable=True),
    Column("country", String(2), nullable=False, server_default="NO"),
    Column("orgnr", String(32), nullable=True),
    Column("vat_number", String(40), nullable=True),
    Column("foretaksregisteret", Boolean, nullable=False, server_default=text("false")),
    Column("f_skatt", Boolean, nullable=False, server_default=text("false")),
    Column("bank_account", String(11), nullable=True),
    Column("iban", String(34), nullable=True),
    Column("bic", String(11), nullable=True),
    Column("invoice_email", String(254), nullable=True),
    # PNG or JPEG bytes printed at the top of its documents (billing.parties.check_logo)
    Column("logo", LargeBinary, nullable=True),
)

# A subscriber's buyer details: billing address and, for a company, its numbers.
# document_format None: EHF for a company (an org number), else PDF.
buyers = Table(
    "buyers",
    metadata,
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), primary_key=True),
    Column("street", String(200), nullable=True),
    Column("postcode", String(16), nullable=True),
    Column("city", String(100), nullable=True),
    Column("country", String(2), nullable=False, server_default="NO"),
    Column("orgnr", String(32), nullable=True),
    Column("vat_number", String(40), nullable=True),
    Column("buyer_reference", String(100), nullable=True),
    Column("document_format", String(8), nullable=True),
)

# A subscriber's Stripe customer and default payment method.
stripe_customers = Table(
    "stripe_customers",
    metadata,
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), primary_key=True),
    Column("customer_id", String(100), nullable=False, unique=True),
    Column("payment_method_id", String(100), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

__all__ = [
    "billing_runs",
    "billing_settings",
    "buyers",
    "credit_notes",
    "invoice_lines",
    "invoice_sessions",
    "invoices",
    "number_series",
    "payments",
    "reminders",
    "sellers",
    "stripe_customers",
    "subscriber_plans",
]
