"""The id a single-row INSERT was given."""

from __future__ import annotations

from typing import Any


def new_id(result: Any) -> int:
    """inserted_primary_key[0] of an INSERT's result (None only for statements that insert
    nothing, which would be a bug here: say so instead of a TypeError)."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])
