"""AvtaleGiro use cases for the CLI and the API: a site's agreement with Nets, a subscriber's
mandate, the claim file written at issue, the bank's mandate file read.

- ``set_agreement``: the site's customer unit, agreement id and account (a site setting).
- ``set_payment_method``: a subscriber pays by ``avtalegiro`` (with the mandate's KID and
  whether the bank notifies them), or by any other method of store.subscribers.
- ``write_claims``: the claim file for the site's open invoices of subscribers with an active
  mandate, each invoice claimed once (``again`` repeats the ones claimed and still open);
  the payments come back in the OCR Giro file by the invoice's KID (services.payments).
- ``import_mandates``: the bank's mandate file turns mandates on and off by KID; the same
  file again changes nothing, and a change already in force is counted, not written.

Every write is audited in the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from billing import avtalegiro as ag
from billing.errors import BillingError, NotFoundError
from billing.lifecycle import Figures
from billing.ocr_giro import CURRENCY, sha256_of
from billing.payments import fees_of
from services.context import Actor
from store import audit
from store import avtalegiro_store as st
from store import billing_store as bs
from store.subscribers import PAYMENT_METHODS, get_subscriber

METHOD = "avtalegiro"
OPEN_STATES = ("issued", "overdue")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


async def _site(conn: AsyncConnection, site_id: str) -> dict[str, Any]:
    site = await bs.get_site(conn, site_id)
    if site is None:
        raise NotFoundError(f"no site {site_id!r}")
    return site


async def set_agreement(
    conn: AsyncConnection,
    actor: Actor,
    site_id: str,
    *,
    customer_unit: str,
    account: str,
    agreement_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the site's AvtaleGiro agreement with Nets (checked); the agreement after."""
    actor.check_write(site_id)
    await _site(conn, site_id)
    checked = ag.check_agreement(customer_unit, account, agreement_id)
    values = {
        "customer_unit": checked.customer_unit,
        "agreement_id": checked.agreement_id,
        "account": checked.account,
        "updated_by": actor.label[:120],
        "updated_at": _now(now),
    }
    before = await st.agreement_of(conn, site_id)
    await st.save_agreement(conn, site_id, values)
    shown = {k: values[k] for k in ("customer_unit", "agreement_id", "account")}
    await audit.record(
        conn,
        actor.label,
        "avtalegiro.agreement",
        "site",
        site_id,
        site_id=site_id,
        before={k: before[k] for k in shown} if before else None,
        after=shown,
    )
    return {"site_id": site_id, **shown}


def _check_kid(kid: str) -> str:
    kid = kid.strip()
    if not (kid.isdigit() and 2 <= len(kid) <= 25):
        raise BillingError(f"KID {kid!r} must be 2 to 25 digits")
    return kid


async def set_payment_method(
    conn: AsyncConnection,
    actor: Actor,
    subscriber_id: int,
    method: str,
    *,
    kid: str | None = None,
    notify: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How the subscriber pays; ``avtalegiro`` takes the mandate's KID (registered by the
    payer in their bank) and whether the bank notifies them of each claim."""
    sub = await get_subscriber(conn, subscriber_id)
    actor.check_write(sub["site_id"])
    if method not in PAYMENT_METHODS:
        raise BillingError(f"payment method must be one of {', '.join(PAYMENT_METHODS)}")
    if method == "stripe":
        raise BillingError("a card is registered by the subscriber through Stripe: card-setup")
    at = _now(now)
    mandate = await st.mandate_of(conn, subscriber_id)
    after: dict[str, Any] = {"payment_method": method}
    if method == METHOD:
        if kid is None:
            raise BillingError("avtalegiro needs the mandate's KID (--kid)")
        values = {
            "site_id": sub["site_id"],
            "kid": _check_kid(kid),
            "notify": notify,
            "active": True,
            "updated_by": actor.label[:120],
            "updated_at": at,
        }
        await st.save_mandate(conn, subscriber_id, values)
        after["mandate"] = {"kid": values["kid"], "notify": notify, "active": True}
    elif kid is not None:
        raise BillingError("a KID goes with avtalegiro only")
    await bs.set_payment_method(conn, subscriber_id, method)
    await audit.record(
        conn,
        actor.label,
        "subscriber.payment_method",
        "subscriber",
        subscriber_id,
        site_id=sub["site_id"],
        before={
            "payment_method": sub["payment_method"],
            "mandate": {k: mandate[k] for k in ("kid", "notify", "active")} if mandate else None,
        },
        after=after,
    )
    return {"subscriber_id": subscriber_id, **after}


async def _due_amount(conn: AsyncConnection, invoice: dict[str, Any]) -> int:
    figures = Figures(
        invoice["total"],
        invoice["paid_amount"],
        invoice["credited_amount"],
        await fees_of(conn, int(invoice["id"])),
    )
    return figures.amount_due


async def write_claims(
    conn: AsyncConnection,
    actor: Actor,
    site_id: str,
    *,
    again: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The site's AvtaleGiro claim file (``text``, ISO-8859-1 to encode; None when there is
    nothing to claim) and the claims it holds; each recorded so a re-run writes none twice."""
    actor.check_write(site_id)
    site = await _site(conn, site_id)
    at = _now(now)
    stored = await st.agreement_of(conn, site_id)
    if stored is None:
        raise BillingError(
            f"site {site_id!r} has no AvtaleGiro agreement: set it with "
            "`evgate payments avtalegiro-agreement`"
        )
    agreement = ag.Agreement(stored["customer_unit"], stored["account"], stored["agreement_id"])
    zone = ZoneInfo(site["tz"])
    today = at.astimezone(zone).date()
    claims: list[ag.Claim] = []
    rows: list[dict[str, Any]] = []
    for inv in await st.claimable(conn, site_id, OPEN_STATES, again=again):
        amount = await _due_amount(conn, inv)
        if inv["currency"] != CURRENCY or amount <= 0 or inv["due_at"] is None:
            continue
        due = inv["due_at"].astimezone(zone).date()
        claim = ag.Claim(
            invoice_number=inv["number_text"],
            kid=inv["kid"],
            due_on=max(due, today),  # an overdue invoice is claimed for today
            amount=amount,
            payer_name=inv["subscriber_name"] or "",
            bank_notice=bool(inv["notify"]),
        )
        claims.append(claim)
        rows.append({"invoice_id": inv["id"], "claim": claim})
    out: dict[str, Any] = {"site_id": site_id, "again": again, "claims": [], "total": 0}
    if not claims:
        return {**out, "file_id": None, "transmission": None, "text": None}
    total = sum(c.amount for c in claims)
    file_id = await st.insert_claim_file(
        conn,
        {
            "site_id": site_id,
            "transmission_number": "0000000",
            "claims": len(claims),
            "total": total,
            "actor": actor.label[:120],
            "created_at": at,
        },
    )
    text = ag.claim_file(agreement, file_id, claims)
    await st.set_claim_file(conn, file_id, transmission_number=f"{file_id:07d}")
    for row in rows:
        claim = row["claim"]
        await st.save_claim(
            conn,
            {
                "invoice_id": row["invoice_id"],
                "file_id": file_id,
                "kid": claim.kid,
                "amount": claim.amount,
                "due_on": claim.due_on.isoformat(),
                "notify": claim.bank_notice,
                "created_at": at,
            },
        )
    listed = [
        {
            "invoice": c.invoice_number,
            "kid": c.kid,
            "amount": c.amount,
            "due_on": c.due_on.isoformat(),
            "bank_notice": c.bank_notice,
        }
        for c in claims
    ]
    await audit.record(
        conn,
        actor.label,
        "avtalegiro.claims",
        "avtalegiro_claim_file",
        file_id,
        site_id=site_id,
        after={"transmission": f"{file_id:07d}", "total": total, "claims": listed},
    )
    return {
        **out,
        "file_id": file_id,
        "transmission": f"{file_id:07d}",
        "claims": listed,
        "total": total,
        "text": text,
    }


async def _subscriber_of(
    conn: AsyncConnection, kid: str, site_id: str | None
) -> dict[str, Any] | None:
    """Whose mandate a KID is: a mandate stored with it, else the subscriber of the invoice
    that carries it, else the subscriber number at the head of an evgate KID (billing/kid.py)."""
    found = {
        (m["subscriber_id"], m["site_id"]) for m in await st.mandates_by_kid(conn, kid, site_id)
    }
    if not found:
        found = {(s["id"], s["site_id"]) for s in await st.subscribers_by_kid(conn, kid, site_id)}
    if not found and len(kid) == 16 and int(kid[:7]) > 0:
        sub = await bs.get_subscriber(conn, int(kid[:7]))
        if sub is not None and site_id in (None, sub["site_id"]):
            found = {(sub["id"], sub["site_id"])}
    if len(found) != 1:
        return None
    sub = await bs.get_subscriber(conn, next(iter(found))[0])
    return sub


async def import_mandates(
    conn: AsyncConnection,
    actor: Actor,
    data: bytes,
    *,
    site_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply the bank's mandate file: a new or changed mandate makes its subscriber pay by
    AvtaleGiro (with the notification choice), a deleted one ends it (back to ``manual``).
    The summary counts what changed, what was already so, and the KIDs no subscriber has."""
    if site_id is None:
        actor.check_super("only a super-admin may apply a mandate file to every site: give site")
    else:
        actor.check_write(site_id)
        await _site(conn, site_id)
    at = _now(now)
    seen = await st.mandate_file_by_sha256(conn, sha256_of(data))
    if seen is not None:
        return {**seen["summary"], "already_imported": True, "changed": 0, "changes": []}
    read = ag.read_mandates(data)
    changes: list[dict[str, Any]] = []
    unchanged = 0
    unknown: list[str] = []
    for change in read.changes:
        sub = await _subscriber_of(conn, change.kid, site_id)
        if sub is None:
            unknown.append(change.kid)
            continue
        done = await _apply(conn, actor, sub, change, at)
        if done is None:
            unchanged += 1
        else:
            changes.append(done)
    summary = {
        "transmission": read.transmission_number,
        "site_id": site_id,
        "mandates": len(read.changes),
        "changed": len(changes),
        "unchanged": unchanged,
        "unknown_kids": unknown,
        "changes": changes,
        "already_imported": False,
    }
    file_id = await st.insert_mandate_file(
        conn, read.sha256, read.transmission_number, site_id, summary, actor.label, at
    )
    await audit.record(
        conn,
        actor.label,
        "avtalegiro.mandates",
        "avtalegiro_mandate_file",
        file_id,
        site_id=site_id,
        after={k: v for k, v in summary.items() if k != "changes"},
    )
    return {**summary, "file_id": file_id}


async def _apply(
    conn: AsyncConnection,
    actor: Actor,
    sub: dict[str, Any],
    change: ag.MandateChange,
    at: datetime,
) -> dict[str, Any] | None:
    """One mandate change on its subscriber; None when it is in force already."""
    sid = int(sub["id"])
    mandate = await st.mandate_of(conn, sid)
    method = METHOD if change.active else "manual"
    if mandate is not None and not change.active and mandate["kid"] != change.kid:
        return None  # a deleted mandate of a KID this subscriber no longer uses
    same = (
        mandate is not None
        and mandate["kid"] == change.kid
        and bool(mandate["active"]) == change.active
        and (bool(mandate["notify"]) == change.notify or not change.active)
    )
    if same and (sub["payment_method"] == METHOD) == change.active:
        return None
    await st.save_mandate(
        conn,
        sid,
        {
            "site_id": sub["site_id"],
            "kid": change.kid,
            "notify": change.notify,
            "active": change.active,
            "updated_by": actor.label[:120],
            "updated_at": at,
        },
    )
    if change.active or sub["payment_method"] == METHOD:
        await bs.set_payment_method(conn, sid, method)
    after = {"kid": change.kid, "active": change.active, "notify": change.notify}
    await audit.record(
        conn,
        actor.label,
        "subscriber.mandate",
        "subscriber",
        sid,
        site_id=sub["site_id"],
        before={"payment_method": sub["payment_method"]},
        after={
            **after,
            "payment_method": method
            if change.active or sub["payment_method"] == METHOD
            else sub["payment_method"],
        },
    )
    return {"subscriber_id": sid, **after}
