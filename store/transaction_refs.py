"""OCPP 2.0.1's store side: sessions found by the charger's own transactionId, the version a
charger speaks, and the reports a 2.0.1 charger sends that belong to no session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.schema import (
    charger_reports,
    chargers,
    meter_samples,
    sessions,
    sites,
    subscribers,
    tokens,
)

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


# a session opened without a token: the session's monthly-payment snapshot and the token on
# its charger's site (its state, its subscriber's state and id, its expiry, the site's policy)
_TOKEN_FOR_SESSION = (
    select(
        sessions.c.monthly_payment,
        tokens.c.state,
        subscribers.c.state,
        tokens.c.expires_at,
        sites.c.auth_policy,
        tokens.c.subscriber_id,
    )
    .select_from(
        sessions.join(chargers, chargers.c.id == sessions.c.charger_id)
        .outerjoin(sites, sites.c.id == chargers.c.site_id)
        .outerjoin(
            tokens,
            and_(tokens.c.site_id == chargers.c.site_id, tokens.c.id_tag == bindparam("id_tag")),
        )
        .outerjoin(subscribers, subscribers.c.id == tokens.c.subscriber_id)
    )
    .where(sessions.c.id == bindparam("session_id"))
)

_IDENTIFY = (
    update(sessions)
    .where(sessions.c.id == bindparam("b_session_id"), sessions.c.id_tag == "")
    .values(
        id_tag=bindparam("b_id_tag"),
        auth_status=bindparam("b_status"),
        subscriber_id=bindparam("b_subscriber_id"),
    )
)


async def token_for_session(
    batch: Batch, session_id: int, id_tag: str
) -> tuple[tuple[bool, str | None, str | None, datetime | None, str], int | None]:
    """What deciding on a late token needs: `gateway.service.decide`'s facts, and who owns
    the token on the session's site now (the subscriber who pays)."""
    row = (
        await batch.execute(_TOKEN_FOR_SESSION, {"session_id": session_id, "id_tag": id_tag})
    ).first()
    if row is None:
        return (False, None, None, None, "open"), None
    paid, state, sub_state, expires, policy, owner = row
    return (bool(paid), state, sub_state, expires, policy or "open"), owner


async def identify_session(
    batch: Batch, session_id: int, id_tag: str, status: str, subscriber_id: int | None
) -> bool:
    """Give a session opened without a token its token, once (a session that has one keeps
    it): True when this call gave it."""
    result = await batch.execute(
        _IDENTIFY,
        {
            "b_session_id": session_id,
            "b_id_tag": id_tag,
            "b_status": status,
            "b_subscriber_id": subscriber_id,
        },
    )
    return bool(result.rowcount)
