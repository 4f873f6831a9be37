"""Which sessions are held back from an invoice and reported instead of billed (pure).

A person may review a session its flags hold back (services/session_review.py): ``approve``
bills it despite them (what else a bill needs still holds it), ``exclude`` never bills it.
"""

from __future__ import annotations

from collections.abc import Iterable

# energy or identity we cannot vouch for: a person decides, the run never bills them silently
HOLD_FLAGS = frozenset(
    {
        "negative_energy",
        "implausible_energy",
        "register_decreased",
        "review",
        "unknown_transaction",
        "stop_before_start",
    }
)


DECISIONS = ("approve", "exclude")


def holding_flags(flags: Iterable[str]) -> list[str]:
    """The flags that hold a session back, sorted (what a review decides on)."""
    return sorted(set(flags) & HOLD_FLAGS)


def hold_reason(
    flags: Iterable[str],
    energy_wh: int | None,
    tariff_id: int | None,
    owner: int | None,
    approved: bool = False,
) -> str | None:
    """Why a session cannot be billed as it stands, or None when it can; ``approved``: a
    person approved it despite its flags."""
    held = [] if approved else holding_flags(flags)
    if held:
        return ",".join(held)
    if energy_wh is None:
        return "no_energy"
    if owner is None:
        return "no_subscriber"
    if tariff_id is None:
        return "no_tariff"
    return None
