"""The web portal's tables: its users, their sessions, and subscribers' one-time sign-in links.

Secrets are never stored: a session cookie and a sign-in link token are random, and only their
SHA-256 (hex) is kept; a password only as the gateway's scrypt hash (gateway.auth).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table

from store.metadata import BigId, metadata
from store.types import UtcDateTime

portal_users = Table(
    "portal_users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),  # stored lower-case
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # super-admin | admin | viewer
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
)

# A signed-in browser: a site user's (user_id) or a subscriber's (subscriber_id), never both.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", BigInteger, ForeignKey("portal_users.id"), nullable=True),
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
)

portal_sign_in_links = Table(
    "portal_sign_in_links",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index(None, "subscriber_id"),
)

__all__ = ["portal_sessions", "portal_sign_in_links", "portal_users"]
