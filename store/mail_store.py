"""The mail outbox's SQL: queue a mail in the caller's transaction, claim, mark, list, retry.

``queue`` runs in the transaction of the event that causes the mail (an invoice issued, a
payment recorded, an invitation made): the mail exists if and only if the event does, and
the unique ``dedup_key`` makes a second queue of the same event a no-op. The sender claims a
due mail (one attempt more, its next attempt pushed out, its Message-ID fixed) in a
transaction of its own before it talks to the SMTP server, and marks it sent after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.errors import Conflict, Invalid, NotFound
from store.mail_schema import mail_outbox

STATES = ("pending", "sent", "failed")
# what a listing shows: never the bodies (an invitation's holds its one-time link)
LISTED = tuple(
    mail_outbox.c[name]
    for name in (
        "id",
        "site_id",
        "kind",
        "dedup_key",
        "recipient",
        "language",
        "subject",
        "attachments",
        "message_id",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    )
)


def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _values(
    *,
    kind: str,
    dedup_key: str,
    site_id: str | None,
    recipient: str,
    language: str,
    subject: str,
    text_body: str,
    at: datetime,
    html_body: str | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    if not recipient or "@" not in recipient:
        raise Invalid(f"a {kind} mail needs a recipient address, not {recipient!r}")
    return {
        "site_id": site_id,
        "kind": kind,
        "dedup_key": dedup_key[:200],
        "recipient": recipient,
        "language": language,
        "subject": subject[:300],
        "text_body": text_body,
        "html_body": html_body,
        "attachments": [dict(a) for a in attachments],
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }


async def queue_many(conn: AsyncConnection, mails: Sequence[Mapping[str, Any]]) -> None:
    """Queue several mails (each the keyword arguments of ``queue``) in one statement; those
    whose dedup key is queued already are skipped."""
    if not mails:
        return
    rows = [_values(**m) for m in mails]
    stmt = _insert(conn)(mail_outbox).on_conflict_do_nothing(index_elements=["dedup_key"])
    await conn.execute(stmt, rows)


async def queue(
    conn: AsyncConnection,
    *,
    kind: str,
    dedup_key: str,
    site_id: str | None,
    recipient: str,
    language: str,
    subject: str,
    text_body: str,
    at: datetime,
    html_body: str | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> int | None:
    """Queue a mail in the caller's transaction; its id, or None when ``dedup_key`` is queued
    already (the same event never queues two mails)."""
    values = _values(
        kind=kind,
        dedup_key=dedup_key,
        site_id=site_id,
        recipient=recipient,
        language=language,
        subject=subject,
        text_body=text_body,
        at=at,
        html_body=html_body,
        attachments=attachments,
    )
    stmt = (
        _insert(conn)(mail_outbox)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(mail_outbox.c.id)
    )
    new = (await conn.execute(stmt)).scalar_one_or_none()
    return int(new) if new is not None else None


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Pending mails whose next attempt is due, oldest first."""
    query = (
        select(mail_outbox)
        .where(mail_outbox.c.state == "pending", mail_outbox.c.next_attempt_at <= now)
        .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.id)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def claim(
    conn: AsyncConnection, mail_id: int, now: datetime, until: datetime, message_id: str
) -> bool:
    """Take a due mail for one attempt: attempts + 1, not due again before ``until`` (so a
    sender that dies mid-send leaves it to be tried again then), its Message-ID fixed at the
    first attempt. False when it is no longer pending and due (sent, failed, or claimed)."""
    result = await conn.execute(
        update(mail_outbox)
        .where(
            mail_outbox.c.id == mail_id,
            mail_outbox.c.state == "pending",
            mail_outbox.c.next_attempt_at <= now,
        )
        .values(
            attempts=mail_outbox.c.attempts + 1,
            next_attempt_at=until,
            message_id=func.coalesce(mail_outbox.c.message_id, message_id),
        )
    )
    return result.rowcount == 1


async def get(conn: AsyncConnection, mail_id: int) -> dict[str, Any]:
    row = (
        (await conn.execute(select(mail_outbox).where(mail_outbox.c.id == mail_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no mail {mail_id}: see `evgate mail list`")
    return dict(row)


async def mark_sent(conn: AsyncConnection, mail_id: int, at: datetime) -> None:
    await conn.execute(
        update(mail_outbox)
        .where(mail_outbox.c.id == mail_id, mail_outbox.c.state == "pending")
        .values(state="sent", sent_at=at, last_error=None)
    )


async def mark_attempt_failed(
    conn: AsyncConnection, mail_id: int, error: str, retry_at: datetime | None
) -> None:
    """An attempt that did not deliver: pending again at ``retry_at``, or failed (None)."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["state"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    await conn.execute(
        update(mail_outbox)
        .where(mail_outbox.c.id == mail_id, mail_outbox.c.state == "pending")
        .values(**values)
    )


async def list_mail(
    conn: AsyncConnection,
    site_id: str | None = None,
    state: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Mails newest first, without their bodies; ``site_id`` None: every site's."""
    query = select(*LISTED).order_by(mail_outbox.c.id.desc()).limit(limit)
    if site_id is not None:
        query = query.where(mail_outbox.c.site_id == site_id)
    if state is not None:
        query = query.where(mail_outbox.c.state == state)
    if before_id is not None:
        query = query.where(mail_outbox.c.id < before_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def retry(conn: AsyncConnection, mail_id: int, now: datetime) -> dict[str, Any]:
    """A failed (or waiting) mail due now again, its attempts counted from zero; a sent mail
    is never sent again (Conflict)."""
    row = await get(conn, mail_id)
    if row["state"] == "sent":
        when = f" at {row['sent_at']:%Y-%m-%d %H:%M} UTC" if row["sent_at"] else ""
        raise Conflict(f"mail {mail_id} was sent{when}: a sent mail is never sent again")
    await conn.execute(
        update(mail_outbox)
        .where(mail_outbox.c.id == mail_id, mail_outbox.c.state != "sent")
        .values(state="pending", attempts=0, next_attempt_at=now)
    )
    return {**row, "state": "pending", "attempts": 0, "next_attempt_at": now}
