"""The OCPI 2.2.1 tariff model as frozen dataclasses: what a site owner can say about prices.

Values are kept as given (Decimal for numbers, ``datetime.time``/``date`` for restrictions) so
that ``tariff_to_json(parse_tariff(obj))`` gives ``obj`` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Dimension(StrEnum):
    """TariffDimensionType: what a price component charges for."""

    ENERGY = "ENERGY"  # per kWh, step_size in Wh
    FLAT = "FLAT"  # once per session
    PARKING_TIME = "PARKING_TIME"  # per hour connected but not charging, step_size in s
    TIME = "TIME"  # per hour charging, step_size in s


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


# DayOfWeek in ``date.weekday()`` order (Monday is 0).
WEEKDAYS: tuple[DayOfWeek, ...] = tuple(DayOfWeek)


class TariffType(StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class ReservationRestriction(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


@dataclass(frozen=True, slots=True)
class Price:
    """OCPI Price: an amount excl. VAT and, optionally, incl. VAT."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """A price per unit of one dimension; ``vat`` None means no VAT applies (not 0 %)."""

    type: Dimension
    price: Decimal
    step_size: int
    vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Restrictions:
    """When an element is active. Lower bounds are inclusive, upper bounds exclusive."""

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: tuple[DayOfWeek, ...] | None = None
    reservation: ReservationRestriction | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing restricts (an empty ``day_of_week`` list restricts nothing)."""
        return all(getattr(self, name) in (None, ()) for name in self.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None = None

    @property
    def unrestricted(self) -> bool:
        return self.restrictions is None or self.restrictions.is_empty


@dataclass(frozen=True, slots=True)
class DisplayText:
    language: str
    text: str


@dataclass(frozen=True)
class Tariff:
    """An OCPI 2.2.1 Tariff.

    ``id``, ``country_code``, ``party_id`` and ``last_updated`` are required by the spec but
    optional here (a tariff typed by a super-admin has none yet); ``evgate tariffs check`` warns.
    ``extra`` keeps unknown top-level fields (vendor extensions) for an exact round trip.
    """

    currency: str
    elements: tuple[TariffElement, ...]
    id: str | None = None
    country_code: str | None = None
    party_id: str | None = None
    type: TariffType | None = None
    tariff_alt_text: tuple[DisplayText, ...] | None = None
    tariff_alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: str | None = None
    end_date_time: str | None = None
    energy_mix: Any = None
    last_updated: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    # The pricer's precomputed plan, built on first use (see tariffs.plan).
    _plan: Any = field(default=None, init=False, repr=False, compare=False, hash=False)
