"""Firmware Management tables (OCPP 1.6): firmware updates and diagnostics uploads asked of a
charger, and every status notification the charger sent about them.

Declared on the shared metadata (store/schema.py imports this module, so ``metadata`` is the
whole schema the migrations build). Times are UTC; sizes are integer bytes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from store.metadata import BigId, metadata
from store.types import UtcDateTime

# UpdateFirmware as sent: where the charger fetches the firmware and when; its latest status
firmware_requests = Table(
    "firmware_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("location", Text, nullable=False),
    Column("retrieve_date", UtcDateTime, nullable=False),
    Column("retries", Integer, nullable=True),
    Column("retry_interval", Integer, nullable=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(255), nullable=False),
    # when the charger answered UpdateFirmware (null: no answer came back)
    Column("answered_at", UtcDateTime, nullable=True),
    Column("status", String(32), nullable=True),  # the latest FirmwareStatusNotification
    Column("status_at", UtcDateTime, nullable=True),
    Index(None, "charger_id", "id"),
)

# GetDiagnostics as sent, the file name the charger answered, and the file it uploaded here
diagnostics_requests = Table(
    "diagnostics_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("location", Text, nullable=False),
    # sha256 (hex) of the upload token in evgate's own location; null for another location
    Column("token_digest", String(64), nullable=True, unique=True),
    Column("start_time", UtcDateTime, nullable=True),
    Column("stop_time", UtcDateTime, nullable=True),
    Column("retries", Integer, nullable=True),
    Column("retry_interval", Integer, nullable=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("file_name", String(255), nullable=True),  # GetDiagnostics.conf fileName
    Column("status", String(32), nullable=True),  # the latest DiagnosticsStatusNotification
    Column("status_at", UtcDateTime, nullable=True),
    Column("upload_name", String(255), nullable=True),
    Column("upload_size", BigInteger, nullable=True),
    Column("upload_sha256", String(64), nullable=True),
    Column("upload_path", Text, nullable=True),
    Column("uploaded_at", UtcDateTime, nullable=True),
    Index(None, "charger_id", "id"),
)

# every FirmwareStatusNotification (kind "firmware") and DiagnosticsStatusNotification
# ("diagnostics") as received, with the request it was taken to be about (null: none)
firmware_status_history = Table(
    "firmware_status_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("charger_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("request_id", BigInteger, nullable=True),
    Column("status", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "charger_id", "kind", "id"),
)
