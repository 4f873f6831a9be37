"""gateway.reservations.verdict: which reservation a StartTransaction takes, which refuses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.reservations import verdict

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def row(rid: int, connector: int, tag: str, parent: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "id": 100 + rid,
        "reservation_id": rid,
        "connector_id": connector,
        "id_tag": tag,
        "parent_id_tag": parent,
        "expires_at": kw.get("expires_at", NOW + timedelta(minutes=10)),
    }


def test_no_reservation_takes_or_refuses_nothing() -> None:
    found = verdict([], 1, "A", None, NOW)
    assert found.taken is None and found.refused_by is None


def test_the_reserved_connector_takes_its_tag_and_refuses_others() -> None:
    r = row(1, 1, "A")
    assert verdict([r], 1, "A", None, NOW).taken is r
    refused = verdict([r], 1, "B", None, NOW)
    assert refused.refused_by is r and refused.taken is None
    other_connector = verdict([r], 2, "B", None, NOW)
    assert other_connector.taken is None and other_connector.refused_by is None


def test_an_expired_reservation_counts_for_nothing() -> None:
    r = row(1, 1, "A", expires_at=NOW)
    assert verdict([r], 1, "B", None, NOW).refused_by is None
    assert verdict([r], 1, "A", 1, NOW).taken is None
    assert verdict([r], 1, "B", None, NOW - timedelta(seconds=1)).refused_by is r


def test_a_reservation_id_is_taken_for_its_tag_or_when_a_parent_vouches() -> None:
    plain, family = row(1, 1, "A"), row(2, 2, "B", parent="FLEET")
    assert verdict([plain], 1, "A", 1, NOW).taken is plain
    # a stranger naming a reservation without a parent: refused as any other tag
    assert verdict([plain], 1, "X", 1, NOW).refused_by is plain
    assert verdict([family], 2, "C", 2, NOW).taken is family
    # the id of a reservation on another connector is not taken here
    assert verdict([family], 1, "C", 2, NOW).taken is None


def test_connector_zero_is_taken_by_its_tag_anywhere_and_refuses_nobody() -> None:
    zero = row(3, 0, "A")
    assert verdict([zero], 2, "A", None, NOW).taken is zero
    assert verdict([zero], 1, "A", 3, NOW).taken is zero
    anyone = verdict([zero], 1, "B", None, NOW)
    assert anyone.taken is None and anyone.refused_by is None


def test_the_connector_s_own_reservation_comes_before_connector_zero() -> None:
    zero, own = row(3, 0, "A"), row(4, 1, "A")
    assert verdict([zero, own], 1, "A", None, NOW).taken is own
    assert verdict([zero, own], 2, "A", None, NOW).taken is zero
