"""Which sessions are held back from an invoice and reported instead of billed (pure)."""

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


def hold_reason(
    flags: Iterable[str], energy_wh: int | None, tariff_id: int | None, owner: int | None
) -> str | None:
    """Why a session cannot be billed as it stands, or None when it can."""
    held = sorted(set(flags) & HOLD_FLAGS)
    if held:
        return ",".join(held)
    if energy_wh is None:
        return "no_energy"
    if owner is None:
        return "no_subscriber"
    if tariff_id is None:
        return "no_tariff"
    return None
