"""Charging physics in exact integers: an EV battery, a charger's limits, an energy register.

Energy is kept in milli-joules (W x ms), so integrating an integer power over integer
milliseconds is exact: no float ever touches the register, and every session's energy is
known to the Wh. 1 Wh = 3,600,000 mJ.

Power is piecewise constant on a fixed grid of virtual time (`STEP_MS`, aligned to the epoch),
so the register after a span does not depend on how often the caller looked at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

MJ_PER_WH = 3_600_000
STEP_MS = 10_000  # power is recomputed every 10 virtual seconds (taper, limits)


def wh_to_mj(wh: int | Decimal) -> int:
    return int(Decimal(wh) * MJ_PER_WH)


@dataclass(slots=True)
class EV:
    """An electric vehicle: battery, on-board charger limit, taper near full.

    `soc_percent` is where the battery starts; `target_percent` is where the car stops
    drawing (its own charge limit); above `taper_from_percent` the car's power falls
    linearly towards `min_taper_w` at 100 %.
    """

    capacity_wh: int = 60_000
    soc_percent: Decimal | int = 30
    max_power_w: int = 11_000
    phases: int = 3
    target_percent: Decimal | int = 100
    taper_from_percent: Decimal | int = 80
    min_taper_w: int = 1_400
    energy_mj: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0:
            raise ValueError("EV capacity must be positive")
        if self.energy_mj < 0:
            self.energy_mj = self._percent_mj(self.soc_percent)

    def _percent_mj(self, percent: Decimal | int) -> int:
        return int(Decimal(self.capacity_wh) * MJ_PER_WH * Decimal(percent) / 100)

    @property
    def capacity_mj(self) -> int:
        return self.capacity_wh * MJ_PER_WH

    @property
    def target_mj(self) -> int:
        return min(self._percent_mj(self.target_percent), self.capacity_mj)

    @property
    def soc(self) -> Decimal:
        """State of charge in percent, one decimal."""
        return (Decimal(self.energy_mj) * 100 / self.capacity_mj).quantize(Decimal("0.1"))

    @property
    def full(self) -> bool:
        return self.energy_mj >= self.target_mj

    def accept_limit_w(self) -> int:
        """What the car will draw now: its own limit, tapered above the taper point."""
        if self.full:
            return 0
        taper_mj = self._percent_mj(self.taper_from_percent)
        if self.energy_mj <= taper_mj or taper_mj >= self.capacity_mj:
            return self.max_power_w
        left = self.capacity_mj - self.energy_mj
        span = self.capacity_mj - taper_mj
        return max(self.min_taper_w, self.max_power_w * left // span)


@dataclass(frozen=True, slots=True)
class ChargerSpec:
    """The charger's hardware: max current per phase, phases wired, nominal voltage."""

    max_current_a: int = 32
    phases: int = 3
    voltage_v: int = 230
    connectors: int = 1
    model: str = "PLP1"
    vendor: str = "Wall Box Chargers"
    firmware: str = "5.5.10"

    @property
    def max_power_w(self) -> int:
        return self.max_current_a * self.phases * self.voltage_v


def offered_power_w(spec: ChargerSpec, ev_phases: int, limit_a: int | None) -> int:
    """Power the charger offers the car: current limit x phases in use x voltage."""
    current = spec.max_current_a if limit_a is None else min(spec.max_current_a, limit_a)
    return max(current, 0) * min(spec.phases, ev_phases) * spec.voltage_v


def power_w(spec: ChargerSpec, ev: EV, limit_a: int | None, limit_w: int | None = None) -> int:
    """Power actually flowing: the lower of what is offered (a current limit, or a power
    limit in W from a profile in W) and what the car accepts."""
    offered = offered_power_w(spec, ev.phases, limit_a)
    if limit_w is not None:
        offered = min(offered, max(limit_w, 0))
    return min(offered, ev.accept_limit_w())


@dataclass(slots=True)
class Flow:
    """One connector's live charge: integrates power into the register and the battery."""

    spec: ChargerSpec
    ev: EV
    register_mj: int
    at_ms: int
    limit_a: int | None = None
    power_w: int = 0
    full_at_ms: int | None = None  # when the car stopped drawing (reached its target)
    limit_w: int | None = None  # a power limit (a profile in W)

    def __post_init__(self) -> None:
        self.power_w = power_w(self.spec, self.ev, self.limit_a, self.limit_w)
        if self.ev.full:
            self.full_at_ms = self.at_ms

    def advance(self, to_ms: int) -> None:
        """Integrate from `at_ms` to `to_ms` on the STEP_MS grid, exactly."""
        while self.at_ms < to_ms:
            grid_end = (self.at_ms // STEP_MS + 1) * STEP_MS
            end = min(grid_end, to_ms)
            if self.at_ms % STEP_MS == 0:  # power is re-read only on the grid
                self.power_w = power_w(self.spec, self.ev, self.limit_a, self.limit_w)
            span = end - self.at_ms
            room = self.ev.target_mj - self.ev.energy_mj
            energy = min(self.power_w * span, max(room, 0))
            if self.power_w > 0 and energy == room and self.full_at_ms is None:
                # the car reaches its target inside this step: stops at the exact ms
                self.full_at_ms = self.at_ms + -(-room // self.power_w)
            self.ev.energy_mj += energy
            self.register_mj += energy
            if self.ev.full:
                self.power_w = 0
            self.at_ms = end

    def set_limit(self, limit_a: int | None, limit_w: int | None = None) -> None:
        """A new current (or power) limit takes effect from now (call advance() first)."""
        self.limit_a, self.limit_w = limit_a, limit_w
        self.power_w = power_w(self.spec, self.ev, self.limit_a, self.limit_w)

    def current_a(self) -> Decimal:
        """Per-phase current at the present power (one decimal)."""
        phases = min(self.spec.phases, self.ev.phases)
        if self.power_w <= 0:
            return Decimal(0)
        return (Decimal(self.power_w) / (phases * self.spec.voltage_v)).quantize(Decimal("0.1"))

    def ms_to_full(self) -> int | None:
        """A lower bound on the time to the car's target at the present power."""
        if self.ev.full or self.power_w <= 0:
            return None
        return -(-(self.ev.target_mj - self.ev.energy_mj) // self.power_w)


def register_wh(register_mj: int) -> int:
    """meterStart/meterStop: the register floored to whole Wh."""
    return register_mj // MJ_PER_WH


def register_text(register_mj: int, kwh: bool = False) -> str:
    """The sampled register as a decimal string, floored to 0.1 Wh ("532363.9")."""
    tenths = register_mj // (MJ_PER_WH // 10)
    if kwh:
        return str((Decimal(tenths) / 10_000).quantize(Decimal("0.0001")))
    return f"{tenths // 10}.{tenths % 10}"
