"""Local Auth List Management: what the charger's answers mean, and the list it should hold.

The catalog's hooks (services/command_catalog.py) for ``send-local-list``,
``get-local-list-version`` and ``get-configuration`` store what an answer says about the
charger's list: the version it accepted and the entries it holds since, that the next update
must be full (VersionMismatch, or a version we did not send), that it has no list
(NotSupported, version -1, no LocalAuthListManagement among its SupportedFeatureProfiles).
The list it should hold is derived from its site's tokens by services/local_list_rules.py;
services/local_list_job.py pushes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services import local_list_rules as rules
from services.context import Actor
from store import local_lists
from store.errors import Invalid

PROFILE = "LocalAuthListManagement"
# what a push asks a charger whose support is not known yet (a 2.0.1 charger has no
# SupportedFeatureProfiles: its LocalAuthListCtrlr's Enabled, known or not, says it)
PROBE_KEYS = ["SupportedFeatureProfiles", "LocalAuthListEnabled"]
PROBE_KEYS_201 = ["LocalAuthListEnabled"]


async def check_send(
    engine: AsyncEngine, actor: Actor, charger_id: str, payload: dict[str, Any]
) -> None:
    """Before a SendLocalList goes out: what its schema cannot check (Invalid, in words)."""
    problem = rules.problems(payload)
    if problem is not None:
        raise Invalid(f"send-local-list: {problem}")


async def after_send(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    """Store what the charger's answer to a SendLocalList means for its list."""
    status = str(answer.get("status"))
    version = int(payload["listVersion"])
    full = payload.get("updateType") == rules.FULL
    at = datetime.now(UTC)
    async with engine.begin() as conn:
        row = await local_lists.get(conn, charger_id)
        if status != "Accepted":
            await local_lists.record_answer(conn, charger_id, version, status, at)
            return
        held = rules.applied((row or {}).get("entries") or {}, payload)
        await local_lists.record_answer(
            conn, charger_id, version, status, at, held, full, rules.next_expiry(held)
        )


async def after_version(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    """A GetLocalListVersion answer: -1 is no list; another version than ours, a full next."""
    version = answer.get("listVersion")
    if isinstance(version, int):
        async with engine.begin() as conn:
            await local_lists.record_version(conn, charger_id, version)


def supports(answer: dict[str, Any]) -> bool | None:
    """What a GetConfiguration answer says of the charger's local list: None when it does not
    say (neither SupportedFeatureProfiles nor LocalAuthListEnabled among its keys, known or
    unknown). LocalAuthListEnabled belongs to the profile, so without SupportedFeatureProfiles
    it answers alone (what a 2.0.1 charger's GetVariables, read as 1.6, gives)."""
    keys = {k.get("key"): k.get("value") for k in answer.get("configurationKey") or []}
    profiles = keys.get("SupportedFeatureProfiles")
    if profiles is None:
        if "LocalAuthListEnabled" in keys:
            return str(keys["LocalAuthListEnabled"]).lower() != "false"
        if "LocalAuthListEnabled" in (answer.get("unknownKey") or []):
            return False
        return None
    if PROFILE not in [p.strip() for p in str(profiles).split(",")]:
        return False
    return str(keys.get("LocalAuthListEnabled", "true")).lower() != "false"


async def after_configuration(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    supported = supports(answer)
    if supported is not None:
        async with engine.begin() as conn:
            await local_lists.set_supported(conn, charger_id, supported)


async def wanted(
    conn: AsyncConnection, charger_id: str, at: datetime
) -> tuple[dict[str, Any], rules.LocalList]:
    """The charger's facts (site, mode, policy) and the list it should hold at ``at``."""
    facts = await local_lists.charger_facts(conn, charger_id)
    tokens = [
        rules.TokenFacts(tag, state, sub, expires)
        for tag, state, sub, expires in await local_lists.site_tokens(conn, facts["site_id"])
    ]
    return facts, rules.derive(facts["monthly_payment"], facts["auth_policy"], tokens, at)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def view(conn: AsyncConnection, actor: Actor, charger_id: str) -> dict[str, Any]:
    """The charger's list as we know it, the list it should hold, and the update due."""
    at = datetime.now(UTC)
    facts, want = await wanted(conn, charger_id, at)
    actor.check_read(facts["site_id"])
    row = await local_lists.get(conn, charger_id) or {}
    held = row.get("entries") or {}
    update = rules.difference(None if row.get("full_next", True) else held, want)
    return {
        "charger_id": charger_id,
        "supported": row.get("supported"),
        "version": row.get("version", 0),
        "pending": row.get("dirty", 0) > 0,
        "full_next": row.get("full_next", True),
        "last_status": row.get("last_status"),
        "last_version": row.get("last_version"),
        "last_at": _iso(row.get("last_at")),
        "accepted_at": _iso(row.get("accepted_at")),
        "retry_at": _iso(row.get("retry_at")),
        "entries": held,
        "wanted": want,
        "due": None
        if update is None
        else {
            "update_type": update.update_type,
            "entries": len(update.entries),
        },
    }
