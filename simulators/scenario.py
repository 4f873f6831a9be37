"""Scenarios: chargers, drivers with tokens and EVs, and the sessions they charge.

A scenario file (YAML or JSON) lists sessions one by one or generates them ("each weekday,
arrival 08:00-09:00, charge to 60-95 %"), so a month at a site fits in a few lines; the format
is documented in docs/simulator.md. Generation is seeded, so a file always plays the same.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from simulators.charger import SimCharger
from simulators.charger201 import OCPP_VERSIONS, charger_class
from simulators.clock import VirtualClock, to_ms
from simulators.physics import EV, ChargerSpec
from simulators.quirks import Quirks
from simulators.rpc import TlsFiles
from simulators.session import SessionRecord

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
DAY_SETS = {"weekdays": [0, 1, 2, 3, 4], "weekends": [5, 6], "all": list(range(7))}


class ScenarioError(ValueError):
    """A scenario file that does not say what it means; the message names the field."""


def parse_duration(value: Any, where: str) -> int:
    """Seconds from 90, "90s", "45m", "2h", "1h30m", "1d"."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        parts = re.fullmatch(r"\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", value)
        if parts and any(parts.groups()):
            d, h, m, s = (int(x) if x else 0 for x in parts.groups())
            return ((d * 24 + h) * 60 + m) * 60 + s
    raise ScenarioError(f"{where}: {value!r} is not a duration (e.g. 90, '45m', '1h30m')")


def parse_range(value: Any, where: str) -> tuple[int, int]:
    """'60-95' or 80 or [60, 95] -> (low, high)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*%?\s*(?:-\s*(\d+)\s*%?)?\s*", value)
        if m:
            low = int(m.group(1))
            high = int(m.group(2)) if m.group(2) else low
            if low <= high:
                return low, high
    raise ScenarioError(f"{where}: {value!r} is not a range like '60-95'")


def parse_time_window(value: Any, where: str) -> tuple[int, int]:
    """'08:00-09:00' -> seconds of the day (start, end)."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not m:
        raise ScenarioError(f"{where}: {value!r} is not a window like '08:00-09:00'")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if end < start or h2 > 24:
        raise ScenarioError(f"{where}: window {value!r} ends before it starts")
    return start, end


@dataclass(slots=True)
class ChargerDef:
    id: str
    password: str | None = None
    quirks: Quirks = field(default_factory=Quirks)
    spec: ChargerSpec = field(default_factory=ChargerSpec)
    ocpp: str = "1.6"


@dataclass(slots=True)
class Driver:
    name: str
    tokens: list[str]
    ev: dict[str, Any]  # EV keyword arguments (a fresh EV per session)

    def make_ev(self, soc: int | None, target: int | None) -> EV:
        kwargs = dict(self.ev)
        if soc is not None:
            kwargs["soc_percent"] = soc
        if target is not None:
            kwargs["target_percent"] = target
        return EV(**kwargs)


@dataclass(slots=True)
class PlannedSession:
    charger: str
    connector: int
    driver: str
    id_tag: str
    plug_in_ms: int
    soc: int | None = None
    target_percent: int | None = None
    duration_s: int | None = None
    parking_s: int = 0


@dataclass(slots=True)
class Scenario:
    start_ms: int
    speed: float
    tz: ZoneInfo
    sample_interval_s: int
    chargers: dict[str, ChargerDef]
    drivers: dict[str, Driver]
    sessions: list[PlannedSession]

    @property
    def end_ms(self) -> int:
        return max((s.plug_in_ms for s in self.sessions), default=self.start_ms)


def load(path: str | Path) -> Scenario:
    """Read a YAML or JSON scenario file."""
    text = Path(path).read_text()
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: not valid YAML/JSON: {exc}") from None
    return parse(data)


def _ev_kwargs(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    known = {"capacity_kwh", "max_power_kw", "phases", "soc", "taper_from"}
    unknown = set(raw) - known
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
    out: dict[str, Any] = {}
    if "capacity_kwh" in raw:
        out["capacity_wh"] = int(Decimal(str(raw["capacity_kwh"])) * 1000)
    if "max_power_kw" in raw:
        out["max_power_w"] = int(Decimal(str(raw["max_power_kw"])) * 1000)
    if "phases" in raw:
        out["phases"] = int(raw["phases"])
    if "soc" in raw:
        out["soc_percent"] = int(raw["soc"])
    if "taper_from" in raw:
        out["taper_from_percent"] = int(raw["taper_from"])
    return out


def _start(raw: Any, tz: ZoneInfo) -> int:
    if raw is None:
        return to_ms(datetime.now(UTC))
    if _relative_day(raw, tz) is not None:  # "-31d": 31 days ago at local midnight
        return _local_ms(raw, tz, "start")
    when = raw if isinstance(raw, datetime) else None
    if when is None and isinstance(raw, date):
        when = datetime.combine(raw, time(0))
    if when is None:
        try:
            when = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ScenarioError(f"start: {raw!r} is not an ISO date/time or '-30d'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return to_ms(when)


def _relative_day(raw: Any, tz: ZoneInfo) -> tuple[date, str] | None:
    """'-10d' or '-10d 11:30' -> (the local date 10 days ago, '11:30')."""
    m = re.fullmatch(r"\s*-(\d+)d\s*(\d{1,2}:\d{2})?\s*", str(raw))
    if not m:
        return None
    return datetime.now(tz).date() - timedelta(days=int(m.group(1))), m.group(2) or "00:00"


def _date(raw: Any, tz: ZoneInfo, where: str) -> date:
    relative = _relative_day(raw, tz)
    if relative is not None:
        return relative[0]
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ScenarioError(f"{where}: {raw!r} is not a date like 2025-03-01 or '-30d'") from None


def _local_ms(raw: Any, tz: ZoneInfo, where: str) -> int:
    relative = _relative_day(raw, tz)
    if relative is not None:
        hour, minute = (int(x) for x in relative[1].split(":"))
        return to_ms(datetime.combine(relative[0], time(hour, minute), tz))
    when = raw if isinstance(raw, datetime) else None
    if when is None:
        try:
            when = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ScenarioError(f"{where}: {raw!r} is not an ISO date/time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return to_ms(when)


def parse(data: Any) -> Scenario:
    """A scenario from plain data (the parsed YAML/JSON)."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping with chargers, drivers and sessions")
    try:
        tz = ZoneInfo(str(data.get("timezone", "UTC")))
    except Exception:
        raise ScenarioError(f"timezone: unknown zone {data.get('timezone')!r}") from None
    chargers: dict[str, ChargerDef] = {}
    for i, raw in enumerate(data.get("chargers") or []):
        where = f"chargers[{i}]"
        if not isinstance(raw, dict) or "id" not in raw:
            raise ScenarioError(f"{where}: needs an id")
        try:
            quirks = Quirks.parse(raw.get("quirks"))
        except ValueError as exc:
            raise ScenarioError(f"{where}.quirks: {exc}") from None
        spec = ChargerSpec(
            max_current_a=int(raw.get("max_current", 32)),
            phases=int(raw.get("phases", 3)),
            connectors=int(raw.get("connectors", 1)),
        )
        version = str(raw.get("ocpp", "1.6"))  # YAML reads 1.6 as a number
        if version not in OCPP_VERSIONS:
            raise ScenarioError(f"{where}.ocpp: {version!r} (known: {', '.join(OCPP_VERSIONS)})")
        chargers[str(raw["id"])] = ChargerDef(
            str(raw["id"]), raw.get("password"), quirks, spec, version
        )
    if not chargers:
        raise ScenarioError("chargers: at least one charger is needed")
    drivers: dict[str, Driver] = {}
    for i, raw in enumerate(data.get("drivers") or []):
        where = f"drivers[{i}]"
        if not isinstance(raw, dict) or "name" not in raw:
            raise ScenarioError(f"{where}: needs a name")
        tokens = raw.get("tokens") or ([raw["token"]] if "token" in raw else [])
        if not tokens:
            raise ScenarioError(f"{where}: needs tokens (RFID idTags)")
        drivers[str(raw["name"])] = Driver(
            str(raw["name"]), [str(t) for t in tokens], _ev_kwargs(raw.get("ev"), f"{where}.ev")
        )
    scenario = Scenario(
        start_ms=_start(data.get("start"), tz),
        speed=float(data.get("speed", 1)),
        tz=tz,
        sample_interval_s=parse_duration(data.get("sample_interval", 300), "sample_interval"),
        chargers=chargers,
        drivers=drivers,
        sessions=[],
    )
    for i, raw in enumerate(data.get("sessions") or []):
        scenario.sessions.append(_session(scenario, raw, f"sessions[{i}]"))
    for i, raw in enumerate(data.get("generators") or []):
        scenario.sessions.extend(generate(scenario, raw, f"generators[{i}]"))
    scenario.sessions.sort(key=lambda s: s.plug_in_ms)
    return scenario


def _driver(scenario: Scenario, name: Any, where: str) -> Driver:
    if name not in scenario.drivers:
        raise ScenarioError(f"{where}.driver: unknown driver {name!r}")
    return scenario.drivers[name]


def _charger(scenario: Scenario, cid: Any, where: str) -> str:
    if cid is None and len(scenario.chargers) == 1:
        return next(iter(scenario.chargers))
    if cid not in scenario.chargers:
        raise ScenarioError(f"{where}.charger: unknown charger {cid!r}")
    return str(cid)


def _session(scenario: Scenario, raw: Any, where: str) -> PlannedSession:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    driver = _driver(scenario, raw.get("driver"), where)
    if "plug_in" not in raw:
        raise ScenarioError(f"{where}: plug_in time missing")
    target = raw.get("target_soc")
    duration = raw.get("duration")
    if target is None and duration is None:
        raise ScenarioError(f"{where}: give target_soc or duration")
    return PlannedSession(
        charger=_charger(scenario, raw.get("charger"), where),
        connector=int(raw.get("connector", 1)),
        driver=driver.name,
        id_tag=str(raw.get("token", driver.tokens[0])),
        plug_in_ms=_local_ms(raw["plug_in"], scenario.tz, f"{where}.plug_in"),
        soc=int(raw["soc"]) if "soc" in raw else None,
        target_percent=int(target) if target is not None else None,
        duration_s=parse_duration(duration, f"{where}.duration") if duration is not None else None,
        parking_s=parse_duration(raw.get("parking", 0), f"{where}.parking"),
    )


def generate(scenario: Scenario, raw: Any, where: str) -> list[PlannedSession]:
    """Expand a generator: for each matching day, each driver arrives once in the window.

    Keys: days (weekdays | weekends | all | [mon, wed]), from/to (dates, local), arrival
    ('08:00-09:00'), drivers (names; default all), chargers (default all; driver i uses
    charger i mod n), target_soc / soc ('60-95'), parking ('30m-3h' or '45m'),
    probability (0..1), seed.
    """
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    days_raw = raw.get("days", "weekdays")
    if isinstance(days_raw, str) and days_raw in DAY_SETS:
        days = DAY_SETS[days_raw]
    elif isinstance(days_raw, list) and all(str(d)[:3].lower() in DAYS for d in days_raw):
        days = [DAYS[str(d)[:3].lower()] for d in days_raw]
    else:
        raise ScenarioError(f"{where}.days: {days_raw!r} (weekdays, weekends, all or [mon, ...])")
    if "from" not in raw or "to" not in raw:
        raise ScenarioError(f"{where}: from/to dates missing (e.g. 2025-03-01 or '-30d')")
    first = _date(raw["from"], scenario.tz, f"{where}.from")
    last = _date(raw["to"], scenario.tz, f"{where}.to")
    window = parse_time_window(raw.get("arrival", "08:00-09:00"), f"{where}.arrival")
    names = raw.get("drivers") or list(scenario.drivers)
    drivers = [_driver(scenario, n, where) for n in names]
    chargers = [_charger(scenario, c, where) for c in raw.get("chargers") or scenario.chargers]
    target = parse_range(raw.get("target_soc", "80"), f"{where}.target_soc")
    soc = parse_range(raw["soc"], f"{where}.soc") if "soc" in raw else None
    parking_raw = str(raw.get("parking", "0"))
    low_s, _, high_s = parking_raw.partition("-")
    parking = (
        parse_duration(low_s, f"{where}.parking"),
        parse_duration(high_s or low_s, f"{where}.parking"),
    )
    probability = float(raw.get("probability", 1.0))
    rng = random.Random(raw.get("seed", 1))
    out: list[PlannedSession] = []
    day = first
    while day <= last:
        if day.weekday() in days:
            for i, driver in enumerate(drivers):
                if rng.random() >= probability:
                    continue
                second = rng.randint(window[0], max(window[0], window[1] - 1))
                local = datetime.combine(day, time(0), scenario.tz) + timedelta(seconds=second)
                low_t, high_t = target
                soc_now = rng.randint(*soc) if soc else None
                out.append(
                    PlannedSession(
                        charger=chargers[i % len(chargers)],
                        connector=1,
                        driver=driver.name,
                        id_tag=driver.tokens[0],
                        plug_in_ms=to_ms(local),
                        soc=soc_now,
                        target_percent=rng.randint(low_t, high_t),
                        parking_s=rng.randint(*parking),
                    )
                )
        day += timedelta(days=1)
    return out


async def run(
    scenario: Scenario,
    url: str,
    speed: float | None = None,
    quirks: Quirks | None = None,
    password: str | None = None,
    ocpp: str | None = None,
    tls: TlsFiles | None = None,
) -> list[SessionRecord]:
    """Play the scenario against a central system; returns every completed session.

    Sessions on the same connector run one after the other (a car that arrives while the
    connector is busy waits for it). `ocpp` overrides each charger's protocol version.
    """
    clock = VirtualClock(
        speed or scenario.speed, start=datetime.fromtimestamp(scenario.start_ms / 1000, UTC)
    )
    sims: dict[str, SimCharger] = {
        cid: charger_class(ocpp or d.ocpp)(
            url,
            cid,
            password=d.password if d.password is not None else password,
            quirks=quirks or d.quirks,
            clock=clock,
            spec=d.spec,
            sample_interval_s=scenario.sample_interval_s,
            tls=tls,
        )
        for cid, d in scenario.chargers.items()
    }
    await asyncio.gather(*(sim.start() for sim in sims.values()))
    lanes: dict[tuple[str, int], list[PlannedSession]] = {}
    for planned in scenario.sessions:
        lanes.setdefault((planned.charger, planned.connector), []).append(planned)

    async def lane(key: tuple[str, int], plans: list[PlannedSession]) -> None:
        sim = sims[key[0]]
        for plan in plans:
            await clock.sleep_until_ms(plan.plug_in_ms)
            driver = scenario.drivers[plan.driver]
            ev = driver.make_ev(plan.soc, plan.target_percent)
            await sim.charge(
                key[1], plan.id_tag, ev, plan.target_percent, plan.duration_s, plan.parking_s
            )

    try:
        await asyncio.gather(*(lane(k, v) for k, v in lanes.items()))
    finally:
        await asyncio.gather(*(sim.stop() for sim in sims.values()))
    return [r for sim in sims.values() for r in sim.completed_sessions]
