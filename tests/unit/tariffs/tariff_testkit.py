"""Helpers for the tariff tests: periods laid end to end, tariffs from short dicts, money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tariffs import ChargingPeriod, Cost, Tariff, parse_tariff


def local(text: str, tz: str = "UTC") -> datetime:
    """'2024-06-15 13:30' in zone ``tz``, as an aware UTC datetime."""
    naive = datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def laid_out(start: datetime, *parts: tuple[Any, ...]) -> list[ChargingPeriod]:
    """Periods end to end: ("charge", minutes, kwh, **dims) or ("park", minutes)."""
    periods = []
    t = start
    for part in parts:
        kind, minutes = part[0], Decimal(str(part[1]))
        end = t + timedelta(seconds=int(minutes * 60))
        seconds = minutes * 60
        if kind == "charge":
            kwh = Decimal(str(part[2])) if len(part) > 2 else Decimal(0)
            extra = part[3] if len(part) > 3 else {}
            periods.append(ChargingPeriod(t, end, energy_kwh=kwh, charging_s=seconds, **extra))
        else:
            periods.append(ChargingPeriod(t, end, parking_s=seconds))
        t = end
    return periods


def component(kind: str, price: str, step: int = 1, vat: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        out["vat"] = Decimal(vat)
    return out


def tariff(*elements: dict[str, Any], **top: Any) -> Tariff:
    return parse_tariff({"currency": "EUR", "elements": list(elements), **top})


def element(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        out["restrictions"] = restrictions
    return out


def rounded(cost: Cost, places: str = "0.01") -> tuple[str, str]:
    """(excl, incl) rounded half-up, as strings, for comparing with the spec's figures."""
    q = Decimal(places)
    return (
        str(cost.excl_vat.quantize(q, ROUND_HALF_UP)),
        str(cost.incl_vat.quantize(q, ROUND_HALF_UP)),
    )
