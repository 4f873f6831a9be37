"""Smart charging on the charger's side (OCPP 1.6 section 3.13): the profiles installed per
connector and purpose/stack level, the limit in force, and the composite schedule.

Enough for a central system to steer power: ChargePointMaxProfile (connector 0),
TxDefaultProfile (a connector, or 0 for all), TxProfile (a running transaction's, dropped when
it ends); Absolute, Relative and Recurring schedules in A or W. At any instant the profile of
the highest stack level that has a period then wins within its purpose; a TxProfile wins
over a TxDefaultProfile; the lower of that and the ChargePointMaxProfile is the limit.

Limits are read as exact decimals (``Decimal(str(limit))``: 6.1 stays 6.1) and compared in W
(A x phases in use x voltage); the limit handed to the physics is whole A or whole W. A
composite schedule's limits go out as JSON numbers (an int, or a float of one decimal), never
as Decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from simulators.clock import iso_seconds, to_ms

DAY_MS = 86_400_000
PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
TENTH = Decimal("0.1")

# (connector id) -> (a transaction runs there, its transactionId once known)
TxOf = Callable[[int], tuple[bool, int | None]]


@dataclass(frozen=True, slots=True)
class Profile:
    connector_id: int
    raw: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.raw["chargingProfileId"])

    @property
    def stack_level(self) -> int:
        return int(self.raw["stackLevel"])

    @property
    def purpose(self) -> str:
        return str(self.raw["chargingProfilePurpose"])


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit in force: its value as sent, its unit, and the same in W."""

    value: Decimal
    unit: str  # A | W
    watts: Decimal


def _parse_ms(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def number(value: Decimal) -> int | float:
    """A limit for a JSON payload: an int when whole, else its one-decimal float."""
    value = value.quantize(TENTH, rounding=ROUND_FLOOR)
    return int(value) if value == value.to_integral_value() else float(value)


class SmartCharging:
    """The charger's installed profiles and what they allow (see the module docstring)."""

    def __init__(self, phases: int, volts: int, max_current_a: int) -> None:
        self.phases, self.volts, self.max_current_a = phases, volts, max_current_a
        self.profiles: list[Profile] = []

    # ------------------------------------------------------------ SetChargingProfile

    def accepts(self, payload: dict[str, Any], tx_of: TxOf, known: set[int]) -> str:
        """Accepted or Rejected, as the charger answers a SetChargingProfile (``known``:
        its connector ids)."""
        cid, profile = payload.get("connectorId"), payload.get("csChargingProfiles")
        if not isinstance(profile, dict) or not isinstance(cid, int):
            return "Rejected"
        if cid != 0 and cid not in known:
            return "Rejected"
        purpose = profile.get("chargingProfilePurpose")
        if purpose not in PURPOSES:
            return "Rejected"
        if purpose == "ChargePointMaxProfile" and cid != 0:
            return "Rejected"
        if purpose == "TxProfile":
            if cid == 0:
                return "Rejected"
            running, tx_id = tx_of(cid)
            wanted = profile.get("transactionId")
            if not running or (wanted is not None and tx_id is not None and wanted != tx_id):
                return "Rejected"
        return "Accepted"

    def install(self, connector_id: int, raw: dict[str, Any]) -> None:
        """Replace a profile with the same id, or the same connector, stack level and
        purpose."""
        new = Profile(connector_id, raw)
        self.profiles = [
            p
            for p in self.profiles
            if p.id != new.id
            and not (
                p.connector_id == connector_id
                and p.stack_level == new.stack_level
                and p.purpose == new.purpose
            )
        ]
        self.profiles.append(new)

    # ------------------------------------------------------------ ClearChargingProfile

    def clear(self, payload: dict[str, Any]) -> bool:
        """Remove what the request matches (by id alone, else by every criterion given)."""

        def matches(p: Profile) -> bool:
            if payload.get("id") is not None:
                return bool(p.id == payload["id"])
            return all(
                (
                    payload.get("connectorId") in (None, p.connector_id),
                    payload.get("chargingProfilePurpose") in (None, p.purpose),
                    payload.get("stackLevel") in (None, p.stack_level),
                )
            )

        before = len(self.profiles)
        self.profiles = [p for p in self.profiles if not matches(p)]
        return len(self.profiles) < before

    def drop_tx_profiles(self, connector_id: int) -> None:
        """A TxProfile ends with its transaction."""
        self.profiles = [
            p
            for p in self.profiles
            if not (p.connector_id == connector_id and p.purpose == "TxProfile")
        ]

    # ------------------------------------------------------------ the limit in force

    def _watts(self, value: Decimal, unit: str, phases: int | None) -> Decimal:
        if unit == "W":
            return value
        used = max(min(phases or self.phases, self.phases), 1)
        return value * used * self.volts

    def _limit_of(
        self, p: Profile, now_ms: int, tx_start_ms: int | None, anchor_ms: int | None
    ) -> Limit | None:
        raw = p.raw
        valid_from, valid_to = _parse_ms(raw.get("validFrom")), _parse_ms(raw.get("validTo"))
        if (valid_from is not None and now_ms < valid_from) or (
            valid_to is not None and now_ms >= valid_to
        ):
            return None
        schedule = raw.get("chargingSchedule") or {}
        start = self._start_ms(raw, now_ms if anchor_ms is None else anchor_ms, tx_start_ms)
        elapsed = now_ms - start
        if raw.get("chargingProfileKind") == "Recurring":
            elapsed %= self._recurrence_ms(raw)
        duration = schedule.get("duration")
        if elapsed < 0 or (isinstance(duration, int) and elapsed >= duration * 1000):
            return None
        found: dict[str, Any] | None = None
        for period in sorted(schedule.get("chargingSchedulePeriod", []), key=_start_period):
            if period["startPeriod"] * 1000 <= elapsed:
                found = period
        if found is None:
            return None
        unit = str(schedule.get("chargingRateUnit", "A"))
        value = Decimal(str(found["limit"]))
        return Limit(value, unit, self._watts(value, unit, found.get("numberPhases")))

    @staticmethod
    def _start_ms(raw: dict[str, Any], anchor_ms: int, tx_start_ms: int | None) -> int:
        """When the schedule starts: its startSchedule; a Relative one (or one without a
        start) at the transaction's start, without a transaction at ``anchor_ms``."""
        start = _parse_ms((raw.get("chargingSchedule") or {}).get("startSchedule"))
        if raw.get("chargingProfileKind") == "Relative" or start is None:
            start = tx_start_ms if tx_start_ms is not None else anchor_ms
        return start

    @staticmethod
    def _recurrence_ms(raw: dict[str, Any]) -> int:
        return DAY_MS * (7 if raw.get("recurrencyKind") == "Weekly" else 1)

    def _best(
        self,
        purpose: str,
        connectors: tuple[int, ...],
        now_ms: int,
        tx_start_ms: int | None,
        anchor_ms: int | None,
    ) -> Limit | None:
        """The highest stack level of ``purpose`` that has a period now."""
        for p in sorted(self.profiles, key=lambda p: -p.stack_level):
            if p.purpose == purpose and p.connector_id in connectors:
                limit = self._limit_of(p, now_ms, tx_start_ms, anchor_ms)
                if limit is not None:
                    return limit
        return None

    def limit(
        self,
        connector_id: int,
        now_ms: int,
        tx_start_ms: int | None,
        anchor_ms: int | None = None,
    ) -> Limit | None:
        """The limit in force on a connector (None: the profiles set none). On connector 0,
        the charger's: its ChargePointMaxProfile. ``anchor_ms``: where a Relative schedule
        starts when no transaction runs (default: now)."""
        tx: Limit | None = None
        at = (now_ms, tx_start_ms, anchor_ms)
        if connector_id != 0:
            if tx_start_ms is not None:
                tx = self._best("TxProfile", (connector_id,), *at)
            if tx is None:
                tx = self._best("TxDefaultProfile", (connector_id,), *at)
            if tx is None:
                tx = self._best("TxDefaultProfile", (0,), *at)
        cap = self._best("ChargePointMaxProfile", (0,), *at)
        found = [x for x in (tx, cap) if x is not None]
        return min(found, key=lambda x: x.watts) if found else None

    def limits(
        self, connector_id: int, now_ms: int, tx_start_ms: int | None
    ) -> tuple[int | None, int | None]:
        """What the physics takes: (whole A, None) when the limit is in A, (None, whole W)
        when it is in W, (None, None) without one."""
        found = self.limit(connector_id, now_ms, tx_start_ms)
        if found is None:
            return None, None
        whole = int(found.value.to_integral_value(rounding=ROUND_FLOOR))
        return (whole, None) if found.unit == "A" else (None, whole)

    # ------------------------------------------------------------ GetCompositeSchedule

    def composite(
        self,
        payload: dict[str, Any],
        now_ms: int,
        tx_start_ms: int | None,
        known: set[int],
    ) -> dict[str, Any]:
        """The GetCompositeSchedule answer: the limit in force, period by period, from now
        for ``duration`` seconds, in the unit asked for (A unless W is asked for). Where no
        profile limits, the charger's own maximum. Rejected for an unknown connector or a
        duration that is not positive."""
        cid, duration = payload.get("connectorId"), payload.get("duration")
        if not isinstance(cid, int) or (cid != 0 and cid not in known):
            return {"status": "Rejected"}
        if not isinstance(duration, int) or duration <= 0:
            return {"status": "Rejected"}
        unit = "W" if payload.get("chargingRateUnit") == "W" else "A"
        start = now_ms // 1000 * 1000
        end = start + duration * 1000
        periods: list[dict[str, Any]] = []
        for at in self._breakpoints(start, end, tx_start_ms):
            found = self.limit(cid, at, tx_start_ms, anchor_ms=start)
            watts = (
                found.watts
                if found is not None
                else self._watts(Decimal(self.max_current_a), "A", None)
            )
            value = watts if unit == "W" else watts / (self.phases * self.volts)
            limit = number(value)
            if periods and periods[-1]["limit"] == limit:
                continue
            periods.append({"startPeriod": (at - start) // 1000, "limit": limit})
        stamp = iso_seconds(start)
        return {
            "status": "Accepted",
            "connectorId": cid,
            "scheduleStart": stamp,
            "chargingSchedule": {
                "duration": duration,
                "startSchedule": stamp,
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods,
            },
        }

    def _breakpoints(self, start: int, end: int, tx_start_ms: int | None) -> list[int]:
        """Every whole second in [start, end) at which some profile may change its limit."""
        points = {start}
        for p in self.profiles:
            raw = p.raw
            schedule = raw.get("chargingSchedule") or {}
            for key in ("validFrom", "validTo"):
                at = _parse_ms(raw.get(key))
                if at is not None:
                    points.add(at)
            base = self._start_ms(raw, start, tx_start_ms)
            periods = schedule.get("chargingSchedulePeriod", [])
            offsets = [int(x["startPeriod"]) * 1000 for x in periods]
            if isinstance(schedule.get("duration"), int):
                offsets.append(schedule["duration"] * 1000)
            bases = [base]
            if raw.get("chargingProfileKind") == "Recurring":
                every = self._recurrence_ms(raw)
                first = base + (start - base) // every * every
                bases = list(range(first, end + every, every))
            points.update(b + o for b in bases for o in offsets)
        seconds = {-(-max(at, start) // 1000) * 1000 for at in points}
        return sorted(at for at in seconds if start <= at < end)


def _start_period(period: dict[str, Any]) -> int:
    return int(period["startPeriod"])
