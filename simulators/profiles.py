"""Smart charging: installed charging profiles and the current limit they impose (amps).

Enough of OCPP 1.6 section 3.13 for a central system to steer power: stack levels,
TxDefault/Tx/ChargePointMax purposes, Absolute/Relative/Recurring schedules in A or W.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulators.clock import to_ms

DAY_MS = 86_400_000


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


def _parse_ms(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


class ProfileStore:
    def __init__(self) -> None:
        self.profiles: list[Profile] = []

    def install(self, connector_id: int, raw: dict[str, Any]) -> None:
        """Replace a profile with the same id, or the same stack level and purpose."""
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

    def clear(self, payload: dict[str, Any]) -> bool:
        def matches(p: Profile) -> bool:
            if "id" in payload:
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

    def limit_a(
        self, connector_id: int, now_ms: int, tx_start_ms: int | None, phases: int, volts: int
    ) -> int | None:
        """The current limit in force (None = no limit from profiles)."""

        def best(purpose: str, connectors: tuple[int, ...]) -> int | None:
            for p in sorted(self.profiles, key=lambda p: -p.stack_level):
                if p.purpose != purpose or p.connector_id not in connectors:
                    continue
                limit = _schedule_limit(p.raw, now_ms, tx_start_ms, phases, volts)
                if limit is not None:
                    return limit
            return None

        tx = best("TxProfile", (connector_id,)) if tx_start_ms is not None else None
        if tx is None:
            tx = best("TxDefaultProfile", (connector_id,))
        if tx is None:
            tx = best("TxDefaultProfile", (0,))
        cap = best("ChargePointMaxProfile", (0,))
        limits = [x for x in (tx, cap) if x is not None]
        return min(limits) if limits else None


def _schedule_limit(
    raw: dict[str, Any], now_ms: int, tx_start_ms: int | None, phases: int, volts: int
) -> int | None:
    valid_from, valid_to = _parse_ms(raw.get("validFrom")), _parse_ms(raw.get("validTo"))
    if (valid_from is not None and now_ms < valid_from) or (
        valid_to is not None and now_ms >= valid_to
    ):
        return None
    schedule = raw.get("chargingSchedule") or {}
    kind = raw.get("chargingProfileKind", "Absolute")
    start = _parse_ms(schedule.get("startSchedule"))
    if kind == "Relative":
        start = tx_start_ms
    if start is None:
        start = tx_start_ms if tx_start_ms is not None else now_ms
    elapsed = now_ms - start
    if kind == "Recurring":
        period = DAY_MS * (7 if raw.get("recurrencyKind") == "Weekly" else 1)
        elapsed %= period
    duration = schedule.get("duration")
    if elapsed < 0 or (isinstance(duration, int) and elapsed >= duration * 1000):
        return None
    limit: float | None = None
    for period in sorted(
        schedule.get("chargingSchedulePeriod", []), key=lambda x: x["startPeriod"]
    ):
        if period["startPeriod"] * 1000 <= elapsed:
            limit = float(period["limit"])
            n = int(period.get("numberPhases", phases))
    if limit is None:
        return None
    if schedule.get("chargingRateUnit", "A") == "W":
        return int(limit // (max(min(n, phases), 1) * volts))
    return int(limit)
