"""Readings and session energy: what one meterValue says, and what a session consumed.

No I/O here: functions of plain data, so every rule of docs/domain.md "Metering" is tested
with plain data (and hypothesis) and runs on the gateway's hot path without the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

EAIR = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"

# A charger clock before this, or more than a day ahead of us, is wrong (e.g. year 1970).
EARLIEST_SANE = datetime(2015, 1, 1, tzinfo=UTC)
CLOCK_AHEAD_LIMIT = timedelta(days=1)

# A register beyond this is no meter's (a thousand times a busy charger's lifetime); its
# milli-Wh still fit a signed 64-bit column with room to add them up.
MAX_REGISTER_WH = 10**12
_MAX_MWH = MAX_REGISTER_WH * 1000
_MAX_POWER_W = 2**31 - 1  # what the power column holds; no connector comes near

_ENERGY_SCALE = {"Wh": Decimal(1000), "kWh": Decimal(1_000_000)}  # to milli-Wh
_POWER_SCALE = {"W": Decimal(1), "kW": Decimal(1000)}
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Reading:
    """What one OCPP meterValue says that matters for billing."""

    ts: datetime
    energy_mwh: int | None  # Energy.Active.Import.Register in milli-Wh
    power_w: int | None
    context: str | None


@dataclass(frozen=True, slots=True)
class EnergyResult:
    energy_wh: int
    meter_stop_wh: int  # the stop register actually used
    flags: tuple[str, ...]


_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 from a charger to aware UTC ("Z", offsets and naive-as-UTC accepted).

    A time whose UTC form falls outside years 1-9999 (``0001-01-01T00:00:00+14:00``) comes
    back as the first or last representable instant: a clock that far off is corrected and
    flagged by ``sane_timestamp`` like any other.
    """
    ts = datetime.fromisoformat(value)
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        return _FIRST if ts.year == 1 else _LAST


def sane_timestamp(ts: datetime, received_at: datetime) -> tuple[datetime, bool]:
    """The charger's time, or our receive time when its clock is wildly off (flagged)."""
    if ts < EARLIEST_SANE or ts > received_at + CLOCK_AHEAD_LIMIT:
        return received_at, True
    return ts, False


def _scaled(value: str, scale: Decimal, limit: int) -> int | None:
    """A decimal string times ``scale`` as an int, or None when it is unreadable or beyond
    ``limit`` either way (the value as sent is kept with the sample all the same)."""
    try:
        number = Decimal(value) * scale
    except (ArithmeticError, TypeError):  # unreadable, or past Decimal's exponent (Overflow)
        return None
    if not number.is_finite() or abs(number) > limit:
        return None
    return int(number.quantize(_ONE, rounding=ROUND_HALF_EVEN))


def parse_reading(meter_value: Mapping[str, Any], ts: datetime) -> Reading:
    """Pick the session register and active power out of one meterValue.

    The register is the phase-less Energy.Active.Import.Register at the outlet (absent
    measurand means that register, per OCPP 1.6); units Wh or kWh; values are decimal strings
    parsed exactly. A phase total is preferred over a single phase.
    """
    energy: int | None = None
    energy_rank = 9
    power: int | None = None
    context: str | None = None
    for sv in meter_value.get("sampledValue", ()):
        measurand = sv.get("measurand", EAIR)
        if context is None:
            context = sv.get("context")
        if measurand == EAIR:
            location = sv.get("location")
            if location not in (None, "Outlet"):
                continue
            rank = 0 if sv.get("phase") is None else 1
            if rank < energy_rank:
                scale = _ENERGY_SCALE.get(sv.get("unit", "Wh"))
                if scale is not None:
                    value = _scaled(sv.get("value", ""), scale, _MAX_MWH)
                    if value is not None:
                        energy, energy_rank = value, rank
        elif measurand == POWER and power is None and sv.get("phase") is None:
            scale = _POWER_SCALE.get(sv.get("unit", "W"))
            if scale is not None:
                power = _scaled(sv.get("value", ""), scale, _MAX_POWER_W)
    return Reading(ts, energy, power, context)


def session_energy(
    meter_start_wh: int,
    meter_stop_wh: int | None,
    samples: Iterable[tuple[datetime, int | None]],
    started_at: datetime,
    stopped_at: datetime,
    max_power_w: int,
) -> EnergyResult:
    """Energy of a session: stop register - start register, cross-checked with samples.

    `samples` are (timestamp, register in milli-Wh) of the session; those after the stop (the
    Copper SB sends one) are ignored here. A missing or implausible meterStop is replaced by
    the last sample; a negative or physically impossible delta is flagged, never billed
    silently.
    """
    flags: list[str] = []
    inside = sorted(
        (ts, mwh) for ts, mwh in samples if mwh is not None and started_at <= ts <= stopped_at
    )
    last_wh = inside[-1][1] // 1000 if inside else None
    if any(b[1] < a[1] for a, b in zip(inside, inside[1:], strict=False)):
        flags.append("register_decreased")
    if inside and inside[0][1] // 1000 < meter_start_wh - 1:
        flags.append("register_mismatch")

    stop = meter_stop_wh
    if stop is None:
        flags.append("meter_stop_missing")
        stop = last_wh if last_wh is not None else meter_start_wh
    elif last_wh is not None and (stop < meter_start_wh or last_wh > stop + 1):
        # the stop reading is below the start or below what the meter already showed
        flags.append("meter_stop_replaced")
        stop = max(last_wh, stop)
    delta = stop - meter_start_wh
    if delta < 0:
        flags.append("negative_energy")
        return EnergyResult(0, stop, tuple(flags))
    duration_s = max((stopped_at - started_at).total_seconds(), 1.0)
    # W x s = 3600 x Wh; 10 % and 10 Wh of slack for clocks and register rounding
    if delta * 3600 > max_power_w * duration_s * 1.1 + 36_000:
        flags.append("implausible_energy")
    return EnergyResult(delta, stop, tuple(flags))
