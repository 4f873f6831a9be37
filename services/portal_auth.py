"""Who may use the web portal: site users by e-mail and password, subscribers by a link.

Site users (portal_users) sign in with an e-mail and a password, hashed as charger passwords
are (gateway.auth's scrypt). A wrong password costs the caller a delay and counts against the
address and the e-mail in gateway.auth.FailureThrottle, as a charger's does; an unknown e-mail
runs the same scrypt and gets the same answer, so the sign-in form tells no one which
addresses exist. Subscribers sign in by a one-time link that expires
(``issue_sign_in_link``: its URL is returned, and ``queue_sign_in_mail`` is where it is sent).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.auth import FailureThrottle, hash_secret, verify_secret
from services import mail
from services.context import Actor
from store import admin, audit, portal_store
from store.api_tokens import check_role
from store.errors import Forbidden, Gone, Invalid, NotFound

LANGUAGES = ("en", "sv", "nb", "da", "fr")
MIN_PASSWORD, MAX_PASSWORD = 12, 200
SESSION_TTL = timedelta(hours=12)
LINK_TTL = timedelta(minutes=30)
# what an unknown e-mail is checked against, so it costs what a known one costs
_NOBODY = hash_secret("no portal user has this password")


class Throttled(Forbidden):
    """Too many wrong passwords from this address or for this e-mail: wait ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins: try again in {int(retry_after) + 1} s")
        self.retry_after = retry_after


def normal_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or not email.isprintable():
        raise Invalid(f"{email!r} is not an e-mail address")
    return email


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(f"a portal password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    if not password.isprintable():
        raise Invalid("a portal password must be printable characters")


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


async def add_user(
    conn: AsyncConnection,
    actor: Actor,
    email: str,
    password: str,
    role: str,
    site_id: str | None,
    language: str = "en",
) -> dict[str, Any]:
    """A portal user (super-admin only); the password is hashed, never stored or audited."""
    actor.check_super("only a super-admin may add portal users")
    email = normal_email(email)
    check_role(role, site_id)
    check_password(password)
    check_language(language)
    password_hash = await asyncio.to_thread(hash_secret, password)
    row = await portal_store.add_user(
        conn, email, password_hash, role, site_id, language, datetime.now(UTC)
    )
    await audit.record(
        conn,
        actor.label,
        "portal_user.create",
        "portal_user",
        row["id"],
        site_id=site_id,
        after=row,
    )
    return row


def actor_of(user: dict[str, Any]) -> Actor:
    """The Actor a signed-in portal user acts as (its role rules are the API token's)."""
    return Actor.portal_user(int(user["id"]), user["email"], user["role"], user["site_id"])


@dataclass
class SignIn:
    """Password sign-in with the charger's throttle; one per portal application."""

    failure_delay: float = 1.0  # seconds every wrong password waits before its answer
    throttle: FailureThrottle | None = None

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = FailureThrottle(free=5, base=1.0, cap=60.0)

    async def authenticate(
        self, engine: AsyncEngine, email: str, password: str, address: str
    ) -> dict[str, Any] | None:
        """The user (no hash) when the e-mail and password match, else None after the delay.

        Raises Throttled while the address or the e-mail is locked out (no scrypt then)."""
        assert self.throttle is not None
        email = email.strip().lower()
        keys = (f"addr:{address}", f"email:{email}")
        wait = max(self.throttle.retry_after(k) for k in keys)
        if wait > 0:
            raise Throttled(wait)
        async with engine.connect() as conn:
            user = await portal_store.user_by_email(conn, email) if email else None
        stored = user["password_hash"] if user and user["disabled_at"] is None else _NOBODY
        ok = await asyncio.to_thread(verify_secret, password[:MAX_PASSWORD], stored)
        if not ok or user is None or user["disabled_at"] is not None:
            for k in keys:
                self.throttle.failed(k)
            await asyncio.sleep(self.failure_delay)
            return None
        for k in keys:
            self.throttle.succeeded(k)
        return {k: v for k, v in user.items() if k != "password_hash"}


async def open_user_session(conn: AsyncConnection, user: dict[str, Any]) -> str:
    """Sign a user in: a session row, audited; returns the cookie value."""
    now = datetime.now(UTC)
    token = await portal_store.open_session(conn, now, now + SESSION_TTL, user_id=int(user["id"]))
    actor = actor_of(user)
    await audit.record(
        conn, actor.label, "portal.sign_in", "portal_user", user["id"], site_id=user["site_id"]
    )
    return token


async def session_of(conn: AsyncConnection, token: str) -> dict[str, Any] | None:
    return await portal_store.find_session(conn, token, datetime.now(UTC))


async def sign_out(conn: AsyncConnection, token: str) -> None:
    await portal_store.close_session(conn, token, datetime.now(UTC))


async def set_language(conn: AsyncConnection, session: dict[str, Any], language: str) -> None:
    """The signed-in person's own language (a user's, or a subscriber's documents' too)."""
    check_language(language)
    if session.get("user") is not None:
        await portal_store.set_user_language(conn, int(session["user"]["id"]), language)
    else:
        await portal_store.set_subscriber_language(conn, int(session["subscriber_id"]), language)


# --- subscribers: one-time sign-in links --------------------------------------------------


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


async def issue_sign_in_link(
    conn: AsyncConnection,
    actor: Actor,
    subscriber: dict[str, Any],
    base_url: str,
    valid_for: timedelta = LINK_TTL,
) -> str:
    """A one-time link to the subscriber's own page, valid ``valid_for``; returns its URL
    and queues it for delivery (``queue_sign_in_mail``) in the same transaction."""
    now = datetime.now(UTC)
    token = await portal_store.add_sign_in_link(conn, int(subscriber["id"]), now, now + valid_for)
    url = link_url(base_url, token)
    await audit.record(
        conn,
        actor.label,
        "portal.sign_in_link",
        "subscriber",
        subscriber["id"],
        site_id=subscriber["site_id"],
        after={"expires_at": now + valid_for},
    )
    await queue_sign_in_mail(conn, subscriber, url)
    return url


async def queue_sign_in_mail(conn: AsyncConnection, subscriber: dict[str, Any], url: str) -> None:
    """The sign-in link handed to the mail outbox, in the link's transaction (sent by
    `evgate serve` once SMTP is set; the CLI also prints it)."""
    site = await admin.get_site(conn, subscriber["site_id"])
    minutes = int(LINK_TTL.total_seconds() // 60)
    await mail.queue_sign_in_link(conn, site, subscriber, url, minutes)


async def request_sign_in_links(conn: AsyncConnection, email: str, base_url: str) -> list[str]:
    """A link for every active subscriber with this e-mail (none for an unknown one: the
    page that asked says the same either way)."""
    try:
        email = normal_email(email)
    except Invalid:
        return []
    urls = []
    for sub in await portal_store.subscribers_by_email(conn, email):
        urls.append(await issue_sign_in_link(conn, Actor("portal"), sub, base_url))
    return urls


async def language_of_link(conn: AsyncConnection, token: str) -> str | None:
    """The language of the subscriber a (live) link is for, to greet it in; else None."""
    link = await portal_store.link_of(conn, token)
    if link is None or link["used_at"] is not None or link["expires_at"] <= datetime.now(UTC):
        return None
    sub = await portal_store.subscriber_language(conn, int(link["subscriber_id"]))
    return sub


async def open_subscriber_session(conn: AsyncConnection, subscriber_id: int) -> str:
    """A subscriber's session cookie value, e.g. right after they accepted their invitation
    (the invitation's token proved the mailbox as a sign-in link does)."""
    now = datetime.now(UTC)
    return await portal_store.open_session(
        conn, now, now + SESSION_TTL, subscriber_id=subscriber_id
    )


async def use_sign_in_link(conn: AsyncConnection, token: str) -> tuple[int, str]:
    """Spend a link: (subscriber id, session cookie value). Gone when used or expired,
    NotFound when it never existed."""
    now = datetime.now(UTC)
    link = await portal_store.link_of(conn, token)
    if link is None:
        raise NotFound("this sign-in link is not known: ask for a new one")
    if link["used_at"] is not None or link["expires_at"] <= now:
        raise Gone("this sign-in link was used or has expired: ask for a new one")
    if not await portal_store.use_link(conn, int(link["id"]), now):
        raise Gone("this sign-in link was used or has expired: ask for a new one")
    sid = int(link["subscriber_id"])
    cookie = await portal_store.open_session(conn, now, now + SESSION_TTL, subscriber_id=sid)
    return sid, cookie
