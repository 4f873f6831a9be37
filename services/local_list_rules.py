"""A charger's local authorization list, derived from its site's tokens: pure, no I/O.

The list is what ``gateway.service.decide`` would answer an Authorize of each of the site's
tokens on that charger, so the two can never disagree: a token that may charge is Accepted, a
blocked token or a suspended subscriber's is Blocked, an expired one Expired, and on a
charger in monthly payment a tag of no active subscriber is Invalid (never Accepted). Each
entry's idTagInfo is the one Authorize gives (``expiryDate`` when the token has an expiry).
Tags the site does not know cannot be listed: the charger asks for them online.

An update is the difference between what the charger holds (its last accepted list) and the
list wanted now: a differential update of the changed and removed tags, or a full one when
nothing is known of what the charger holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.service import decide, id_tag_info

FULL = "Full"
DIFFERENTIAL = "Differential"
# what a SendLocalList answer means for the next push
ANSWERS = ("Accepted", "Failed", "NotSupported", "VersionMismatch")

MAX_VERSION = 2**31 - 1  # what the charger_local_lists table holds

# idTag -> idTagInfo, as the charger holds it
LocalList = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """One token of the site as Authorize sees it."""

    id_tag: str
    state: str  # active | blocked
    subscriber_state: str | None = None  # the state of the subscriber owning it, if any
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Update:
    """One SendLocalList's worth: its type and its localAuthorizationList entries."""

    update_type: str
    entries: tuple[dict[str, Any], ...]

    def payload(self, version: int) -> dict[str, Any]:
        return {
            "listVersion": version,
            "updateType": self.update_type,
            "localAuthorizationList": [dict(e) for e in self.entries],
        }


def derive(
    monthly_payment: bool, policy: str, tokens: Iterable[TokenFacts], at: datetime
) -> LocalList:
    """The list a charger should hold at ``at``: each token's idTagInfo as Authorize gives it."""
    wanted: LocalList = {}
    for token in tokens:
        status, _ = decide(
            monthly_payment, token.state, token.subscriber_state, token.expires_at, policy, at
        )
        wanted[token.id_tag] = id_tag_info(status, token.expires_at)
    return dict(sorted(wanted.items()))


def difference(held: Mapping[str, Any] | None, wanted: LocalList) -> Update | None:
    """The update that turns ``held`` into ``wanted``: full when ``held`` is None (unknown),
    else differential (changed or new tags with their idTagInfo, removed tags without);
    None when the charger holds the wanted list already."""
    if held is None:
        return Update(FULL, tuple({"idTag": t, "idTagInfo": i} for t, i in wanted.items()))
    changed = [
        {"idTag": tag, "idTagInfo": info} for tag, info in wanted.items() if held.get(tag) != info
    ]
    removed = [{"idTag": tag} for tag in sorted(held) if tag not in wanted]
    if not changed and not removed:
        return None
    return Update(DIFFERENTIAL, tuple(changed + removed))


def applied(held: Mapping[str, Any], payload: Mapping[str, Any]) -> LocalList:
    """What a charger holds after it accepted the SendLocalList ``payload``."""
    entries = payload.get("localAuthorizationList") or []
    result: LocalList = {} if payload.get("updateType") == FULL else dict(held)
    for entry in entries:
        info = entry.get("idTagInfo")
        if info is None:
            result.pop(entry["idTag"], None)
        else:
            result[entry["idTag"]] = dict(info)
    return dict(sorted(result.items()))


def problems(payload: Mapping[str, Any]) -> str | None:
    """What the schema cannot say is wrong with a SendLocalList request, in words (or None):
    a version below 1, an idTag twice, an entry of a full update without idTagInfo."""
    if not 1 <= int(payload["listVersion"]) <= MAX_VERSION:
        return f"listVersion must be 1 to {MAX_VERSION} (0 and -1 mean no list)"
    seen: set[str] = set()
    for n, entry in enumerate(payload.get("localAuthorizationList") or []):
        tag = entry["idTag"]
        if tag in seen:
            return f"localAuthorizationList[{n}].idTag {tag!r} is given twice"
        seen.add(tag)
        if payload["updateType"] == FULL and "idTagInfo" not in entry:
            return f"localAuthorizationList[{n}] of a full update needs idTagInfo"
    return None


def next_expiry(held: Mapping[str, Any]) -> datetime | None:
    """The earliest expiryDate of an entry the charger holds as Accepted: from then on the
    derived list says Expired, so the charger is due an update again."""
    times = []
    for info in held.values():
        if info.get("status") != "Accepted" or not info.get("expiryDate"):
            continue
        try:
            at = datetime.fromisoformat(str(info["expiryDate"]))
        except ValueError:  # a list sent by hand with a date we cannot read: not ours to time
            continue
        times.append(at if at.tzinfo is not None else at.replace(tzinfo=UTC))
    return min(times) if times else None
