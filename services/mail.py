"""The mail room's use cases: queue an invitation's mail, list the outbox, retry a mail.

Billing's mails (an invoice issued, a reminder, a payment, a declined card) are queued by
billing.mails in billing's own transactions; the invitation's is queued here, in the
transaction that creates the invitation. Mails are sent by services.mail_sender, never by
the use case that queues them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing import local_forms
from mail.texts import language_of, render
from services.context import Actor
from store import audit, mail_store
from store.errors import Forbidden, Invalid


def _now() -> datetime:
    return datetime.now(UTC)


async def queue_invitation(
    conn: AsyncConnection,
    site: dict[str, Any],
    created: dict[str, Any],
    email: str,
    name: str,
    language: str,
) -> int | None:
    """The invitation's mail with its one-time link, in the invitation's transaction."""
    lang = language_of(language)
    text = render(
        "invitation",
        lang,
        {
            "name": name,
            "site_name": site.get("name") or site["id"],
            "link": created["link"],
            "expires": local_forms.date(created["expires_at"], site["tz"], lang),
        },
    )
    return await mail_store.queue(
        conn,
        kind="invitation",
        dedup_key=f"invitation:{site['id']}:{created['subscriber_id']}",
        site_id=site["id"],
        recipient=email,
        language=text.language,
        subject=text.subject,
        text_body=text.text,
        html_body=text.html,
        at=_now(),
    )


async def queue_sign_in_link(
    conn: AsyncConnection,
    site: dict[str, Any],
    subscriber: dict[str, Any],
    link: str,
    minutes: int,
) -> int | None:
    """A subscriber's one-time sign-in link by mail, in the link's transaction (one mail per
    link: a digest of its URL is in the dedup key); none for a subscriber with no address."""
    if "@" not in str(subscriber.get("email") or ""):
        return None
    text = render(
        "sign_in_link",
        language_of(str(subscriber.get("language") or "en")),
        {
            "name": subscriber.get("name") or "",
            "site_name": site.get("name") or site["id"],
            "link": link,
            "minutes": minutes,
        },
    )
    return await mail_store.queue(
        conn,
        kind="sign_in_link",
        dedup_key=f"sign_in_link:{subscriber['id']}:{sha256(link.encode()).hexdigest()[:24]}",
        site_id=site["id"],
        recipient=str(subscriber["email"]),
        language=text.language,
        subject=text.subject,
        text_body=text.text,
        html_body=text.html,
        at=_now(),
    )


def _check_may_read(actor: Actor) -> None:
    if actor.role not in ("super-admin", "admin"):
        raise Forbidden("only a super-admin or a site admin token may read the mail outbox")


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A mail as the CLI and the API show it (no bodies: an invitation's holds its link)."""
    out = {k: row[k] for k in (c.name for c in mail_store.LISTED)}
    for key in ("next_attempt_at", "created_at", "sent_at"):
        value = out[key]
        out[key] = value.isoformat().replace("+00:00", "Z") if value is not None else None
    return out


async def listing(
    conn: AsyncConnection,
    actor: Actor,
    site_id: str | None = None,
    state: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Mails newest first: every site's for a super-admin, its own site's for a site admin."""
    _check_may_read(actor)
    if state is not None and state not in mail_store.STATES:
        raise Invalid(f"state must be one of {', '.join(mail_store.STATES)}, not {state!r}")
    site = actor.visible_site(site_id)
    rows = await mail_store.list_mail(conn, site, state, limit, before_id)
    return [public(r) for r in rows]


async def retry(conn: AsyncConnection, actor: Actor, mail_id: int) -> dict[str, Any]:
    """Make a failed mail due now again, attempts from zero (a sent mail: Conflict)."""
    row = await mail_store.get(conn, mail_id)
    if row["site_id"] is None:
        actor.check_super()
    else:
        actor.check_write(row["site_id"])
    after = await mail_store.retry(conn, mail_id, _now())
    await audit.record(
        conn,
        actor.label,
        "mail.retry",
        "mail",
        mail_id,
        site_id=row["site_id"],
        before={"state": row["state"], "attempts": row["attempts"]},
        after={"state": "pending", "attempts": 0},
    )
    return public(after)
