"""Simple tariffs a super-admin types ("0.25 per kWh + 0.50 start fee"), stored as OCPI tariffs.

Terms are joined with "+"; each is an amount (optionally with the currency code) and a unit:
  per kWh | per hour [charging] | per minute [charging] | per hour parking |
  per minute parking | start fee (also: per session, session fee, flat)
and two bounds: "min 0.50" / "max 10.00" (also: minimum, maximum, min price, max price).
"""

from __future__ import annotations

import re
from decimal import Decimal

from tariffs.errors import TariffError
from tariffs.model import Dimension, Price, PriceComponent, Tariff, TariffElement

_UNITS: dict[str, tuple[Dimension, int]] = {
    "per kwh": (Dimension.ENERGY, 1),
    "/kwh": (Dimension.ENERGY, 1),
    "per hour": (Dimension.TIME, 1),
    "per hour charging": (Dimension.TIME, 1),
    "/h": (Dimension.TIME, 1),
    "per minute": (Dimension.TIME, 60),
    "per minute charging": (Dimension.TIME, 60),
    "/min": (Dimension.TIME, 60),
    "per hour parking": (Dimension.PARKING_TIME, 1),
    "/h parking": (Dimension.PARKING_TIME, 1),
    "per minute parking": (Dimension.PARKING_TIME, 60),
    "/min parking": (Dimension.PARKING_TIME, 60),
    "start fee": (Dimension.FLAT, 1),
    "per session": (Dimension.FLAT, 1),
    "session fee": (Dimension.FLAT, 1),
    "flat": (Dimension.FLAT, 1),
}
_TERM = re.compile(
    r"(?:(?P<bound>min|minimum|max|maximum)(?: price)?:?\s*)?"
    r"(?:(?P<pre>[a-z]{3})\s*)?(?P<amount>\d+(?:\.\d+)?)\s*(?P<rest>.*)"
)
_EXAMPLE = "write e.g. '0.25 per kWh + 0.50 start fee'"


def parse_simple_tariff(text: str, currency: str, vat: Decimal | None = None) -> Tariff:
    """The OCPI tariff for a simple text: one unrestricted element, step_size 1 (exact)."""
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise TariffError("currency", "must be an ISO 4217 code of 3 capital letters")
    if vat is not None and (not vat.is_finite() or vat < 0):
        raise TariffError("vat", "must be a percentage of at least 0")
    terms = [" ".join(t.lower().split()) for t in text.split("+")]
    if not any(terms):
        raise TariffError("text", f"is empty; {_EXAMPLE}")
    components: list[PriceComponent] = []
    bounds: dict[str, Decimal] = {}
    for n, term in enumerate(terms, start=1):
        m = _TERM.fullmatch(term)
        if not term or m is None:
            raise TariffError("text", f"cannot read term {n} {term!r}; {_EXAMPLE}")
        code = currency.lower()
        if m["pre"] is not None and m["pre"] != code:
            raise TariffError("text", f"term {n} {term!r} is not in {currency}")
        amount, rest = Decimal(m["amount"]), m["rest"]
        if rest == code or rest.startswith((code + " ", code + "/")):
            rest = rest[len(code) :].strip()
        if m["bound"] is not None:
            if rest:
                raise TariffError("text", f"term {n} {term!r}: a bound takes only an amount")
            name = "min_price" if m["bound"].startswith("min") else "max_price"
            if name in bounds:
                raise TariffError("text", f"term {n} {term!r}: {name} is given twice")
            bounds[name] = amount
            continue
        if rest not in _UNITS:
            raise TariffError("text", f"term {n} {term!r} has no known unit; {_EXAMPLE}")
        dimension, factor = _UNITS[rest]
        if any(c.type is dimension for c in components):
            raise TariffError("text", f"term {n} {term!r}: {dimension.value} is priced twice")
        components.append(PriceComponent(dimension, amount * factor, 1, vat))
    if not components:
        raise TariffError("text", f"has no price, only bounds; {_EXAMPLE}")
    low, high = (_price(bounds.get(k), vat) for k in ("min_price", "max_price"))
    if low is not None and high is not None and low.excl_vat > high.excl_vat:
        raise TariffError("text", "the minimum price is above the maximum price")
    return Tariff(
        currency=currency,
        elements=(TariffElement(tuple(components)),),
        min_price=low,
        max_price=high,
    )


def _price(amount: Decimal | None, vat: Decimal | None) -> Price | None:
    if amount is None:
        return None
    incl = amount if vat is None else amount * (100 + vat) / 100
    return Price(amount, incl)
