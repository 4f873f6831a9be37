"""The unit prices that priced a session (pure), as stored with its invoice line.

A line carries the prices of the tariff elements that priced it, per dimension, excl. VAT,
exactly as the tariff states them: ``"E=2.50;T=60.00;P=12.00;F=5.00"`` (energy per kWh,
charging time per hour, parking time per hour, a flat fee per session). A session of a
time-of-day tariff that crossed a window carries each price it met: ``"E=1.00/4.00"``.
Written once, at assembly, so a re-rendered invoice shows what priced it then.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tariffs import ClosedForm, Dimension, PricedLine

ENERGY, TIME, PARKING, FLAT = "E", "T", "P", "F"
ORDER = (ENERGY, TIME, PARKING, FLAT)
_CODE = {
    Dimension.ENERGY: ENERGY,
    Dimension.TIME: TIME,
    Dimension.PARKING_TIME: PARKING,
    Dimension.FLAT: FLAT,
}


def encode(prices: dict[str, list[Decimal]]) -> str | None:
    parts = []
    for code in ORDER:
        values = prices.get(code)
        if values:
            unique = sorted(set(values))
            parts.append(f"{code}=" + "/".join(str(v) for v in unique))
    return ";".join(parts) or None


def of_form(form: ClosedForm | None) -> str | None:
    """The unit prices of a closed form (an unrestricted tariff, or one window of one)."""
    if form is None:
        return None
    found = {
        ENERGY: form.energy,
        TIME: form.time,
        PARKING: form.parking,
        FLAT: form.flat,
    }
    return encode({code: [c.price] for code, c in found.items() if c is not None})


def of_lines(lines: Iterable[PricedLine]) -> str | None:
    """The unit prices the pricer billed a session's trace with (each price met, once)."""
    prices: dict[str, list[Decimal]] = {}
    for line in lines:
        code = _CODE.get(line.dimension)
        if code is not None:
            prices.setdefault(code, []).append(line.price)
    return encode(prices)


def decode(text: str | None) -> dict[str, list[Decimal]]:
    """``"E=1.00/4.00;F=5"`` -> ``{"E": [Decimal("1.00"), Decimal("4.00")], "F": [...]}``."""
    out: dict[str, list[Decimal]] = {}
    for part in (text or "").split(";"):
        if "=" in part:
            code, values = part.split("=", 1)
            out[code] = [Decimal(v) for v in values.split("/")]
    return out


def single_energy_price(text: str | None) -> Decimal | None:
    """The one energy price of a line, or None (none, or several windows' prices)."""
    energy = decode(text).get(ENERGY) or []
    return energy[0] if len(energy) == 1 else None
