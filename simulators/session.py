"""What the simulator knows about each session it ran, to compare with the central system."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from simulators.clock import from_ms

CHARGING = "Charging"


@dataclass(slots=True)
class SessionRecord:
    """One transaction as the charger integrated it (times are virtual UTC)."""

    charger_id: str
    connector_id: int
    id_tag: str
    meter_start: int  # integer Wh sent as meterStart
    start_ms: int  # virtual time of StartTransaction, whole seconds
    # 1.6: known once the central system answered the Start; 2.0.1: the charger's own string
    transaction_id: int | str | None = None
    meter_stop: int | None = None  # meterStop sent (or the last sample when forgotten)
    stop_ms: int | None = None
    stop_reason: str | None = None
    charging_s: int = 0
    parking_s: int = 0
    forgotten: bool = False  # lost by a reboot: no StopTransaction was ever sent
    samples: int = 0  # transaction MeterValues sent
    timeline: list[tuple[int, str]] = field(default_factory=list)  # (ms, status) in the session

    @property
    def energy_wh(self) -> int | None:
        return None if self.meter_stop is None else self.meter_stop - self.meter_start

    @property
    def started_at(self) -> datetime:
        return from_ms(self.start_ms)

    @property
    def stopped_at(self) -> datetime | None:
        return None if self.stop_ms is None else from_ms(self.stop_ms)

    @property
    def completed(self) -> bool:
        return self.stop_ms is not None

    def close(self, stop_ms: int, meter_stop: int, reason: str | None) -> None:
        self.stop_ms, self.meter_stop, self.stop_reason = stop_ms, meter_stop, reason
        self.charging_s, self.parking_s = split_time(self.start_ms, stop_ms, self.timeline)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("timeline")
        data["energy_wh"] = self.energy_wh
        data["started_at"] = self.started_at.isoformat().replace("+00:00", "Z")
        stopped = self.stopped_at
        data["stopped_at"] = stopped.isoformat().replace("+00:00", "Z") if stopped else None
        return data


def split_time(start_ms: int, stop_ms: int, timeline: list[tuple[int, str]]) -> tuple[int, int]:
    """Charging and parking seconds between start and stop from the statuses sent.

    Charging = the connector said Charging (or no status yet); every other state while the
    transaction runs (SuspendedEV, SuspendedEVSE, Finishing) is parking.
    """
    charging = parking = 0
    status: str | None = None
    cursor = start_ms
    for at, new in sorted(timeline, key=lambda e: e[0]):
        at = min(max(at, start_ms), stop_ms)
        span = at - cursor
        if span > 0:
            if status is None or status == CHARGING:
                charging += span
            else:
                parking += span
            cursor = at
        status = new
    span = stop_ms - cursor
    if status is None or status == CHARGING:
        charging += span
    else:
        parking += span
    return (charging + 500) // 1000, (parking + 500) // 1000
