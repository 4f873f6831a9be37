"""Money: integer minor units in storage, Decimal in computation, half-up rounding, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units where they differ from 2
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "JOD": 3, "TND": 3}


def minor_units(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (NOK, EUR, SEK, DKK: 2)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` (major units, any precision) rounded half-up to an integer of minor units."""
    scale = Decimal(10) ** minor_units(currency)
    return int((amount * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_half_up(value: Decimal) -> int:
    """An amount already in minor units (maybe fractional) rounded half-up (away from zero)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_of(net_minor: int, vat_bp: int) -> int:
    """VAT on a net amount in minor units at a rate in basis points, rounded once, half-up."""
    return round_half_up(Decimal(net_minor) * vat_bp / 10000)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units back to a Decimal in major units (for display and Stripe's opposite)."""
    return Decimal(minor).scaleb(-minor_units(currency))


def format_amount(minor: int, currency: str) -> str:
    """``12345, "NOK"`` -> ``"123.45"`` (exact, no float)."""
    digits = minor_units(currency)
    return f"{to_major(minor, currency):.{digits}f}"
