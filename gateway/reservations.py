"""Which reservation a StartTransaction takes, and when a reservation refuses it. Pure.

OCPP 1.6 (5.13) makes the charger refuse every idTag but the reservation's (or one whose
parent idTag matches) on a reserved connector. The central system holds the same line when
a charger lets another tag start there (an offline one, a firmware that ignores its
reservation): while a reservation on connector N is in force (Accepted, not used, not
cancelled, not expired), a StartTransaction on connector N with another idTag is answered
``Invalid``, the status idTagInfo has for "this tag may not charge here" (``ConcurrentTx``
means the tag is busy in another transaction, which it is not).

- A StartTransaction whose ``reservationId`` names a reservation in force of this charger, on
  its connector or on connector 0, takes it: the charger matched the tag (or its parent,
  which evgate does not know; so an unknown tag is taken only when the reservation has a
  parent idTag).
- Otherwise a reservation in force on the start's connector is taken by its own idTag and
  refuses any other.
- Otherwise a connector-0 reservation in force is taken by its own idTag on any connector.
  Another tag is not refused for it: the charger keeps one connector free for the tag, and
  only the charger knows which connectors are free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    taken: dict[str, Any] | None = None  # the reservation row this start uses
    refused_by: dict[str, Any] | None = None  # the reservation that refuses its tag


def verdict(
    rows: Sequence[dict[str, Any]],
    connector_id: int,
    id_tag: str,
    reservation_id: int | None,
    at: datetime,
) -> Verdict:
    """The verdict of a charger's active reservation rows (store.reservations.active_of) on a
    StartTransaction at `at` (the central system's clock: expiry is ours to judge)."""
    in_force = [r for r in rows if r["expires_at"] > at]
    if not in_force:
        return Verdict()
    if reservation_id is not None:
        for r in in_force:
            named = r["reservation_id"] == reservation_id and r["connector_id"] in (0, connector_id)
            if named and (r["id_tag"] == id_tag or r["parent_id_tag"] is not None):
                return Verdict(taken=r)
    on_connector = [r for r in in_force if r["connector_id"] == connector_id != 0]
    for r in on_connector:
        if r["id_tag"] == id_tag:
            return Verdict(taken=r)
    if on_connector:
        return Verdict(refused_by=on_connector[0])
    for r in in_force:
        if r["connector_id"] == 0 and r["id_tag"] == id_tag:
            return Verdict(taken=r)
    return Verdict()
