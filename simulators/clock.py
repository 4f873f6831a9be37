"""A virtual clock: charger time runs `speed` times faster than the wall clock.

Everything the meter and the driver do (timestamps, sample intervals, parking) is virtual
time, so a month plays in a minute at speed 3600*12; socket liveness (heartbeats, reconnect
back-off, call timeouts) stays wall-clock time, because the peer's timers are real.
Virtual time is kept as integer milliseconds since the Unix epoch.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


def to_ms(when: datetime) -> int:
    """An aware datetime as integer epoch milliseconds (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso_seconds(ms: int) -> str:
    """OCPP timestamp with whole seconds and 'Z' (what the charger sends)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


class VirtualClock:
    """Virtual time = start + (wall time elapsed) * speed."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._start_ms = to_ms(start) if start is not None else int(time.time() * 1000)
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        return self._start_ms + int((time.monotonic() - self._t0) * 1000 * self.speed)

    def now(self) -> datetime:
        return from_ms(self.now_ms())

    def real_seconds(self, virtual_ms: int) -> float:
        """Wall-clock seconds that `virtual_ms` of virtual time take."""
        return max(virtual_ms, 0) / 1000 / self.speed

    async def sleep(self, virtual_seconds: float) -> None:
        await asyncio.sleep(max(virtual_seconds, 0) / self.speed)

    async def sleep_until_ms(self, target_ms: int) -> None:
        """Sleep until virtual time reaches target_ms (returns at once if it has)."""
        while True:
            left = target_ms - self.now_ms()
            if left <= 0:
                return
            await asyncio.sleep(self.real_seconds(left))
