"""Billing periods: calendar months in a site's IANA time zone, as UTC bounds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from store.errors import Invalid

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(Invalid):
    """A period that is not YYYY-MM."""


def parse_period(period: str) -> tuple[int, int]:
    m = _PERIOD.match(period)
    if m is None:
        raise PeriodError(f"period must be YYYY-MM (e.g. 2026-10), not {period!r}")
    year = int(m.group(1))
    if not 1970 <= year <= 9998:
        raise PeriodError(f"period {period!r} is out of range: use a year from 1970 to 9998")
    return year, int(m.group(2))


def shift(period: str, months: int) -> str:
    """The period ``months`` later (negative: earlier)."""
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, later: str) -> int:
    y1, m1 = parse_period(first)
    y2, m2 = parse_period(later)
    return (y2 * 12 + m2) - (y1 * 12 + m1)


def month_start(period: str, tz: str) -> datetime:
    """Local midnight of the 1st of ``period`` in ``tz``, as an aware UTC datetime."""
    year, month = parse_period(period)
    return datetime(year, month, 1, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def month_bounds(period: str, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar month in UTC: DST changes make months uneven."""
    return month_start(period, tz), month_start(shift(period, 1), tz)


def period_of(instant: datetime, tz: str) -> str:
    """The local month an (aware) instant falls in."""
    local = instant.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


def local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()
