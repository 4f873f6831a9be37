"""A flagged session reviewed by a person: approved (the next run bills it despite its flags)
or excluded (never billed), with a reason; audited, and an event, in one transaction.

Only a stopped monthly-payment session that its flags hold back (billing.holdback) and that
no invoice holds yet can be reviewed; a later review replaces an earlier one until the session
is billed. The CLI, the API and the portal call ``review``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing.holdback import DECISIONS, holding_flags
from services.context import Actor
from store import audit, outbox_store, session_reviews
from store.errors import Conflict, Invalid

MAX_REASON = 500


def check_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid("give a reason: it is kept with the decision in the audit log")
    if len(text) > MAX_REASON:
        raise Invalid(f"the reason is {len(text)} characters long: at most {MAX_REASON}")
    return text


async def review(
    conn: AsyncConnection,
    actor: Actor,
    session_id: int,
    decision: str,
    reason: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Approve or exclude a flagged session; the stored review (decision, reason, by, at)."""
    if decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    text = check_reason(reason)
    facts = await session_reviews.facts(conn, session_id)
    actor.check_read(facts["site_id"])
    actor.check_write(facts["site_id"])
    if facts["billed"] is not None:
        raise Conflict(
            f"session {session_id} is already billed on invoice {facts['invoice']}: "
            "credit the invoice instead"
        )
    held = holding_flags(facts["flags"] or [])
    if not held:
        raise Conflict(
            f"session {session_id} has no flag that holds it back from billing: "
            "there is nothing to approve or exclude"
        )
    if facts["stopped_at"] is None:
        raise Conflict(f"session {session_id} is still running: review it once it has stopped")
    if not facts["monthly_payment"]:
        raise Conflict(f"session {session_id} was not on monthly payment: it is never billed")
    at = now or datetime.now(UTC)
    before = facts["review"]
    row = await session_reviews.put(conn, session_id, decision, text, actor.label, at)
    await audit.record(
        conn,
        actor.label,
        f"session.{decision}",
        "session",
        session_id,
        site_id=facts["site_id"],
        before=None if before is None else {k: before[k] for k in ("decision", "reason")},
        after={"decision": decision, "reason": text, "flags": held},
    )
    await outbox_store.record_event(
        conn,
        "session_reviewed",
        facts["site_id"],
        facts["charger_id"],
        {"session_id": session_id, "decision": decision, "flags": held, "by": actor.label},
        at,
    )
    return {**row, "flags": held}
