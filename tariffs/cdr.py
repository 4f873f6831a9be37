"""OCPI 2.2.1 CDR out (a priced session) and in (a CDR's charging periods, to re-price them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tariffs.errors import TariffError
from tariffs.model import Tariff
from tariffs.numbers import q4, to_decimal
from tariffs.ocpi_json import tariff_to_json
from tariffs.periods import ChargingPeriod
from tariffs.pricer import Cost, PricedSession

_HOUR = Decimal(3600)
_KWH_PLACES = Decimal("0.000001")  # 1 mWh
_HOUR_PLACES = Decimal("0.000000001")  # 3.6 us: hours survive a round trip to the millisecond
_MS = Decimal("0.001")
# CdrDimensionType values of OCPI 2.2.1; the ones without a price meaning are read and ignored.
_IGNORED = frozenset({"CURRENT", "ENERGY_EXPORT", "ENERGY_IMPORT", "POWER", "STATE_OF_CHARGE"})
_KNOWN = frozenset(
    {"ENERGY", "TIME", "PARKING_TIME", "RESERVATION_TIME", "MAX_POWER", "MIN_POWER"}
    | {"MAX_CURRENT", "MIN_CURRENT"}
    | _IGNORED
)


def cost_json(cost: Cost) -> dict[str, Decimal]:
    """An OCPI Price with 4-decimal amounts."""
    return {"excl_vat": q4(cost.excl_vat), "incl_vat": q4(cost.incl_vat)}


def cdr_totals(session: PricedSession) -> dict[str, Any]:
    """The CDR total fields: costs at 4 decimals, volumes in kWh and hours."""
    return {
        "total_cost": cost_json(session.total_cost),
        "total_fixed_cost": cost_json(session.total_fixed_cost),
        "total_energy": _kwh(session.total_energy),
        "total_energy_cost": cost_json(session.total_energy_cost),
        "total_time": _hours(session.total_time * _HOUR),
        "total_time_cost": cost_json(session.total_time_cost),
        "total_parking_time": _hours(session.total_parking_time * _HOUR),
        "total_parking_cost": cost_json(session.total_parking_cost),
        "total_reservation_cost": cost_json(session.total_reservation_cost),
    }


def cdr_to_json(
    session: PricedSession,
    tariff: Tariff | None = None,
    *,
    cdr_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An OCPI CDR object of a priced session.

    The caller adds what the pricer does not know (country_code, party_id, cdr_token,
    auth_method, cdr_location, last_updated, ...) through ``extra``. Period volumes are cut
    from rounded running totals, so they add up exactly to the CDR totals.
    """
    out: dict[str, Any] = {}
    if cdr_id is not None:
        out["id"] = cdr_id
    if session.start is not None and session.end is not None:
        out["start_date_time"] = _datetime_text(session.start)
        out["end_date_time"] = _datetime_text(session.end)
    out["currency"] = session.currency
    if tariff is not None:
        out["tariffs"] = [tariff_to_json(tariff)]
    out["charging_periods"] = _periods_json(session)
    out.update(cdr_totals(session))
    if extra:
        out.update(extra)
    return out


def periods_from_cdr(cdr: object) -> list[ChargingPeriod]:
    """The charging periods of an OCPI CDR; each ends where the next starts, the last at
    the CDR's ``end_date_time``."""
    if not isinstance(cdr, Mapping):
        raise TariffError("cdr", "must be a JSON object")
    raw = cdr.get("charging_periods")
    if not isinstance(raw, list) or not raw:
        raise TariffError("charging_periods", "must be a non-empty list")
    if "end_date_time" not in cdr:
        raise TariffError("end_date_time", "is required")
    end = _parse_datetime(cdr["end_date_time"], "end_date_time")
    starts: list[datetime] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise TariffError(f"charging_periods[{i}]", "must be a JSON object")
        if "start_date_time" not in item:
            raise TariffError(f"charging_periods[{i}].start_date_time", "is required")
        t = _parse_datetime(item["start_date_time"], f"charging_periods[{i}].start_date_time")
        if starts and t < starts[-1]:
            raise TariffError(
                f"charging_periods[{i}].start_date_time", "is before the previous period's start"
            )
        starts.append(t)
    if end < starts[-1]:
        raise TariffError("end_date_time", "is before the last charging period's start")
    bounds = [*starts[1:], end]
    return [
        _period(item, f"charging_periods[{i}]", starts[i], bounds[i]) for i, item in enumerate(raw)
    ]


def cdr_time_warnings(cdr: Mapping[str, Any], periods: list[ChargingPeriod]) -> list[str]:
    """What is odd about a CDR's times, yet priceable: periods are priced at their own times.

    Seen from a real CPO: charging periods that start before the CDR's ``start_date_time``
    (the session clock and the period clock disagree). The periods are what was metered, so
    they are priced as they are; the CDR's start is only reported against them.
    """
    raw = cdr.get("start_date_time")
    if not periods or raw is None:
        return []
    try:
        start = _parse_datetime(raw, "start_date_time")
    except TariffError as err:
        return [f"{err}; ignored, the charging periods give the session's times"]
    first = periods[0].start
    if first >= start:
        return []
    early = sum(1 for p in periods if p.start < start)
    return [
        f"charging_periods[0].start_date_time: {_datetime_text(first)} is "
        f"{_duration_text(start - first)} before the CDR's start_date_time "
        f"{_datetime_text(start)} ({early} period(s) start before it); priced at the periods' "
        "own times"
    ]


def _duration_text(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return " ".join(f"{n} {u}" for n, u in ((h, "h"), (m, "min"), (s, "s")) if n) or "0 s"


def _period(item: Mapping[str, Any], path: str, start: datetime, end: datetime) -> ChargingPeriod:
    dims = item.get("dimensions")
    if not isinstance(dims, list) or not dims:
        raise TariffError(f"{path}.dimensions", "must be a non-empty list")
    values: dict[str, Decimal] = {}
    for j, dim in enumerate(dims):
        p = f"{path}.dimensions[{j}]"
        if not isinstance(dim, Mapping):
            raise TariffError(p, "must be a JSON object")
        kind = dim.get("type")
        if kind not in _KNOWN:
            raise TariffError(f"{p}.type", f"unknown CDR dimension {kind!r}")
        if "volume" not in dim:
            raise TariffError(f"{p}.volume", "is required")
        volume = to_decimal(dim["volume"], f"{p}.volume", minimum=None)
        if kind in _IGNORED:
            continue
        if volume < 0:
            raise TariffError(f"{p}.volume", "must not be negative")
        if kind in values:
            raise TariffError(f"{p}.type", f"{kind} is given twice in this period")
        values[str(kind)] = volume
    tariff_id = item.get("tariff_id")
    if tariff_id is not None and not isinstance(tariff_id, str):
        raise TariffError(f"{path}.tariff_id", "must be a string")
    return ChargingPeriod(
        start=start,
        end=end,
        energy_kwh=values.get("ENERGY", Decimal(0)),
        charging_s=_seconds(values.get("TIME")),
        parking_s=_seconds(values.get("PARKING_TIME")),
        reservation_s=_seconds(values.get("RESERVATION_TIME")),
        max_power_kw=values.get("MAX_POWER"),
        min_power_kw=values.get("MIN_POWER"),
        max_current_a=values.get("MAX_CURRENT"),
        min_current_a=values.get("MIN_CURRENT"),
        tariff_id=tariff_id,
    )


def _periods_json(session: PricedSession) -> list[dict[str, Any]]:
    out = []
    cumulative = {"ENERGY": Decimal(0), "TIME": Decimal(0), "PARKING_TIME": Decimal(0)}
    cumulative["RESERVATION_TIME"] = Decimal(0)
    written = dict(cumulative)
    for p in session.periods:
        dims: list[dict[str, Any]] = []
        for kind, amount, unit in (
            ("ENERGY", p.energy_kwh, _kwh),
            ("TIME", p.charging_s, _hours),
            ("PARKING_TIME", p.parking_s, _hours),
            ("RESERVATION_TIME", p.reservation_s, _hours),
        ):
            if amount <= 0 and not (kind == "ENERGY" and p.charging_s > 0):
                continue
            cumulative[kind] += amount
            volume = unit(cumulative[kind]) - written[kind]
            written[kind] += volume
            dims.append({"type": kind, "volume": volume})
        for kind, value in (
            ("MAX_POWER", p.max_power_kw),
            ("MIN_POWER", p.min_power_kw),
            ("MAX_CURRENT", p.max_current_a),
            ("MIN_CURRENT", p.min_current_a),
        ):
            if value is not None:
                dims.append({"type": kind, "volume": value.quantize(_KWH_PLACES).normalize()})
        if not dims:
            dims.append({"type": "TIME", "volume": Decimal(0)})
        period: dict[str, Any] = {"start_date_time": _datetime_text(p.start), "dimensions": dims}
        if p.tariff_id is not None:
            period["tariff_id"] = p.tariff_id
        out.append(period)
    return out


def _kwh(value: Decimal) -> Decimal:
    return value.quantize(_KWH_PLACES, rounding=ROUND_HALF_EVEN).normalize()


def _hours(seconds: Decimal) -> Decimal:
    return (seconds / _HOUR).quantize(_HOUR_PLACES, rounding=ROUND_HALF_EVEN).normalize()


def _seconds(hours: Decimal | None) -> Decimal:
    """Hours to seconds, to the millisecond (absorbs the rounding of hours written by us)."""
    return Decimal(0) if hours is None else (hours * _HOUR).quantize(_MS)


def _datetime_text(t: datetime) -> str:
    t = t.astimezone(UTC)
    spec = "microseconds" if t.microsecond else "seconds"
    return t.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _parse_datetime(value: object, path: str) -> datetime:
    """OCPI DateTime: UTC, ``Z`` optional (a missing offset means UTC)."""
    if not isinstance(value, str):
        raise TariffError(path, "must be an OCPI DateTime string")
    try:
        t = datetime.fromisoformat(value.removesuffix("Z"))
    except ValueError:
        raise TariffError(
            path, f"must be an OCPI DateTime like 2015-06-29T21:39:09Z, not {value!r}"
        ) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
