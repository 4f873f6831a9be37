"""Subscribers: invited by a site, accepted through a token, then active, suspended, cancelled.

States (docs/domain.md): invited -> active -> suspended <-> active; any but cancelled -> cancelled.
A subscriber's RFID tokens are rows of `tokens` carrying its id; who may charge on a
monthly-payment charger is decided from the token's and the subscriber's state together
(store.charging.authorize_facts_of, gateway.service.decide).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.admin import Conflict, NotFound, ValidationError, check_id_tag
from store.errors import Gone
from store.ids import new_id
from store.schema import invitations, sites, subscribers, tokens
from store.secrets import new_secret, secret_hash

STATES = ("invited", "active", "suspended", "cancelled")
# manual: a bank transfer recorded by hand; vipps, efaktura, paper: paid that way, recorded by
# hand until integrated (docs/payments.md); avtalegiro: direct debit by a mandate (its KID)
PAYMENT_METHODS = ("manual", "stripe", "avtalegiro", "vipps", "efaktura", "paper")
INVITATION_TTL = timedelta(days=14)
INVITATION_PREFIX = "inv_"

# action -> (states it applies to, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "suspend": (("active",), "suspended"),
    "reactivate": (("suspended",), "active"),
    "cancel": (("invited", "active", "suspended"), "cancelled"),
}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4})?")


class InvitationExpired(Gone):
    """The invitation's time ran out: the site has to invite again."""


def now() -> datetime:
    return datetime.now(UTC)


def check_email(email: str) -> None:
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise ValidationError(f"e-mail {email!r} is not an address such as ola@example.no")


def check_language(language: str) -> None:
    if not _LANGUAGE.fullmatch(language):
        raise ValidationError(f"language {language!r} must be a code such as 'nb' or 'en'")


def check_values(values: dict[str, Any]) -> None:
    """Validate the editable fields present in ``values``."""
    if "email" in values:
        check_email(values["email"])
    if "language" in values:
        check_language(values["language"])
    if "name" in values and (len(values["name"]) > 200 or not values["name"].isprintable()):
        raise ValidationError("name must be at most 200 printable characters")
    if values.get("payment_method") not in (None, *PAYMENT_METHODS):
        raise ValidationError(f"payment method must be one of {', '.join(PAYMENT_METHODS)}")
    terms = values.get("payment_terms_days")
    if terms is not None and not 0 <= terms <= 365:
        raise ValidationError("payment terms must be between 0 and 365 days")
    discount = values.get("discount_bp")
    if discount is not None and not 0 <= discount <= 10_000:
        raise ValidationError("discount must be between 0 and 100 percent")


async def invite(
    conn: AsyncConnection,
    site_id: str,
    email: str,
    *,
    name: str = "",
    language: str = "en",
    ttl: timedelta = INVITATION_TTL,
) -> dict[str, Any]:
    """Create an invited subscriber and its invitation; the token is returned once only."""
    check_values({"email": email, "name": name, "language": language})
    at = now()
    result = await conn.execute(
        insert(subscribers).values(
            site_id=site_id,
            state="invited",
            name=name,
            email=email,
            language=language,
            created_at=at,
            updated_at=at,
        )
    )
    subscriber_id = new_id(result)
    token = new_secret(INVITATION_PREFIX)
    await conn.execute(
        insert(invitations).values(
            token_hash=secret_hash(token),
            site_id=site_id,
            subscriber_id=subscriber_id,
            email=email,
            created_at=at,
            expires_at=at + ttl,
        )
    )
    return {"subscriber_id": subscriber_id, "token": token, "expires_at": at + ttl}


async def invitation(conn: AsyncConnection, token: str) -> dict[str, Any]:
    """The invitation behind a token, with its site's name and the subscriber's state."""
    query = (
        select(
            invitations,
            sites.c.name.label("site_name"),
            subscribers.c.state.label("subscriber_state"),
            subscribers.c.language.label("language"),
            subscribers.c.name.label("name"),
        )
        .select_from(
            invitations.join(sites, sites.c.id == invitations.c.site_id).join(
                subscribers, subscribers.c.id == invitations.c.subscriber_id
            )
        )
        .where(invitations.c.token_hash == secret_hash(token))
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound("no such invitation: check the link, or ask the site for a new one")
    return dict(row)


async def accept(
    conn: AsyncConnection,
    token: str,
    *,
    name: str,
    email: str,
    language: str,
    payment_method: str,
) -> int:
    """Turn an invitation into an active subscriber; the token works once."""
    check_values(
        {"name": name, "email": email, "language": language, "payment_method": payment_method}
    )
    if not name.strip():
        raise ValidationError("name must not be empty")
    if payment_method is None:
        raise ValidationError("choose a payment method: manual or stripe")
    inv = await invitation(conn, token)
    at = now()
    if inv["accepted_at"] is not None:
        raise Conflict("this invitation was accepted already")
    if inv["subscriber_state"] != "invited":
        raise Conflict("this invitation was withdrawn by the site")
    if inv["expires_at"] <= at:
        raise InvitationExpired("this invitation has expired: ask the site for a new one")
    claimed = await conn.execute(
        update(invitations)
        .where(invitations.c.id == inv["id"], invitations.c.accepted_at.is_(None))
        .values(accepted_at=at)
    )
    if claimed.rowcount != 1:  # a parallel accept won
        raise Conflict("this invitation was accepted already")
    await conn.execute(
        update(subscribers)
        .where(subscribers.c.id == inv["subscriber_id"])
        .values(
            state="active",
            name=name,
            email=email,
            language=language,
            payment_method=payment_method,
            activated_at=at,
            updated_at=at,
        )
    )
    return int(inv["subscriber_id"])


async def get_subscriber(conn: AsyncConnection, subscriber_id: int) -> dict[str, Any]:
    """The subscriber with its tokens (id_tag and state)."""
    row = (
        (await conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no subscriber {subscriber_id}")
    tags = await conn.execute(
        select(tokens.c.id_tag, tokens.c.state)
        .where(tokens.c.subscriber_id == subscriber_id, tokens.c.site_id == row["site_id"])
        .order_by(tokens.c.id_tag)
    )
    return {**row, "tokens": [dict(t) for t in tags.mappings()]}


async def list_subscribers(
    conn: AsyncConnection, site_id: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    query = select(subscribers).order_by(subscribers.c.id)
    if site_id is not None:
        query = query.where(subscribers.c.site_id == site_id)
    if state is not None:
        query = query.where(subscribers.c.state == state)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def transition(
    conn: AsyncConnection, subscriber_id: int, action: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply suspend / reactivate / cancel; return the subscriber before and after."""
    allowed, target = TRANSITIONS[action]
    before = await get_subscriber(conn, subscriber_id)
    if before["state"] not in allowed:
        raise Conflict(
            f"cannot {action} a subscriber who is {before['state']} "
            f"(only one who is {' or '.join(allowed)})"
        )
    await conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(state=target, updated_at=now())
    )
    return before, await get_subscriber(conn, subscriber_id)


async def update_subscriber(
    conn: AsyncConnection, subscriber_id: int, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change name, e-mail, language, payment method or terms, discount."""
    check_values(values)
    before = await get_subscriber(conn, subscriber_id)
    if values:
        await conn.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber_id)
            .values(**values, updated_at=now())
        )
    return before, await get_subscriber(conn, subscriber_id)


async def add_token(conn: AsyncConnection, subscriber_id: int, id_tag: str) -> dict[str, Any]:
    """Give a subscriber an RFID token of its site (a new one, or one with no owner yet)."""
    check_id_tag(id_tag)
    sub = await get_subscriber(conn, subscriber_id)
    if sub["state"] == "cancelled":
        raise Conflict("a cancelled subscriber cannot get new tokens")
    site_id = sub["site_id"]
    existing = (
        (
            await conn.execute(
                select(tokens).where(tokens.c.site_id == site_id, tokens.c.id_tag == id_tag)
            )
        )
        .mappings()
        .first()
    )
    if existing is None:
        await conn.execute(
            insert(tokens).values(
                site_id=site_id,
                id_tag=id_tag,
                state="active",
                subscriber_id=subscriber_id,
                created_at=now(),
            )
        )
    elif existing["subscriber_id"] is None:
        await conn.execute(
            update(tokens).where(tokens.c.id == existing["id"]).values(subscriber_id=subscriber_id)
        )
    elif existing["subscriber_id"] == subscriber_id:
        raise Conflict(f"token {id_tag!r} belongs to this subscriber already")
    else:
        raise Conflict(f"token {id_tag!r} belongs to another subscriber of site {site_id!r}")
    return {"id_tag": id_tag, "subscriber_id": subscriber_id, "site_id": site_id}


async def remove_token(conn: AsyncConnection, subscriber_id: int, id_tag: str) -> None:
    """Take a token away from a subscriber (the card is deleted from the site)."""
    sub = await get_subscriber(conn, subscriber_id)
    result = await conn.execute(
        delete(tokens).where(
            tokens.c.site_id == sub["site_id"],
            tokens.c.id_tag == id_tag,
            tokens.c.subscriber_id == subscriber_id,
        )
    )
    if result.rowcount == 0:
        raise NotFound(f"subscriber {subscriber_id} has no token {id_tag!r}")
