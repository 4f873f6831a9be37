"""The site power split: equal whole watts, never more than the limit, never negative."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metering.power_share import MAX_SITE_POWER_W, equal_shares


def test_one_session_takes_the_whole_limit() -> None:
    assert equal_shares(22_000, [7]) == {7: 22_000}


def test_the_limit_is_split_equally_and_rounded_down() -> None:
    assert equal_shares(10_000, [1, 2]) == {1: 5_000, 2: 5_000}
    assert equal_shares(10_000, [1, 2, 3]) == {1: 3_333, 2: 3_333, 3: 3_333}
    assert equal_shares(2, [1, 2, 3]) == {1: 0, 2: 0, 3: 0}


def test_no_sessions_no_shares_and_a_session_named_twice_counts_once() -> None:
    assert equal_shares(10_000, []) == {}
    assert equal_shares(9_000, ["a", "b", "a"]) == {"a": 4_500, "b": 4_500}


@pytest.mark.parametrize("limit", [-1, 1.5, True, "22"])
def test_a_limit_that_is_not_whole_non_negative_watts_is_refused(limit: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        equal_shares(limit, [1])  # type: ignore[arg-type]


@given(
    st.integers(min_value=0, max_value=MAX_SITE_POWER_W),
    st.lists(st.integers(min_value=1, max_value=10**12), max_size=200),
)
def test_shares_are_exact_whole_watts_within_the_limit(limit: int, sessions: list[int]) -> None:
    shares = equal_shares(limit, sessions)
    assert set(shares) == set(sessions)
    assert all(type(w) is int and w >= 0 for w in shares.values())
    assert sum(shares.values()) <= limit
    if shares:
        assert len(set(shares.values())) == 1  # equal
        assert limit - sum(shares.values()) < len(shares)  # less than 1 W each left over
