"""OCPP 2.0.1's store side: sessions found by the charger's own transactionId, the version a
charger speaks, and the reports a 2.0.1 charger sends that belong to no session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.schema import charger_reports, chargers, meter_samples, sessions

_BY_REF = select(sessions).where(
    sessions.c.charger_id == bindparam("charger_id"),
    sessions.c.transaction_ref == bindparam("ref"),
)


async def session_by_ref(
    conn: Batch | AsyncConnection, charger_id: str, ref: str
) -> dict[str, Any] | None:
    """The session of a charger's 2.0.1 transactionId, if it is known."""
    row = (await conn.execute(_BY_REF, {"charger_id": charger_id, "ref": ref})).mappings().first()
    return dict(row) if row is not None else None


_LAST_SAMPLE = select(func.max(meter_samples.c.ts)).where(
    meter_samples.c.session_id == bindparam("session_id")
)


async def last_sample_at(conn: AsyncConnection, session_id: int) -> datetime | None:
    """When the newest stored sample of a session was taken (a replay is not newer)."""
    value = (await conn.execute(_LAST_SAMPLE, {"session_id": session_id})).scalar_one_or_none()
    return value if isinstance(value, datetime) or value is None else None


_VERSION = update(chargers).where(chargers.c.id == bindparam("b_charger_id"))


def record_version(batch: Batch, charger_id: str, version: str) -> None:
    """The subprotocol the charger connected with (queued: one executemany)."""
    batch.add_params(_VERSION, [{"b_charger_id": charger_id, "ocpp_version": version}])


def add_report(
    batch: Batch,
    charger_id: str,
    kind: str,
    payload: dict[str, Any],
    at: datetime,
    request_id: int | None = None,
    seq_no: int | None = None,
) -> None:
    batch.add_rows(
        charger_reports,
        [
            {
                "charger_id": charger_id,
                "kind": kind,
                "request_id": request_id,
                "seq_no": seq_no,
                "payload": payload,
                "received_at": at,
            }
        ],
    )
