"""Dates, numbers and money in a document language's own forms (Babel), exact: no floats.

A document in Norwegian says "1 234 567,89 kr" and "01.11.2026"; in English "NOK 1,234,567.89"
and "01/11/2026". Amounts arrive as integer minor units and leave Babel as text made from a
Decimal, so no rounding happens here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from billing.money import minor_units, to_major

# The locale each document language is written in (regional forms of the Nordic users).
LOCALES = {"en": "en_GB", "sv": "sv_SE", "nb": "nb_NO", "da": "da_DK", "fr": "fr_FR"}


def locale_of(language: str | None) -> str:
    """``"nb-NO"``/``"no"`` -> ``"nb_NO"``; anything unknown -> English."""
    code = (language or "en").lower().split("-")[0].split("_")[0]
    code = {"no": "nb", "nn": "nb"}.get(code, code)
    return LOCALES.get(code, LOCALES["en"])


def money(minor: int, currency: str, language: str | None) -> str:
    """``12345, "NOK", "nb"`` -> ``"123,45 kr"`` (the currency's own number of digits)."""
    return format_currency(to_major(minor, currency), currency, locale=locale_of(language))


def number(minor: int, currency: str, language: str | None) -> str:
    """An amount without its currency sign, for table columns headed with the currency."""
    digits = minor_units(currency)
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(to_major(minor, currency), format=pattern, locale=locale_of(language))


def kwh(wh: int | None, language: str | None) -> str:
    """Energy in kWh with three decimals, from integer Wh (exact)."""
    value = Decimal(wh or 0).scaleb(-3)
    return format_decimal(value, format="#,##0.000", locale=locale_of(language))


def percent(basis_points: int, language: str | None) -> str:
    """A VAT rate in basis points: ``2500`` -> ``"25 %"`` / ``"25%"``, ``1250`` -> ``"12,5 %"``."""
    value = Decimal(basis_points).scaleb(-2)
    text = format_decimal(value, format="#,##0.##", locale=locale_of(language))
    return f"{text}\u00a0%" if locale_of(language) != "en_GB" else f"{text}%"


def date(dt: datetime | None, tz: str, language: str | None) -> str:
    """The local calendar date at the site, in the language's short form."""
    if dt is None:
        return ""
    return format_date(dt.astimezone(ZoneInfo(tz)).date(), "short", locale=locale_of(language))


def time_of_day(dt: datetime | None, tz: str, language: str | None) -> str:
    """The local time of day at the site (a 24-hour clock in every document language)."""
    if dt is None:
        return ""
    return format_datetime(dt.astimezone(ZoneInfo(tz)), "HH:mm", locale=locale_of(language))


def date_time(dt: datetime | None, tz: str, language: str | None) -> str:
    """Local date and time at the site (24-hour clock in every document language)."""
    if dt is None:
        return ""
    return f"{date(dt, tz, language)} {time_of_day(dt, tz, language)}"


def unit_money(price: Decimal, currency: str, language: str | None) -> str:
    """A unit price as the tariff states it: at least the currency's digits, never rounded
    (``Decimal("2.5")`` -> ``"2,50 kr"``, ``Decimal("2.4375")`` -> ``"2,4375 kr"``)."""
    return format_currency(price, currency, locale=locale_of(language), decimal_quantization=False)


def quantity(milli: int, language: str | None) -> str:
    """A manual line's quantity from thousandths: ``1500`` -> ``"1,5"`` / ``"1.5"`` (exact)."""
    value = Decimal(milli).scaleb(-3)
    return format_decimal(value, format="#,##0.###", locale=locale_of(language))
