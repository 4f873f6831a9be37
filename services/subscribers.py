"""Subscribers of a site and their invitations: invite, accept, change, suspend, cancel, tokens.

States (docs/domain.md): invited -> active -> suspended <-> active; any but cancelled ->
cancelled. Each write checks the actor may change the subscriber's site and is audited in
the caller's transaction; accepting an invitation is done by whoever holds its link
(``services.context.INVITEE``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services import leaving, mail
from services.context import INVITEE, Actor
from store import admin, audit, local_lists, subscribers

# what the mail's link opens: the portal's page (portal/invite_pages.py), a form that accepts;
# the JSON side stays at /api/v1/invitations/{token} (GET shows, POST .../accept)
INVITATION_PATH = "/invite/"


def invitation_link(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{INVITATION_PATH}{token}"


async def invite(
    conn: AsyncConnection,
    actor: Actor,
    site_id: str,
    email: str,
    *,
    name: str = "",
    language: str = "en",
    link_base: str | None = None,
) -> dict[str, Any]:
    """An invited subscriber and its invitation token (returned once; stored hashed).

    With ``link_base`` (the public URL the invitee reaches evgate at) the invitation's link
    is returned as ``link`` and its mail queued in this transaction (services.mail)."""
    actor.check_write(site_id)
    site = await admin.get_site(conn, site_id)
    created = await subscribers.invite(conn, site_id, email, name=name, language=language)
    if link_base is not None:
        created["link"] = invitation_link(link_base, created["token"])
        await mail.queue_invitation(conn, site, created, email, name, language)
    await audit.record(
        conn,
        actor.label,
        "subscriber.invite",
        "subscriber",
        created["subscriber_id"],
        site_id=site_id,
        after={"email": email, "state": "invited", "expires_at": created["expires_at"]},
    )
    return created


async def readable(conn: AsyncConnection, actor: Actor, subscriber_id: int) -> dict[str, Any]:
    """The subscriber with its tokens, if the actor may see its site."""
    row = await subscribers.get_subscriber(conn, subscriber_id)
    actor.check_read(row["site_id"])
    return row


async def _writable(conn: AsyncConnection, actor: Actor, subscriber_id: int) -> dict[str, Any]:
    row = await readable(conn, actor, subscriber_id)
    actor.check_write(row["site_id"])
    return row


async def update(
    conn: AsyncConnection, actor: Actor, subscriber_id: int, values: dict[str, Any]
) -> dict[str, Any]:
    """Change name, e-mail, language, payment method or terms, discount; returns it after."""
    row = await _writable(conn, actor, subscriber_id)
    before, after = await subscribers.update_subscriber(conn, subscriber_id, values)
    await audit.record(
        conn,
        actor.label,
        "subscriber.update",
        "subscriber",
        subscriber_id,
        site_id=row["site_id"],
        before=before,
        after=after,
    )
    return after


async def transition(
    conn: AsyncConnection, actor: Actor, subscriber_id: int, action: str
) -> dict[str, Any]:
    """suspend / reactivate / cancel; returns the subscriber after. A cancellation also ends
    the subscriber's fees and credits what was paid ahead (services.leaving)."""
    row = await _writable(conn, actor, subscriber_id)
    before, after = await subscribers.transition(conn, subscriber_id, action)
    if action == "cancel":
        await leaving.leave(conn, actor.label, after, datetime.now(UTC))
    await local_lists.mark_site(conn, row["site_id"])  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        f"subscriber.{action}",
        "subscriber",
        subscriber_id,
        site_id=row["site_id"],
        before={"state": before["state"]},
        after={"state": after["state"]},
    )
    return after


async def add_token(
    conn: AsyncConnection, actor: Actor, subscriber_id: int, id_tag: str
) -> dict[str, Any]:
    """Give a subscriber an RFID token of its site (a new one, or one with no owner yet)."""
    row = await _writable(conn, actor, subscriber_id)
    added = await subscribers.add_token(conn, subscriber_id, id_tag)
    await local_lists.mark_site(conn, row["site_id"])  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        "subscriber.token_add",
        "subscriber",
        subscriber_id,
        site_id=row["site_id"],
        after=added,
    )
    return added


async def remove_token(
    conn: AsyncConnection, actor: Actor, subscriber_id: int, id_tag: str
) -> None:
    """Take a token away from a subscriber (the card is deleted from the site)."""
    row = await _writable(conn, actor, subscriber_id)
    await subscribers.remove_token(conn, subscriber_id, id_tag)
    await local_lists.mark_site(conn, row["site_id"])  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        "subscriber.token_remove",
        "subscriber",
        subscriber_id,
        site_id=row["site_id"],
        before={"id_tag": id_tag},
    )


async def invitation(conn: AsyncConnection, token: str) -> dict[str, Any]:
    """What an invitation is for: anyone holding the token may read it. Once accepted, the
    token (in a forwarded mail, a browser's history) no longer shows whom it was for."""
    inv = await subscribers.invitation(conn, token)
    accepted = inv["accepted_at"] is not None
    return {
        "site_id": inv["site_id"],
        "site_name": inv["site_name"],
        "email": None if accepted else inv["email"],
        "name": None if accepted else inv["name"],
        "language": inv["language"],
        "expires_at": inv["expires_at"],
        "accepted": accepted,
    }


async def accept(
    conn: AsyncConnection,
    token: str,
    *,
    name: str,
    email: str,
    language: str,
    payment_method: str,
    actor: Actor = INVITEE,
) -> dict[str, Any]:
    """Turn an invitation into an active subscriber (the token works once); returns it."""
    subscriber_id = await subscribers.accept(
        conn, token, name=name, email=email, language=language, payment_method=payment_method
    )
    row = await subscribers.get_subscriber(conn, subscriber_id)
    await local_lists.mark_site(conn, row["site_id"])  # its chargers' local lists are due
    await audit.record(
        conn,
        actor.label,
        "subscriber.accept",
        "subscriber",
        subscriber_id,
        site_id=row["site_id"],
        before={"state": "invited"},
        after=row,
    )
    return row
