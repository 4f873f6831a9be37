"""A site's power limit shared between its running sessions: exact integer watts. Pure.

``equal_shares`` gives every session the same whole number of watts, the limit divided by
the number of sessions rounded down, so the shares never add up to more than the limit (what
rounding leaves over is less than one watt per session, and stays unused).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

# a limit past this (1 GW) is no site's: refused where it is entered
MAX_SITE_POWER_W = 10**9


def equal_shares(limit_w: int, sessions: Sequence[K]) -> dict[K, int]:
    """Each session's share of ``limit_w`` in W: equal, whole, never negative, summing to at
    most the limit. A session named twice counts once."""
    if isinstance(limit_w, bool) or not isinstance(limit_w, int):
        raise TypeError("the limit is a whole number of watts")
    if limit_w < 0:
        raise ValueError("a power limit cannot be negative")
    unique = list(dict.fromkeys(sessions))
    if not unique:
        return {}
    share = limit_w // len(unique)
    return {key: share for key in unique}
