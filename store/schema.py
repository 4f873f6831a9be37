"""The schema: SQLAlchemy Core tables. Money and energy are integers, times are UTC.

Migrations under store/migrations/ create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from store.metadata import BigId, metadata
from store.types import JsonText, UtcDateTime

sites = Table(
    "sites",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("tz", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    # VAT rate in basis points: 2500 = 25 %
    Column("vat_bp", Integer, nullable=False),
    Column("plan", String(16), nullable=False),  # basic | business
    Column("allow_passwordless", Boolean, nullable=False, server_default=text("false")),
    Column("invoice_series", String(32), nullable=False, server_default=""),
    Column("payment_terms_days", Integer, nullable=False, server_default=text("30")),
    Column("created_at", UtcDateTime, nullable=False),
    # who may charge off monthly payment: open (any unblocked tag) | registered (the site's)
    Column("auth_policy", String(16), nullable=False, server_default="open"),
    # the site's power limit in W, shared between its running sessions (None: no limit)
    Column("power_limit_w", BigInteger, nullable=True),
    # OCPP security profile its chargers must use: 1 Basic Auth, 2 TLS + Basic Auth,
    # 3 TLS + client certificate (gateway.security_profiles)
    Column("security_profile", Integer, nullable=False, server_default=text("1")),
)

chargers = Table(
    "chargers",
    metadata,
    Column("id", String(64), primary_key=True),  # the OCPP identity
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("password_hash", String(200), nullable=True),
    Column("state", String(16), nullable=False, server_default="approved"),  # approved | pending
    Column("monthly_payment", Boolean, nullable=False, server_default=text("false")),
    Column("tariff_id", BigInteger, nullable=True),
    Column("lenient", Boolean, nullable=False, server_default=text("false")),
    Column("max_power_w", Integer, nullable=False, server_default=text("22000")),
    Column("vendor", String(20), nullable=True),
    Column("model", String(20), nullable=True),
    Column("serial", String(25), nullable=True),
    Column("firmware", String(50), nullable=True),
    Column("last_boot_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # the OCPP subprotocol of its last connection (ocpp1.6 | ocpp2.0.1); None: never connected
    Column("ocpp_version", String(12), nullable=True),
)

# Which instance holds each connected charger's socket, so that every instance can say whether
# a charger is online anywhere; an instance counts while its heartbeat (seen_at) is fresh.
instances = Table(
    "instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

charger_presence = Table(
    "charger_presence",
    metadata,
    Column("charger_id", String(64), primary_key=True),
    Column("instance_id", String(36), nullable=False),
    Column("connection_id", String(36), nullable=False),  # the socket's own id
    Column("since", UtcDateTime, nullable=False),
    Index(None, "instance_id"),
)

connectors = Table(
    "connectors",
    metadata,
    Column("charger_id", String(64), ForeignKey("chargers.id"), primary_key=True),
    Column("connector_id", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("error_code", String(30), nullable=False, server_default="NoError"),
    Column("updated_at", UtcDateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("id_tag", String(20), nullable=False),
    Column("state", String(16), nullable=False, server_default="active"),  # active | blocked
    Column("subscriber_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),  # from then on: Expired
    UniqueConstraint("site_id", "id_tag"),
)

sessions = Table(
    "sessions",
    metadata,
    # the OCPP transactionId: a unique integer handed out by the store
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), ForeignKey("chargers.id"), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("id_tag", String(36), nullable=False),  # 1.6 idTag (20) or 2.0.1 idToken (36)
    Column("auth_status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    # the start time exactly as the charger sent it (started_at may be corrected)
    Column("charger_started_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime, nullable=True),
    Column("meter_start_wh", BigInteger, nullable=False),
    Column("meter_stop_wh", BigInteger, nullable=True),
    Column("energy_wh", BigInteger, nullable=True),
    Column("charging_s", Integer, nullable=True),
    Column("parking_s", Integer, nullable=True),
    Column("stop_reason", String(32), nullable=True),
    Column("stop_id_tag", String(36), nullable=True),
    # snapshots taken at start: later edits of the charger never change them
    Column("monthly_payment", Boolean, nullable=False),
    Column("tariff_id", BigInteger, nullable=True),
    Column("reservation_id", Integer, nullable=True),
    Column("flags", JsonText, nullable=False, server_default="[]"),
    Column("received_at", UtcDateTime, nullable=False),
    # who the session belongs to, snapshotted at StartTransaction (None on older rows: billing
    # then falls back to the token's current subscriber); added by migration 0003
    Column("subscriber_id", BigInteger, nullable=True),
    # OCPP 2.0.1: the charger's own transactionId (a string); None for a 1.6 session
    Column("transaction_ref", String(36), nullable=True),
    # OCPP 2.0.1: the remoteStartId of the RequestStartTransaction it answers (migration 0022)
    Column("remote_start_id", Integer, nullable=True),
    # a replayed StartTransaction finds its session again through this key
    UniqueConstraint(
        "charger_id", "connector_id", "id_tag", "charger_started_at", "meter_start_wh"
    ),
    UniqueConstraint("charger_id", "transaction_ref"),
    Index(None, "charger_id", "connector_id", "stopped_at"),
    Index(None, "stopped_at"),
)

meter_samples = Table(
    "meter_samples",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("session_id", BigInteger, ForeignKey("sessions.id"), nullable=True),
    Column("ts", UtcDateTime, nullable=False),
    # Energy.Active.Import.Register normalised to milli-Wh (exact for "532363.9" Wh)
    Column("energy_mwh", BigInteger, nullable=True),
    Column("power_w", Integer, nullable=True),
    Column("context", String(24), nullable=True),
    # every sampled value exactly as the charger sent it
    Column("values", JsonText, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "session_id", "ts"),
)

status_events = Table(
    "status_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("error_code", String(30), nullable=False),
    Column("info", String(50), nullable=True),
    Column("vendor_id", String(255), nullable=True),
    Column("vendor_error_code", String(50), nullable=True),
    Column("ts", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "charger_id", "connector_id", "ts"),
)

# What a 2.0.1 charger reports that is no session's: NotifyReport (a GetBaseReport's answer,
# in parts by seq_no), NotifyEvent, SecurityEventNotification, LogStatusNotification
charger_reports = Table(
    "charger_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("request_id", Integer, nullable=True),
    Column("seq_no", Integer, nullable=True),
    Column("payload", JsonText, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "charger_id", "kind", "request_id"),
)

data_transfers = Table(
    "data_transfers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("vendor_id", String(255), nullable=False),
    Column("message_id", String(50), nullable=True),
    Column("data", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(48), nullable=False),
    Column("site_id", String(64), nullable=True),
    Column("charger_id", String(64), nullable=True),
    Column("payload", JsonText, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Index(None, "published_at", "id"),
)

# Charging profiles sent to chargers (SetChargingProfile, or a RemoteStartTransaction's
# chargingProfile) with the charger's answer; an Accepted one is in force until cleared_at
# (ClearChargingProfile, or replaced by a profile of the same id or connector, purpose and
# stack level). The profile is kept as sent (JSON text): its limits stay exact.
charging_profiles = Table(
    "charging_profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), ForeignKey("chargers.id"), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),  # chargingProfileId
    Column("purpose", String(32), nullable=False),
    Column("stack_level", Integer, nullable=False),
    Column("transaction_id", BigInteger, nullable=True),  # a TxProfile's session
    Column("profile", JsonText, nullable=False),
    Column("command", String(32), nullable=False),  # set-charging-profile | remote-start-...
    Column("status", String(16), nullable=False),  # the charger's answer
    Column("set_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime, nullable=True),
    Index(None, "charger_id", "cleared_at"),
)

# Each charger's local authorization list (OCPP 1.6 Local Auth List Management): the version it
# last accepted and the entries it holds since (idTag -> idTagInfo), so that the next update
# can be a difference; ``dirty`` counts the changes of its site's tokens and subscribers not
# pushed yet (services/local_list_job.py pushes them and counts them off).
charger_local_lists = Table(
    "charger_local_lists",
    metadata,
    Column("charger_id", String(64), ForeignKey("chargers.id"), primary_key=True),
    # None: not known yet; False: the charger has no local list (or it is disabled)
    Column("supported", Boolean, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("0")),  # 0: none accepted
    Column("entries", JsonText, nullable=False, server_default="{}"),
    # the next update must be a full one (nothing accepted yet, or a VersionMismatch)
    Column("full_next", Boolean, nullable=False, server_default=text("true")),
    Column("dirty", Integer, nullable=False, server_default=text("0")),
    # the earliest expiryDate of an entry it holds as Accepted: from then on it is due again
    Column("expires_next", UtcDateTime, nullable=True),
    # the last SendLocalList's answer (Accepted, Failed, VersionMismatch, NotSupported, ...)
    Column("last_status", String(16), nullable=True),
    Column("last_version", Integer, nullable=True),
    Column("last_at", UtcDateTime, nullable=True),
    Column("accepted_at", UtcDateTime, nullable=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("retry_at", UtcDateTime, nullable=True),  # after a failure: not before then
    Index(None, "dirty"),
)

# --- the config API ---------------------------------------------------------------------------

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, server_default=""),
    # SHA-256 (hex) of the random bearer token: the token itself is never stored
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # super-admin | admin | viewer
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    # who: "token:<id> (<name>)" or "cli"
    Column("actor", String(120), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(100), nullable=False),
    Column("site_id", String(64), nullable=True),
    Column("before", JsonText, nullable=True),
    Column("after", JsonText, nullable=True),
    Index(None, "site_id", "id"),
)

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # None: a tariff any site may use (created by a super-admin)
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("currency", String(3), nullable=False),
    # the version chargers get from now on (tariff_versions.id)
    Column("current_version_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

tariff_versions = Table(
    "tariff_versions",
    metadata,
    # sessions.tariff_id holds this id: the version in force when the session started
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tariff_id", BigInteger, ForeignKey("tariffs.id"), nullable=False),
    Column("version", Integer, nullable=False),
    # the OCPI 2.2.1 tariff object as exact JSON text (numbers are never floats)
    Column("ocpi", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False, server_default=""),
    UniqueConstraint("tariff_id", "version"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("state", String(16), nullable=False),  # invited | active | suspended | cancelled
    Column("name", String(200), nullable=False, server_default=""),
    Column("email", String(254), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("payment_method", String(16), nullable=True),  # store.subscribers.PAYMENT_METHODS
    # None: the site's default payment terms
    Column("payment_terms_days", Integer, nullable=True),
    # discount in basis points: 1500 = 15 %
    Column("discount_bp", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("activated_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "site_id", "state"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # SHA-256 (hex) of the invitation token sent in the link
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False),
    Column("subscriber_id", BigInteger, ForeignKey("subscribers.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=True),
)

# --- reservations (OCPP 1.6 Reservation profile) ----------------------------------------------

# One row per reservation id a charger was sent (ReserveNow). ``state``: pending (sent, no answer
# yet, or the answer never came), active (Accepted), used (a StartTransaction took it), cancelled
# (CancelReservation Accepted), refused (any answer but Accepted). Expiry is not stored as a
# state: an active row whose expires_at has passed is expired (store.reservations.state_of).
reservations = Table(
    "reservations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), ForeignKey("chargers.id"), nullable=False),
    Column("reservation_id", Integer, nullable=False),  # the OCPP reservationId
    Column("connector_id", Integer, nullable=False),  # 0: any connector of the charger
    Column("id_tag", String(20), nullable=False),
    Column("parent_id_tag", String(20), nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),
    # the charger's answer to ReserveNow: Accepted | Faulted | Occupied | Rejected | Unavailable
    Column("status", String(16), nullable=True),
    # its answer to the last CancelReservation: Accepted | Rejected
    Column("cancel_status", String(16), nullable=True),
    Column("session_id", BigInteger, nullable=True),  # the session that used it
    Column("created_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("used_at", UtcDateTime, nullable=True),
    Column("cancelled_at", UtcDateTime, nullable=True),
    UniqueConstraint("charger_id", "reservation_id"),
    Index(None, "charger_id", "state"),
)

__all__ = [
    "BigId",
    "metadata",
    "sites",
    "chargers",
    "connectors",
    "tokens",
    "sessions",
    "meter_samples",
    "status_events",
    "data_transfers",
    "charging_profiles",
    "outbox",
    "api_tokens",
    "audit_log",
    "tariffs",
    "tariff_versions",
    "subscribers",
    "invitations",
    "reservations",
    "charger_local_lists",
]

# The billing tables live in their own module on the same metadata: importing them here makes
# ``metadata`` the whole schema for whoever imports this module (migrations, tests).
import store.avtalegiro_schema  # noqa: E402,F401
import store.billing_schema  # noqa: E402,F401
import store.firmware_schema  # noqa: E402,F401
import store.mail_schema  # noqa: E402,F401
import store.payments_schema  # noqa: E402,F401
import store.portal_schema  # noqa: E402,F401
import store.review_schema  # noqa: E402,F401
