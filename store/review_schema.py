"""A person's decision on a session its flags hold back from billing: approve (bill it
despite the flags) or exclude (never bill it), with the reason, who and when."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table

from store.metadata import metadata
from store.types import UtcDateTime

session_reviews = Table(
    "session_reviews",
    metadata,
    Column("session_id", BigInteger, ForeignKey("sessions.id"), primary_key=True),
    Column("decision", String(8), nullable=False),  # approve | exclude
    Column("reason", String(500), nullable=False),
    Column("reviewed_by", String(120), nullable=False),
    Column("reviewed_at", UtcDateTime, nullable=False),
)
