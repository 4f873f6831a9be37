"""The mail outbox: one row per e-mail evgate sends, written with the event that causes it.

A mail is queued in the same transaction as its event (an invoice issued, a payment recorded,
an invitation made) and sent later by the mail sender; ``dedup_key`` (for instance
``invoice_issued:S1:OSL-000012``) is unique, so the same event never queues two mails.
Attachments are references (an invoice number, a reminder's number) rendered at send time.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, text

from store.metadata import BigId, metadata
from store.types import JsonText, UtcDateTime

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), nullable=True),
    # invitation | sign_in_link | invoice_issued | payment_received | reminder | card_declined
    Column("kind", String(24), nullable=False),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("recipient", String(254), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("subject", String(300), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=True),
    # [{"invoice_number": "OSL-000012"}, {"invoice_number": ..., "reminder": 1}]
    Column("attachments", JsonText, nullable=False, server_default="[]"),
    # <hash of dedup_key@EVGATE_MAIL_DOMAIN>, fixed at the first attempt and kept for resends
    Column("message_id", String(300), nullable=True),
    Column("state", String(8), nullable=False, server_default="pending"),  # pending|sent|failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Index(None, "state", "next_attempt_at"),
    Index(None, "site_id", "id"),
)
