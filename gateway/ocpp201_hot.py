"""The hot shape of an OCPP 2.0.1 TransactionEvent Updated, checked and read in one pass.

The compiled schema acceptor (gateway.validators) asks every property the schema defines of
every sampled value, present or not, and reading the samples then walks them again through
1.6-shaped dicts (gateway.ocpp201.reading, metering.parse_reading): twice the work of a 1.6
MeterValues. A periodic Updated has one shape, so `updated_readings` checks that shape and
reads the register and power while it checks: each property is fetched once, for both.

It only ever says yes to what the schema accepts: a payload with any property outside the
shape (customData, idToken, signedMeterValue, ...) or any doubt (an integer sent as 1.0, a
date-time fromisoformat cannot read) gets None and goes the ordinary way (the
full schema check, then `readings`). The enums and length limits are the schema's own, read
from it here; tests/unit/gateway/test_ocpp201_hot.py holds the verdicts to the schema's and
the readings to `readings`'.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from gateway import schemas
from gateway.validators import date_time
from metering import EAIR, MAX_REGISTER_WH, POWER, Reading, parse_timestamp

_SCHEMA = schemas.schema("v201", "TransactionEventRequest")
assert _SCHEMA is not None, "the ocpp package ships TransactionEventRequest"
_DEFS: dict[str, Any] = _SCHEMA["definitions"]
_MISSING: Any = object()


def _enum(name: str) -> frozenset[Any]:
    """The schema's values of an enum, and MISSING (the property left out) beside them."""
    return frozenset(_DEFS[name]["enum"]) | {_MISSING}


def _max_length(definition: str, name: str) -> int:
    length: int = _DEFS[definition]["properties"][name]["maxLength"]
    return length


_TRIGGERS = frozenset(_DEFS["TriggerReasonEnumType"]["enum"])  # required: no MISSING
_CHARGING = _enum("ChargingStateEnumType")
_CONTEXTS = _enum("ReadingContextEnumType")
_MEASURANDS = _enum("MeasurandEnumType")
_PHASES = _enum("PhaseEnumType")
_LOCATIONS = _enum("LocationEnumType")
_ID_MAX = _max_length("TransactionType", "transactionId")
_UNIT_MAX = _max_length("UnitOfMeasureType", "unit")
_INT32 = 2**31 - 1  # seqNo is kept in a 32-bit column (gateway.ocpp201._check)

# The shape: the properties each object may have here (a subset of the schema's)
TOP = frozenset(
    {
        "eventType",
        "timestamp",
        "triggerReason",
        "seqNo",
        "transactionInfo",
        "meterValue",
        "offline",
        "numberOfPhasesUsed",
        "cableMaxCurrent",
        "evse",
    }
)
TRANSACTION = frozenset({"transactionId", "chargingState", "timeSpentCharging", "remoteStartId"})
EVSE = frozenset({"id", "connectorId"})
METER_VALUE = frozenset({"timestamp", "sampledValue"})
SAMPLED_VALUE = frozenset({"value", "context", "measurand", "phase", "location", "unitOfMeasure"})
UNIT = frozenset({"unit", "multiplier"})
_NUMBER = frozenset({int, float})  # JSON numbers as orjson gives them (bool is not one)
_OPTIONAL_INTS = ("numberOfPhasesUsed", "cableMaxCurrent")

# metering.parse_reading's units, as integer factors to milli-Wh and W, and its bounds
_ENERGY_FACTOR = {"Wh": 1000, "kWh": 1_000_000}
_POWER_FACTOR = {"W": 1, "kW": 1000}
_MAX_MWH = MAX_REGISTER_WH * 1000
_MAX_POWER_W = 2**31 - 1
_ONE = Decimal(1)


def _scaled(value: int | float, multiplier: int, factor: int, limit: int) -> int | None:
    """metering.parse_reading's value of a JSON number times 10**multiplier: exact, half-even
    to an integer, None beyond `limit`. An integer needs no Decimal; a float is read as the
    decimal it was written as (its shortest repr, as gateway.ocpp201._text reads it)."""
    if type(value) is int and multiplier == 0:
        scaled = value * factor
        return scaled if -limit <= scaled <= limit else None
    try:
        number = Decimal(repr(value)).scaleb(multiplier) * factor
        if not number.is_finite() or abs(number) > limit:
            return None
        return int(number.quantize(_ONE, rounding=ROUND_HALF_EVEN))
    except ArithmeticError:  # InvalidOperation, Overflow: a multiplier no meter sends
        return None


def _reading(values: Any, ts: datetime) -> Reading | None:
    """One meterValue's sampled values checked against the schema (None: not sure) and read
    as gateway.ocpp201.reading reads them."""
    if type(values) is not list or not values:
        return None
    context = None
    energy: int | None = None
    power: int | None = None
    energy_rank = 9  # 0: the phase-less register, 1: a phase's
    for sv in values:
        if type(sv) is not dict or not sv.keys() <= SAMPLED_VALUE:
            return None
        value: Any = sv.get("value")
        if type(value) not in _NUMBER:
            return None
        found = sv.get("context", _MISSING)
        measurand = sv.get("measurand", _MISSING)
        phase = sv.get("phase", _MISSING)
        location = sv.get("location", _MISSING)
        if (
            found not in _CONTEXTS
            or measurand not in _MEASURANDS
            or phase not in _PHASES
            or location not in _LOCATIONS
        ):
            return None
        unit: Any = sv.get("unitOfMeasure", _MISSING)  # (null is not absent: the schema refuses it)
        multiplier = 0
        if unit is not _MISSING:
            if type(unit) is not dict or not unit.keys() <= UNIT:
                return None
            multiplier = unit.get("multiplier", 0)
            if type(multiplier) is not int:
                return None
            unit = unit.get("unit", _MISSING)
            if unit is not _MISSING and (type(unit) is not str or len(unit) > _UNIT_MAX):
                return None
        if context is None and found is not _MISSING:
            context = found
        if measurand is _MISSING or measurand == EAIR:
            if location is not _MISSING and location != "Outlet":
                continue
            rank = 0 if phase is _MISSING else 1
            if rank < energy_rank:
                factor = _ENERGY_FACTOR.get("Wh" if unit is _MISSING else unit)
                if factor is not None:
                    mwh = _scaled(value, multiplier, factor, _MAX_MWH)
                    if mwh is not None:
                        energy, energy_rank = mwh, rank
        elif measurand == POWER and power is None and phase is _MISSING:
            factor = _POWER_FACTOR.get("W" if unit is _MISSING else unit)
            if factor is not None:
                power = _scaled(value, multiplier, factor, _MAX_POWER_W)
    return Reading(ts, energy, power, context)


def _is_int(holder: dict[str, Any], name: str) -> bool:
    """An optional integer property: absent, or an int (1.0, an integer to draft-06, is
    left to the full check)."""
    return type(holder.get(name, 0)) is int


def updated_readings(p: Any) -> list[tuple[Reading, Any]] | None:
    """(reading, sampled values as sent) per meterValue of a TransactionEvent Updated the
    schema accepts and whose seqNo fits the store; None for anything else, or in doubt."""
    try:
        return _updated(p)
    except (TypeError, ValueError):  # an unhashable enum value; a date fromisoformat refuses
        return None


def _updated(p: Any) -> list[tuple[Reading, Any]] | None:
    if type(p) is not dict or not p.keys() <= TOP or p.get("eventType") != "Updated":
        return None
    stamp = p.get("timestamp")
    if type(stamp) is not str or not date_time(stamp):
        return None
    seq = p.get("seqNo")
    if type(seq) is not int or not -_INT32 <= seq <= _INT32:
        return None
    if p.get("triggerReason") not in _TRIGGERS or type(p.get("offline", False)) is not bool:
        return None
    if not (_is_int(p, "numberOfPhasesUsed") and _is_int(p, "cableMaxCurrent")):
        return None
    info = p.get("transactionInfo")
    if type(info) is not dict or not info.keys() <= TRANSACTION:
        return None
    ref = info.get("transactionId")
    if (
        type(ref) is not str
        or len(ref) > _ID_MAX
        or info.get("chargingState", _MISSING) not in (_CHARGING)
    ):
        return None
    if not (_is_int(info, "timeSpentCharging") and _is_int(info, "remoteStartId")):
        return None
    evse = p.get("evse", _MISSING)
    if evse is not _MISSING and (
        type(evse) is not dict
        or not evse.keys() <= EVSE
        or type(evse.get("id")) is not int
        or not _is_int(evse, "connectorId")
    ):
        return None
    meter = p.get("meterValue")
    if type(meter) is not list or not meter:
        return None
    ts = parse_timestamp(stamp)
    out = []
    for mv in meter:
        if type(mv) is not dict or not mv.keys() <= METER_VALUE:
            return None
        at = mv.get("timestamp")
        if at == stamp:  # a meterValue stamped like its event: one check, one parse
            mv_ts = ts
        elif type(at) is str and date_time(at):
            mv_ts = parse_timestamp(at)
        else:
            return None
        values = mv.get("sampledValue")
        found = _reading(values, mv_ts)
        if found is None:
            return None
        out.append((found, values))
    return out


__all__ = ["updated_readings"]
