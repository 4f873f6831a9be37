"""Sites, chargers and tokens: what the CLI and the config API create and change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.errors import Conflict, Invalid, NotFound
from store.schema import chargers, sites, tokens

PLANS = ("basic", "business")
# who may charge at a charger not in monthly payment: any unblocked tag, or the site's only
AUTH_POLICIES = ("open", "registered")

__all__ = ["Conflict", "NotFound", "ValidationError"]  # the kinds, re-exported for callers


class ValidationError(Invalid):
    """Input that cannot be stored; the message says what and how to fix it."""


@dataclass(frozen=True)
class SiteInput:
    id: str
    tz: str
    currency: str
    vat_bp: int
    plan: str = "basic"
    allow_passwordless: bool = False
    name: str = ""
    invoice_series: str = ""
    payment_terms_days: int = 30
    auth_policy: str = "open"

    def check(self) -> None:
        check_identifier(self.id, "site id")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"unknown time zone {self.tz!r}: use an IANA name such as Europe/Oslo"
            ) from None
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValidationError(
                f"currency {self.currency!r} must be a 3-letter ISO 4217 code such as NOK"
            )
        if not 0 <= self.vat_bp <= 10_000:
            raise ValidationError("VAT must be between 0 and 100 percent")
        if self.plan not in PLANS:
            raise ValidationError(f"plan must be one of {', '.join(PLANS)}, not {self.plan!r}")
        if not 0 <= self.payment_terms_days <= 365:
            raise ValidationError("payment terms must be between 0 and 365 days")
        if self.auth_policy not in AUTH_POLICIES:
            raise ValidationError(
                f"auth policy must be one of {', '.join(AUTH_POLICIES)}, not {self.auth_policy!r}"
            )


def check_identifier(value: str, what: str, max_len: int = 64) -> None:
    if not value or len(value) > max_len:
        raise ValidationError(f"{what} must be 1 to {max_len} characters")
    if any(c in value for c in "/?#% \t\r\n") or not value.isprintable():
        raise ValidationError(f"{what} {value!r} may not contain spaces, '/', '?', '#' or '%'")


def now() -> datetime:
    return datetime.now(UTC)


async def add_site(conn: AsyncConnection, site: SiteInput) -> None:
    site.check()
    row = {
        **site.__dict__,
        "invoice_series": site.invoice_series or site.id.upper(),
        "created_at": now(),
    }
    try:
        await conn.execute(insert(sites).values(row))
    except IntegrityError:
        raise Conflict(f"site {site.id!r} exists already") from None


async def get_site(conn: AsyncConnection, site_id: str) -> dict[str, Any]:
    row = (await conn.execute(select(sites).where(sites.c.id == site_id))).mappings().first()
    if row is None:
        raise NotFound(f"no site {site_id!r}: create it first with `evgate sites add`")
    return dict(row)


async def set_security_profile(conn: AsyncConnection, site_id: str, profile: int) -> None:
    await conn.execute(update(sites).where(sites.c.id == site_id).values(security_profile=profile))


async def list_sites(conn: AsyncConnection) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(select(sites).order_by(sites.c.id))).mappings()]


def charger_row(
    charger_id: str, site_id: str | None, password_hash: str | None, state: str = "approved"
) -> dict[str, Any]:
    check_identifier(charger_id, "charger id")
    return {
        "id": charger_id,
        "site_id": site_id,
        "password_hash": password_hash,
        "state": state,
        "created_at": now(),
    }


async def add_chargers(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert chargers all or nothing (the caller's transaction); duplicates are a Conflict."""
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    existing = (
        (await conn.execute(select(chargers.c.id).where(chargers.c.id.in_(ids[:50_000]))))
        .scalars()
        .first()
    )
    if existing is not None:
        raise Conflict(f"charger {existing!r} exists already")
    await conn.execute(insert(chargers), list(rows))
    return len(rows)


async def get_charger(conn: AsyncConnection, charger_id: str) -> dict[str, Any]:
    row = (
        (await conn.execute(select(chargers).where(chargers.c.id == charger_id))).mappings().first()
    )
    if row is None:
        raise NotFound(f"no charger {charger_id!r}")
    return dict(row)


def check_id_tag(id_tag: str) -> None:
    if not id_tag or len(id_tag) > 20 or not id_tag.isprintable():
        raise ValidationError(
            f"id tag {id_tag!r} must be 1 to 20 printable characters (OCPP IdToken)"
        )


async def add_tokens(conn: AsyncConnection, site_id: str, id_tags: Sequence[str]) -> int:
    """Insert RFID tokens of a site all or nothing; a tag already there is a Conflict."""
    if not id_tags:
        return 0
    existing = (
        (
            await conn.execute(
                select(tokens.c.id_tag).where(
                    tokens.c.site_id == site_id, tokens.c.id_tag.in_(list(id_tags)[:50_000])
                )
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:
        raise Conflict(f"token {existing!r} exists already on site {site_id!r}")
    at = now()
    await conn.execute(
        insert(tokens),
        [{"site_id": site_id, "id_tag": t, "state": "active", "created_at": at} for t in id_tags],
    )
    return len(id_tags)


async def set_token_state(conn: AsyncConnection, site_id: str, id_tag: str, state: str) -> None:
    if state not in ("active", "blocked"):
        raise ValidationError("token state must be active or blocked")
    result = await conn.execute(
        update(tokens)
        .where(tokens.c.site_id == site_id, tokens.c.id_tag == id_tag)
        .values(state=state)
    )
    if result.rowcount == 0:
        raise NotFound(f"no token {id_tag!r} on site {site_id!r}")


async def set_token_expiry(
    conn: AsyncConnection, site_id: str, id_tag: str, expires_at: datetime | None
) -> datetime | None:
    """Set (or clear, None) when a token expires; returns the expiry it had before."""
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValidationError("a token's expiry needs a time zone (e.g. 2027-01-31T23:59:59Z)")
    where = (tokens.c.site_id == site_id, tokens.c.id_tag == id_tag)
    before = (await conn.execute(select(tokens.c.expires_at).where(*where))).first()
    if before is None:
        raise NotFound(f"no token {id_tag!r} on site {site_id!r}")
    await conn.execute(update(tokens).where(*where).values(expires_at=expires_at))
    return before[0]  # type: ignore[no-any-return]
