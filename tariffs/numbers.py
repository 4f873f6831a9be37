"""Exact numbers in and out: Decimal from JSON-ish values, and JSON text that keeps them exact.

Money and energy arrive as int, str or Decimal (a float only when a plain ``json.loads`` made
one; it is read through its shortest repr, never through binary arithmetic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tariffs.errors import TariffError

FOUR_PLACES = Decimal("0.0001")


# No price, energy, power or current of a real tariff comes near these; past them the
# arithmetic of a month's invoices would leave what 64-bit minor units and Decimal's 28
# digits hold exactly (a 1e20 per kWh price stopped every site's billing run).
MAXIMUM = Decimal(10**9)


def to_decimal(value: object, path: str, *, minimum: Decimal | None = Decimal(0)) -> Decimal:
    """Read a number exactly; reject bools, NaN, infinities, (by default) negatives, and
    numbers past ``MAXIMUM``."""
    if isinstance(value, bool) or value is None:
        raise TariffError(path, "must be a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise TariffError(path, f"must be a number, not {value!r}") from None
    else:
        raise TariffError(path, "must be a number")
    if not result.is_finite():
        raise TariffError(path, "must be a finite number")
    if minimum is not None and result < minimum:
        raise TariffError(path, f"must be at least {minimum}")
    if abs(result) > MAXIMUM:
        raise TariffError(path, f"must be at most {MAXIMUM:,} ({value!r} is beyond any tariff)")
    return result


def to_int(value: object, path: str, *, minimum: int = 0, what: str = "") -> int:
    """Read an integer field (step_size, durations): a JSON integer, nothing else."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TariffError(path, what or "must be an integer")
    if value < minimum:
        raise TariffError(path, what or f"must be an integer of at least {minimum}")
    return value


def q4(value: Decimal) -> Decimal:
    """OCPI amounts carry 4 decimals (half-up)."""
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def decimal_text(value: Decimal) -> str:
    """A Decimal as a plain JSON number (no exponent), digits kept as given."""
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


def dumps(obj: Any, indent: int | None = 2) -> str:
    """JSON text where Decimals are written as exact numbers (``json`` cannot do that)."""
    return _dump(obj, indent, 0)


def _dump(obj: Any, indent: int | None, level: int) -> str:
    if isinstance(obj, Decimal):
        return decimal_text(obj)
    if obj is None or isinstance(obj, bool | int | float | str):
        return json.dumps(obj, ensure_ascii=False)
    pad = "" if indent is None else "\n" + " " * (indent * (level + 1))
    end = "" if indent is None else "\n" + " " * (indent * level)
    sep = ", " if indent is None else ","
    if isinstance(obj, Mapping):
        if not obj:
            return "{}"
        items = (
            f"{pad}{json.dumps(str(k))}: {_dump(v, indent, level + 1)}" for k, v in obj.items()
        )
        return "{" + sep.join(items) + end + "}"
    if isinstance(obj, Sequence):
        if not obj:
            return "[]"
        return "[" + sep.join(pad + _dump(v, indent, level + 1) for v in obj) + end + "]"
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
