"""The fleet load generator: N chargers in one process running the benchmark workload.

workload.md: Boot -> Status Available -> Authorize -> StartTransaction -> Status Charging ->
Heartbeat -> MeterValues loop (9 sampled values, ~1.4 KB a frame) -> StopTransaction, either
closed loop (next call as soon as the last is answered) or paced (one call per `interval`).
Two more modes measure connections rather than messages: "connect" (connect and boot every
charger, then close) and "hold" (connect and boot every charger, then each sends one Heartbeat
at a random moment within `interval`, all sockets held open until the last is answered).

Frames are pre-built string templates filled with a message id, a timestamp and the register,
and answers are matched by id with one orjson parse, so a message costs the client a few tens
of microseconds: a 2-core machine measures the server, not the generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import sys
import time
import uuid
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from simulators.rpc import TlsFiles, open_socket

_TS_CACHE: list[Any] = [0, ""]


def now_stamp() -> str:
    """The wall-clock time as an OCPP timestamp, formatted once per second."""
    second = int(time.time())
    if _TS_CACHE[0] != second:
        _TS_CACHE[0] = second
        _TS_CACHE[1] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
    return str(_TS_CACHE[1])


def _sv(measurand: str, unit: str, slot: str, phase: str | None = None, loc: str = "Outlet") -> str:
    parts = [
        f'"value":"{slot}"',
        '"context":"Sample.Periodic"',
        '"format":"Raw"',
        f'"measurand":"{measurand}"',
    ]
    if phase:
        parts.append(f'"phase":"{phase}"')
    parts += [f'"location":"{loc}"', f'"unit":"{unit}"']
    return "{" + ",".join(parts) + "}"


# The MeterValues body with %-slots: uid, transactionId, timestamp, register, power, current, soc.
_METER_TEMPLATE = (
    '[2,"%s","MeterValues",{"connectorId":1,"transactionId":%d,"meterValue":[{"timestamp":"%s",'
    '"sampledValue":['
    + ",".join(
        [
            _sv("Energy.Active.Import.Register", "Wh", "%s"),
            _sv("Power.Active.Import", "W", "%d"),
            _sv("Current.Import", "A", "%s", "L1"),
            _sv("Current.Import", "A", "%s", "L2"),
            _sv("Current.Import", "A", "%s", "L3"),
            _sv("Voltage", "V", "230.0", "L1-N"),
            _sv("Voltage", "V", "230.0", "L2-N"),
            _sv("Voltage", "V", "230.0", "L3-N"),
            _sv("SoC", "Percent", "%d", loc="EV"),
        ]
    )
    + "]}]}]"
)


def _sv201(
    measurand: str, unit: str, slot: str, phase: str | None = None, loc: str = "Outlet"
) -> str:
    parts = [
        f'"value":{slot}',
        '"context":"Sample.Periodic"',
        f'"measurand":"{measurand}"',
    ]
    if phase:
        parts.append(f'"phase":"{phase}"')
    parts += [f'"location":"{loc}"', f'"unitOfMeasure":{{"unit":"{unit}"}}']
    return "{" + ",".join(parts) + "}"


# The 2.0.1 TransactionEvent Updated body with %-slots: uid, timestamp, seqNo, transactionId,
# timestamp, register, power, current x3, soc. Numbers are written from integers.
_METER_TEMPLATE_201 = (
    '[2,"%s","TransactionEvent",{"eventType":"Updated","timestamp":"%s",'
    '"triggerReason":"MeterValuePeriodic","seqNo":%d,"transactionInfo":{"transactionId":"%s"},'
    '"evse":{"id":1,"connectorId":1},"meterValue":[{"timestamp":"%s","sampledValue":['
    + ",".join(
        [
            _sv201("Energy.Active.Import.Register", "Wh", "%s"),
            _sv201("Power.Active.Import", "W", "%d"),
            _sv201("Current.Import", "A", "%s", "L1"),
            _sv201("Current.Import", "A", "%s", "L2"),
            _sv201("Current.Import", "A", "%s", "L3"),
            _sv201("Voltage", "V", "230", "L1-N"),
            _sv201("Voltage", "V", "230", "L2-N"),
            _sv201("Voltage", "V", "230", "L3-N"),
            _sv201("SoC", "Percent", "%d", loc="EV"),
        ]
    )
    + "]}]}]"
)


def meter_frame_201(
    uid: str, seq: int, tx: str, ts: str, register_dwh: int, power_w: int, soc: int
) -> str:
    """One 2.0.1 workload TransactionEvent Updated frame (register in tenths of Wh, exact)."""
    deci_amps = power_w * 10 // 690
    amps = f"{deci_amps // 10}.{deci_amps % 10}"
    reg = f"{register_dwh // 10}.{register_dwh % 10}"
    return _METER_TEMPLATE_201 % (uid, ts, seq, tx, ts, reg, power_w, amps, amps, amps, soc)


def meter_frame(uid: str, tx: int, ts: str, register_dwh: int, power_w: int, soc: int) -> str:
    """One workload MeterValues frame (register in tenths of Wh, exact)."""
    amps = f"{power_w / 690:.1f}"
    reg = f"{register_dwh // 10}.{register_dwh % 10}"
    return _METER_TEMPLATE % (uid, tx, ts, reg, power_w, amps, amps, amps, soc)


@dataclass(slots=True)
class FleetConfig:
    url: str
    chargers: int = 100
    id_pattern: str = "CP-{:06d}"
    first_index: int = 1
    password: str | None = None
    duration_s: float = 10.0
    mode: str = "closed"  # "closed", "paced", "connect" or "hold" (see the module doc)
    interval_s: float = 2.0  # paced: seconds between calls of one charger; hold: heartbeat spread
    connect_concurrency: int = 100
    call_timeout_s: float = 30.0
    id_tag: str = "RFID-{:06d}"
    power_w: int = 11_000
    sample_wh_tenths: int = 917  # register increment per MeterValues (91.7 Wh)
    samples_per_session: int = 0  # 0: one session for the whole run
    stop_at_end: bool = True
    progress: bool | None = None  # None: only when stderr is a terminal
    # benchmarks: the steady-state window starts after warmup_s, once every charger is in its
    # loop; on_window("start"|"end") lets a caller read the server's CPU at the window's edges
    warmup_s: float = 0.0
    on_window: Callable[[str], None] | None = None
    # how long to wait after warmup_s for every charger to reach its loop; None: until 1 s
    # before the planned end (warmup_s + duration_s). With a timeout, a slow server's window
    # still holds only the loop's messages, and lasts duration_s.
    steady_timeout_s: float | None = None
    # awaited once every charger has connected and booted, before the workload: a caller can
    # read the server's memory there, or line up several load-generator processes
    on_booted: Callable[[], Awaitable[None]] | None = None
    # when given, the steady-state latencies (µs) are appended here, so that a caller can merge
    # the distributions of several load-generator processes
    latency_sink: array[int] | None = None
    ocpp: str = "1.6"  # or "2.0.1": the same loop with TransactionEvent
    tls: TlsFiles | None = None  # wss:// trust and client certificate


@dataclass(slots=True)
class FleetSummary:
    chargers: int = 0
    connected: int = 0
    connect_failures: int = 0
    booted: int = 0
    sessions_started: int = 0
    sessions_completed: int = 0
    messages: int = 0
    acks: int = 0
    call_errors: int = 0
    timeouts: int = 0
    connect_s: float = 0.0
    run_s: float = 0.0
    msg_per_s: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    client_cpu_s: float = 0.0
    client_cpu_us_per_msg: float = 0.0
    window_s: float = 0.0  # the steady-state window (after warmup_s)
    window_acks: int = 0
    window_steady: bool = False  # every charger was in its loop when the window opened
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Shared:
    """Counters shared by all chargers of one run (one event loop: no locks needed)."""

    def __init__(self) -> None:
        self.summary = FleetSummary()
        self.latency_us: array[int] = array("q")
        self.measuring = False
        self.stop_at = math.inf
        self.in_loop = 0  # chargers past their setup calls, in the MeterValues loop

    def error(self, kind: str) -> None:
        self.summary.errors[kind] = self.summary.errors.get(kind, 0) + 1


class _Timeout(Exception):
    pass


class _Bot:
    """One charger of the fleet: its socket and its own frame ids."""

    def __init__(self, index: int, cfg: FleetConfig, shared: _Shared) -> None:
        self.cfg = cfg
        self.shared = shared
        self.id = cfg.id_pattern.format(index)
        self.tag = cfg.id_tag.format(index)
        self.n = 0
        self.register_dwh = 5_323_639 + index * 10_000
        self.ws: Any = None
        self.v201 = cfg.ocpp == "2.0.1"
        self.seq = 0  # 2.0.1: seqNo within the running transaction

    async def call(self, action: str, body: str) -> dict[str, Any]:
        """Send [2,uid,action,body] and wait for the answer with that uid."""
        self.n += 1
        uid = str(self.n)
        return await self.send_frame(uid, f'[2,"{uid}","{action}",{body}]')

    async def send_frame(self, uid: str, frame: str, timed: bool = False) -> dict[str, Any]:
        """Send one frame and await its answer; `timed` calls feed the latency figures."""
        shared, s = self.shared, self.shared.summary
        started = time.perf_counter_ns()
        await self.ws.send(frame)
        s.messages += 1
        deadline = time.monotonic() + self.cfg.call_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                s.timeouts += 1
                raise _Timeout
            try:
                async with asyncio.timeout(left):
                    data = await self.ws.recv()
            except TimeoutError:
                s.timeouts += 1
                raise _Timeout from None
            msg = orjson.loads(data)
            if msg[0] == 2:  # a command from the central system: refuse politely
                await self.ws.send(orjson.dumps([4, msg[1], "NotImplemented", "", {}]).decode())
                continue
            if msg[1] != uid:
                continue  # a late answer to a timed-out call
            if timed and shared.measuring:
                shared.latency_us.append((time.perf_counter_ns() - started) // 1000)
            if msg[0] == 3:
                s.acks += 1
                return msg[2]  # type: ignore[no-any-return]
            s.call_errors += 1
            return {}

    async def connect(self, gate: asyncio.Semaphore) -> bool:
        async with gate:
            try:
                self.ws = await open_socket(
                    self.cfg.url,
                    self.id,
                    self.cfg.password,
                    subprotocol="ocpp2.0.1" if self.v201 else "ocpp1.6",
                    ssl_context=self.cfg.tls.context() if self.cfg.tls else None,
                )
            except Exception as exc:
                self.shared.summary.connect_failures += 1
                self.shared.error(type(exc).__name__)
                return False
            self.shared.summary.connected += 1
            try:
                boot = await self.call(
                    "BootNotification",
                    '{"chargingStation":{"vendorName":"Wall Box Chargers","model":"PLP1"},'
                    '"reason":"PowerUp"}'
                    if self.v201
                    else '{"chargePointVendor":"Wall Box Chargers","chargePointModel":"PLP1"}',
                )
            except (_Timeout, ConnectionClosed):
                return False
            if boot.get("status") == "Accepted":
                self.shared.summary.booted += 1
            return True

    def _status(self, state: str) -> str:
        if self.v201:
            connector = "Available" if state == "Available" else "Occupied"
            return (
                f'{{"timestamp":"{now_stamp()}","connectorStatus":"{connector}",'
                f'"evseId":1,"connectorId":1}}'
            )
        return (
            f'{{"connectorId":1,"errorCode":"NoError","status":"{state}",'
            f'"timestamp":"{now_stamp()}"}}'
        )

    def _event(self, kind: str, trigger: str, tx: str, state: str, extra: str) -> str:
        """A 2.0.1 TransactionEvent body (the next seqNo) with the register at Begin/End."""
        ts = now_stamp()
        context = "Transaction.Begin" if kind == "Started" else "Transaction.End"
        body = (
            f'{{"eventType":"{kind}","timestamp":"{ts}","triggerReason":"{trigger}",'
            f'"seqNo":{self.seq},"transactionInfo":{{"transactionId":"{tx}",'
            f'"chargingState":"{state}"{extra}}},"evse":{{"id":1,"connectorId":1}},'
            f'"idToken":{{"idToken":"{self.tag}","type":"ISO14443"}},'
            f'"meterValue":[{{"timestamp":"{ts}","sampledValue":[{{"value":'
            f'{self.register_dwh // 10},"context":"{context}",'
            f'"measurand":"Energy.Active.Import.Register","unitOfMeasure":{{"unit":"Wh"}}}}]}}]}}'
        )
        self.seq += 1
        return body

    async def start_session(self) -> Any:
        if self.v201:
            await self.call(
                "Authorize", f'{{"idToken":{{"idToken":"{self.tag}","type":"ISO14443"}}}}'
            )
            tx = str(uuid.uuid4())
            self.seq = 0
            await self.call(
                "TransactionEvent", self._event("Started", "Authorized", tx, "Charging", "")
            )
            self.shared.summary.sessions_started += 1
            await self.call("StatusNotification", self._status("Charging"))
            return tx
        await self.call("Authorize", f'{{"idTag":"{self.tag}"}}')
        answer = await self.call(
            "StartTransaction",
            f'{{"connectorId":1,"idTag":"{self.tag}","meterStart":{self.register_dwh // 10},'
            f'"timestamp":"{now_stamp()}"}}',
        )
        self.shared.summary.sessions_started += 1
        await self.call("StatusNotification", self._status("Charging"))
        return int(answer.get("transactionId", 0))

    async def stop_session(self, tx: Any) -> None:
        if self.v201:
            extra = ',"stoppedReason":"Local"'
            await self.call(
                "TransactionEvent", self._event("Ended", "StopAuthorized", tx, "EVConnected", extra)
            )
            self.shared.summary.sessions_completed += 1
            return
        await self.call(
            "StopTransaction",
            f'{{"transactionId":{tx},"idTag":"{self.tag}","meterStop":{self.register_dwh // 10},'
            f'"timestamp":"{now_stamp()}","reason":"Local","transactionData":[]}}',
        )
        self.shared.summary.sessions_completed += 1

    async def heartbeat(self, spread_s: float) -> None:
        """hold mode: one Heartbeat at a random moment within spread_s, timed."""
        await asyncio.sleep(random.uniform(0, spread_s))
        self.n += 1
        uid = str(self.n)
        try:
            await self.send_frame(uid, f'[2,"{uid}","Heartbeat",{{}}]', timed=True)
        except _Timeout:
            self.shared.error("timeout")
        except ConnectionClosed:
            self.shared.error("connection_closed")

    async def run(self, begin: float) -> None:
        cfg, shared = self.cfg, self.shared
        try:
            await self.call("StatusNotification", self._status("Available"))
            tx = await self.start_session()
            await self.call("Heartbeat", "{}")
            samples = 0
            shared.in_loop += 1
            # paced: spread the chargers evenly over one interval from the end of their setup
            next_at = time.monotonic() + random.uniform(0, cfg.interval_s)
            while time.monotonic() < shared.stop_at:
                if cfg.mode == "paced":
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if time.monotonic() >= shared.stop_at:
                        break
                    next_at = max(next_at + cfg.interval_s, time.monotonic())
                self.register_dwh += cfg.sample_wh_tenths
                self.n += 1
                uid = str(self.n)
                soc = 20 + samples % 80
                if self.v201:
                    frame = meter_frame_201(
                        uid, self.seq, tx, now_stamp(), self.register_dwh, cfg.power_w, soc
                    )
                    self.seq += 1
                else:
                    frame = meter_frame(uid, tx, now_stamp(), self.register_dwh, cfg.power_w, soc)
                await self.send_frame(uid, frame, timed=True)
                samples += 1
                if cfg.samples_per_session and samples % cfg.samples_per_session == 0:
                    await self.stop_session(tx)
                    tx = await self.start_session()
            if cfg.stop_at_end:
                await self.stop_session(tx)
        except _Timeout:
            shared.error("timeout")
        except ConnectionClosed:
            shared.error("connection_closed")
        finally:
            if self.ws is not None:
                with contextlib.suppress(Exception):
                    await self.ws.close()


async def _window(shared: _Shared, cfg: FleetConfig, begin: float) -> None:
    """Mark the steady-state window: latencies and acks counted only inside it."""
    s = shared.summary
    await asyncio.sleep(max(begin + cfg.warmup_s - time.monotonic(), 0))
    if cfg.warmup_s > 0:  # steady state: every live charger is in its MeterValues loop
        if cfg.steady_timeout_s is None:
            limit = shared.stop_at - 1
        else:
            limit = time.monotonic() + cfg.steady_timeout_s
        while shared.in_loop < s.booted and time.monotonic() < limit:
            await asyncio.sleep(0.05)
        end = time.monotonic() + cfg.duration_s
        shared.stop_at = end if cfg.steady_timeout_s is not None else max(shared.stop_at, end)
    s.window_steady = shared.in_loop >= s.booted
    shared.measuring = True
    if cfg.on_window is not None:
        cfg.on_window("start")
    acks0, t0 = s.acks, time.monotonic()
    await asyncio.sleep(max(shared.stop_at - time.monotonic(), 0))
    s.window_acks, s.window_s = s.acks - acks0, round(time.monotonic() - t0, 3)
    if cfg.on_window is not None:
        cfg.on_window("end")
    shared.measuring = False


async def _hold(shared: _Shared, cfg: FleetConfig, live: list[_Bot]) -> None:
    """connect / hold modes: the window is the heartbeat round (empty in connect mode)."""
    s = shared.summary
    shared.measuring = True
    if cfg.on_window is not None:
        cfg.on_window("start")
    acks0, t0 = s.acks, time.monotonic()
    if cfg.mode == "hold":
        await asyncio.gather(*(bot.heartbeat(cfg.interval_s) for bot in live))
    s.window_acks, s.window_s = s.acks - acks0, round(time.monotonic() - t0, 3)
    if cfg.on_window is not None:
        cfg.on_window("end")
    shared.measuring = False


async def _close(ws: Any) -> None:
    with contextlib.suppress(Exception):
        await ws.close()


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index] / 1000


async def _progress(shared: _Shared, total: int, t0: float) -> None:
    s = shared.summary
    last, last_t = 0, time.monotonic()
    while True:
        await asyncio.sleep(1.0)
        now = time.monotonic()
        rate = (s.acks - last) / max(now - last_t, 1e-9)
        last, last_t = s.acks, now
        line = (
            f"\r{now - t0:5.1f}s connected {s.connected}/{total} sessions {s.sessions_started}"
            f" msgs {s.messages} acks {s.acks} ({rate:,.0f}/s) errors {s.call_errors}"
            f" timeouts {s.timeouts}  "
        )
        sys.stderr.write(line)
        sys.stderr.flush()


async def run_fleet(cfg: FleetConfig) -> FleetSummary:
    """Connect and boot cfg.chargers chargers, run the workload for cfg.duration_s, report."""
    if cfg.mode not in ("closed", "paced", "connect", "hold"):
        raise ValueError("mode must be 'closed', 'paced', 'connect' or 'hold'")
    shared = _Shared()
    if cfg.latency_sink is not None:
        shared.latency_us = cfg.latency_sink
    shared.summary.chargers = cfg.chargers
    bots = [_Bot(cfg.first_index + i, cfg, shared) for i in range(cfg.chargers)]
    gate = asyncio.Semaphore(max(cfg.connect_concurrency, 1))
    show = sys.stderr.isatty() if cfg.progress is None else cfg.progress
    t0 = time.monotonic()
    ticker = asyncio.create_task(_progress(shared, cfg.chargers, t0)) if show else None
    try:
        ok = await asyncio.gather(*(bot.connect(gate) for bot in bots))
        shared.summary.connect_s = time.monotonic() - t0
        live = [bot for bot, good in zip(bots, ok, strict=True) if good]
        if cfg.on_booted is not None:
            await cfg.on_booted()
        cpu0, begin = time.process_time(), time.monotonic()
        msgs0 = shared.summary.messages
        if cfg.mode in ("connect", "hold"):
            await _hold(shared, cfg, live)
        else:
            shared.measuring = cfg.warmup_s <= 0
            shared.stop_at = begin + cfg.warmup_s + cfg.duration_s
            if cfg.steady_timeout_s is not None and cfg.warmup_s > 0:
                shared.stop_at = math.inf  # _window sets the end once every charger is in its loop
            window = asyncio.create_task(_window(shared, cfg, begin))
            await asyncio.gather(*(bot.run(begin) for bot in live))
            await window
        shared.measuring = False
        elapsed = time.monotonic() - begin
        cpu = time.process_time() - cpu0
    finally:
        if ticker is not None:
            ticker.cancel()
            sys.stderr.write("\n")
        # all at once: one by one, 10,000 closing handshakes take longer than the run
        await asyncio.gather(*(_close(bot.ws) for bot in bots if bot.ws is not None))
    s = shared.summary
    sent = s.messages - msgs0
    s.run_s = round(elapsed, 3)
    s.connect_s = round(s.connect_s, 3)
    s.msg_per_s = round(sent / elapsed, 1) if elapsed > 0 else 0.0
    s.client_cpu_s = round(cpu, 3)
    s.client_cpu_us_per_msg = round(cpu * 1e6 / sent, 1) if sent else 0.0
    latencies = sorted(shared.latency_us)
    s.latency_p50_ms = _percentile(latencies, 0.50)
    s.latency_p99_ms = _percentile(latencies, 0.99)
    return s


def format_summary(s: FleetSummary) -> str:
    return (
        f"chargers {s.connected}/{s.chargers} connected ({s.connect_failures} failed) in "
        f"{s.connect_s:.2f} s, {s.booted} booted\n"
        f"sessions started {s.sessions_started}, completed {s.sessions_completed}\n"
        f"messages {s.messages}, acks {s.acks}, CallErrors {s.call_errors}, "
        f"timeouts {s.timeouts}\n"
        f"{s.msg_per_s:,.0f} msg/s over {s.run_s:.1f} s, latency p50 {s.latency_p50_ms:.2f} ms"
        f" p99 {s.latency_p99_ms:.2f} ms\n"
        f"client CPU {s.client_cpu_s:.2f} s = {s.client_cpu_us_per_msg:.0f} us/msg"
        f" (pid {os.getpid()})"
    )
