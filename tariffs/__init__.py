"""evgate tariffs: OCPI 2.2.1 tariffs, charging periods and exact prices. Pure: no I/O.

The API other rooms call (all re-exported here):

- ``TariffError(ValueError)``: bad input; ``.path`` names the field, ``str(err)`` is
  ``"<path>: <what is wrong>"`` (e.g. ``elements[1].price_components[0].step_size: must be a
  positive integer``).
- ``Tariff`` and its parts (frozen dataclasses: ``TariffElement``, ``PriceComponent``,
  ``Restrictions``, ``Price``, ``DisplayText``; enums ``Dimension``, ``DayOfWeek``,
  ``TariffType``, ``ReservationRestriction``).
- ``parse_tariff(obj) -> Tariff`` and ``tariff_to_json(t) -> dict`` (exact round trip; numbers
  come out as Decimal, write them with ``dumps``); ``parse_simple_tariff(text, currency, vat)``
  for "0.25 per kWh + 0.50 start fee"; ``check_tariff(t) -> list[str]`` warnings.
- ``SessionTrace`` (started_at, stopped_at, meter Wh readings, states "charging"/"parking"/
  "idle", optional power W and current A) and ``build_periods(trace, tariff, tz) ->
  list[ChargingPeriod]``. (``metering.session_timeline`` builds a session's trace.)
- ``price_periods(tariff, periods, tz) -> PricedSession`` and ``price_session(tariff, trace, tz)``:
  lines per component and OCPI CDR totals as ``Cost(excl_vat, incl_vat)`` in full Decimal
  precision; ``total_energy`` kWh, ``total_time`` h (charging + parking, as in OCPI),
  ``total_parking_time`` h. Rounding to the currency's minor unit is billing's job.
- ``closed_form(tariff) -> ClosedForm | None``: for a tariff without restrictions, the price
  from a session's totals, ``ClosedForm.net(energy_wh, charging_s, parking_s) -> Decimal``,
  equal to ``price_periods`` Decimal for Decimal; ``OneWindow(tariff, tz)``: for a tariff
  restricted by the local clock and calendar only, ``.net(started_at, stopped_at, energy_wh,
  charging_s, parking_s)`` is the same for a session inside one window (no boundary crossed),
  else None.
- ``cdr_to_json(session, tariff, cdr_id=..., extra=...)`` (4-decimal amounts),
  ``cdr_totals(session)`` and ``periods_from_cdr(cdr) -> list[ChargingPeriod]``.

Time windows are local time in the site's IANA zone (``tz``), DST included.
"""

from tariffs.cdr import cdr_to_json, cdr_totals, periods_from_cdr
from tariffs.closed_form import ClosedForm, OneWindow, closed_form
from tariffs.errors import TariffError
from tariffs.lint import check_tariff
from tariffs.model import (
    DayOfWeek,
    Dimension,
    DisplayText,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffElement,
    TariffType,
)
from tariffs.numbers import dumps
from tariffs.ocpi_json import parse_tariff, tariff_to_json
from tariffs.periods import ChargingPeriod, SessionTrace, build_periods
from tariffs.pricer import Cost, PricedLine, PricedSession, price_periods, price_session
from tariffs.simple import parse_simple_tariff

__all__ = [
    "ChargingPeriod",
    "ClosedForm",
    "Cost",
    "DayOfWeek",
    "Dimension",
    "DisplayText",
    "Price",
    "PriceComponent",
    "OneWindow",
    "PricedLine",
    "PricedSession",
    "ReservationRestriction",
    "Restrictions",
    "SessionTrace",
    "Tariff",
    "TariffElement",
    "TariffError",
    "TariffType",
    "build_periods",
    "cdr_to_json",
    "cdr_totals",
    "check_tariff",
    "closed_form",
    "dumps",
    "parse_simple_tariff",
    "parse_tariff",
    "periods_from_cdr",
    "price_periods",
    "price_session",
    "tariff_to_json",
]
