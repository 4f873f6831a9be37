"""SimCharger: a Wallbox-style OCPP 1.6J charge point that drives EVs through sessions.

It keeps its socket up (back-off with jitter), boots, heartbeats, answers the central
system's commands, and integrates energy exactly. Everything that must reach the central
system in order (transactions, their samples, status changes) goes through one OfflineQueue,
so a dropped socket loses nothing and replays with the original timestamps.

Script a session in a few lines::

    charger = SimCharger("ws://127.0.0.1:9000/ocpp", "WB-001")
    await charger.start()
    record = await charger.charge(1, "RFID-1", EV(soc_percent=40), target_percent=80)
    await charger.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators import payloads
from simulators.clock import VirtualClock, iso_seconds, to_ms
from simulators.configuration import Configuration
from simulators.firmware import FirmwareManager, FirmwareSwitches
from simulators.framing import Call, CallErrorReply, UidSource
from simulators.local_list import LocalList
from simulators.offline_queue import OfflineQueue
from simulators.physics import EV, ChargerSpec, Flow, register_wh
from simulators.quirks import Quirks
from simulators.reservations import Reservations
from simulators.rpc import (
    AfterReply,
    ConnectionLost,
    Link,
    LinkStats,
    TlsFiles,
    backoff_delay,
    open_socket,
)
from simulators.session import SessionRecord
from simulators.smart_charging import SmartCharging

log = logging.getLogger("simulators.charger")

EPOCH_MS = to_ms(datetime(1970, 1, 1, tzinfo=UTC))
WALLBOX_VENDOR = "com.wallbox"
TRIGGERABLE = {
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "MeterValues",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
}


@dataclass(slots=True)
class ActiveTx:
    record: SessionRecord
    tx_ref: int
    flow: Flow
    remote: bool
    next_sample_ms: int
    resume_at_ms: int | None = None  # SuspendedEV-after-RemoteStart quirk: Charging again
    last_sample: tuple[int, int] | None = None  # (ms, Wh) of the last sample sent
    ended: bool = False
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class Connector:
    id: int
    status: str = "Available"
    register_mj: int = 0
    ev: EV | None = None
    tx: ActiveTx | None = None
    operative: bool = True
    pending_inoperative: bool = False
    remote_tag: str | None = None  # RemoteStart that came before the cable
    remote_profile: dict[str, Any] | None = None  # the chargingProfile it carried
    ended_by: str | None = None  # why the last transaction ended (driver, Remote, reboot...)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def bump(self) -> None:
        """Wake everyone waiting for a change on this connector."""
        old, self.event = self.event, asyncio.Event()
        old.set()


@dataclass(slots=True)
class ChargerStats:
    connects: int = 0
    connect_failures: int = 0
    boots: int = 0
    link: LinkStats = field(default_factory=LinkStats)


class SimCharger:
    """One simulated charge point (see the module docstring for a session in a few lines)."""

    SUBPROTOCOL = "ocpp1.6"

    def __init__(
        self,
        url: str,
        charger_id: str,
        password: str | None = None,
        quirks: Quirks | None = None,
        clock: VirtualClock | None = None,
        spec: ChargerSpec | None = None,
        sample_interval_s: int = 60,
        heartbeat_s: int = 300,
        call_timeout_s: float = 30.0,
        unplug_delay_s: int = 10,
        initial_register_wh: int = 532_363,
        backoff: tuple[float, float] = (0.2, 30.0),
        stop_reason: str = "Local",
        refuse: dict[str, str] | None = None,
        drop_on: frozenset[str] = frozenset(),
        call_error: dict[str, str] | None = None,
        firmware: FirmwareSwitches | None = None,
        local_list: bool = True,
        tls: TlsFiles | None = None,
    ) -> None:
        self.url = url
        self.id = charger_id
        self.password = password
        self.tls = tls  # wss:// trust anchors and a client certificate (security profile 3)
        self.quirks = quirks or Quirks()
        self.clock = clock or VirtualClock()
        self.spec = spec or ChargerSpec(firmware="5.5.10" if self.quirks.fw5_profiles else "6.4.2")
        self.call_timeout_s = call_timeout_s
        self.unplug_delay_s = unplug_delay_s
        self.backoff = backoff
        self.stop_reason = stop_reason
        # test switches: answer an action with this status instead, or with a CallError of
        # this code; close the socket when it arrives
        self.refuse = dict(refuse or {})
        self.call_error = dict(call_error or {})
        self.drop_on = drop_on
        self.received: list[tuple[str, dict[str, Any]]] = []  # the central system's calls
        # UpdateFirmware and GetDiagnostics (simulators/firmware.py), with their switches
        self.firmware = FirmwareManager(self, firmware or FirmwareSwitches())
        self.config = Configuration(
            self.spec.connectors, heartbeat_s, sample_interval_s, self.quirks.fw5_profiles
        )
        self.local_list = LocalList(supported=local_list)  # Local Auth List Management
        self.local_list.install(self.config)
        self.connectors = {
            n: Connector(n, register_mj=initial_register_wh * 3_600_000)
            for n in range(1, self.spec.connectors + 1)
        }
        self.queue = OfflineQueue()
        self.profiles = SmartCharging(
            self.spec.phases, self.spec.voltage_v, self.spec.max_current_a
        )
        self.reservations = Reservations(self)  # ReserveNow / CancelReservation
        self.stats = ChargerStats()
        self.completed_sessions: list[SessionRecord] = []
        self.registration: str | None = None  # last BootNotification status
        self._records: dict[int, SessionRecord] = {}  # tx_ref -> record
        self._uids = UidSource()
        self._power_on_ms = self.clock.now_ms()
        self._link: Link | None = None
        self._ready = asyncio.Event()  # booted (or talking without boot) on a live socket
        self._queue_changed = asyncio.Event()
        self._network_up = asyncio.Event()
        self._network_up.set()
        self._stopping = False
        self._run_task: asyncio.Task[None] | None = None
        self._rebooting = False
        self._send_boot_on_connect = not self.quirks.no_boot
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---------------------------------------------------------------- lifecycle

    async def start(self, wait: bool = True, timeout: float = 10.0) -> None:
        """Power on and connect; with `wait`, return once it talks to the central system."""
        if self._run_task is None:
            self._run_task = asyncio.create_task(self._run(), name=f"sim-{self.id}")
        if wait:
            await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Deliver what is queued (when connected), then close the socket for good."""
        if self._run_task is not None and (self.connected or len(self.queue)):
            with contextlib.suppress(TimeoutError):  # (re)booting: let it finish, then drain
                await asyncio.wait_for(self._ready_and_drained(), drain_timeout)
        self._stopping = True
        self._network_up.set()
        for conn in self.connectors.values():
            if conn.tx is not None and conn.tx.task is not None:
                conn.tx.task.cancel()
        if self._link is not None:
            await self._link.close()
        if self._run_task is not None:
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        for task in list(self._tasks):
            task.cancel()

    async def _ready_and_drained(self) -> None:
        while not (self._ready.is_set() and len(self.queue) == 0):
            await asyncio.sleep(0.01)

    async def drained(self) -> None:
        """Wait until every queued message was answered."""
        while len(self.queue):
            await asyncio.sleep(0.01)

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    async def wait_ready(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def disconnect(self) -> None:
        """Drop the socket now (it reconnects by itself, like a flaky network)."""
        if self._link is not None:
            await self._link.close()

    async def set_network(self, up: bool) -> None:
        """Cut or restore the network: while down, no reconnect is attempted."""
        if up:
            self._network_up.set()
        else:
            self._network_up.clear()
            await self.disconnect()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---------------------------------------------------------------- the socket

    def password_to_send(self) -> str | None:
        return None if self.quirks.empty_password else self.password

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            await self._network_up.wait()
            try:
                ws = await open_socket(
                    self.url,
                    self.id,
                    self.password_to_send(),
                    subprotocol=self.SUBPROTOCOL,
                    ssl_context=self.tls.context() if self.tls else None,
                )
            except Exception as exc:  # refused, timed out, 401, bad handshake
                self.stats.connect_failures += 1
                log.debug("%s: connect failed: %s", self.id, exc)
                await asyncio.sleep(backoff_delay(attempt, *self.backoff))
                attempt += 1
                continue
            attempt = 0
            self.stats.connects += 1
            link = Link(ws, self._on_call, self._uids, self.stats.link)
            self._link = link
            reader = asyncio.create_task(link.run())
            online = asyncio.create_task(self._online(link))
            dropper = (
                asyncio.create_task(self._drop_later(link))
                if self.quirks.frequent_reconnects
                else None
            )
            try:
                await asyncio.wait({reader, online}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._ready.clear()
                for task in (reader, online, dropper):
                    if task is not None:
                        task.cancel()
                await link.close()
                self._link = None
            if not self._stopping:
                await asyncio.sleep(backoff_delay(0, *self.backoff))

    async def _drop_later(self, link: Link) -> None:
        low, high = self.quirks.reconnect_every_s
        await asyncio.sleep(random.uniform(low, high))
        await link.close()

    async def _online(self, link: Link) -> None:
        """On a fresh socket: boot (unless the quirk says no), report states, then drain."""
        heart: asyncio.Task[None] | None = None
        try:
            if self._send_boot_on_connect:
                await self._boot(link)
            self._ready.set()
            for conn in self.connectors.values():
                self._send_status(conn, conn.status, self.clock.now_ms(), record=False)
            heart = asyncio.create_task(self._heartbeats(link))
            await self._drain(link)
        except ConnectionLost:
            return
        finally:
            if heart is not None:
                heart.cancel()

    async def _boot(self, link: Link) -> None:
        """BootNotification until Accepted (Pending/Rejected: retry after `interval`)."""
        while True:
            try:
                answer = await link.call(
                    "BootNotification", self._boot_payload(), self.call_timeout_s
                )
            except TimeoutError:
                continue
            except CallErrorReply:
                await asyncio.sleep(5)
                continue
            self.stats.boots += 1
            self.registration = answer.get("status")
            interval = answer.get("interval")
            if isinstance(interval, int) and interval > 0:
                self.config.change("HeartbeatInterval", str(interval))
            if self.registration == "Accepted":
                self._booted(link)
                return
            await asyncio.sleep(max(interval if isinstance(interval, int) else 10, 1))

    def _boot_payload(self) -> dict[str, Any]:
        return payloads.boot(self.spec, self.id)

    def _booted(self, link: Link) -> None:
        """BootNotification Accepted on this link (2.0.1 keeps track of it)."""

    async def _heartbeats(self, link: Link) -> None:
        """Heartbeat every HeartbeatInterval (re-read each second: ChangeConfiguration)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(min(max(self.config.int("HeartbeatInterval"), 1), 1.0))
            if loop.time() - last < max(self.config.int("HeartbeatInterval"), 1):
                continue
            last = loop.time()
            try:
                await link.call("Heartbeat", {}, self.call_timeout_s)
            except ConnectionLost:
                return
            except (TimeoutError, CallErrorReply):
                continue

    async def _drain(self, link: Link) -> None:
        """Send the queue head until answered, in order; returns when the socket dies."""
        while True:
            head = self.queue.head()
            if head is None:
                self._queue_changed.clear()
                await self._queue_changed.wait()
                continue
            item, payload = head
            try:
                result = await link.call(item.action, payload, self.call_timeout_s)
            except TimeoutError:
                continue  # resend: at least once, as OCPP asks for transaction messages
            except CallErrorReply:
                if not self.queue.errored(item):
                    await asyncio.sleep(self.config.int("TransactionMessageRetryInterval"))
                continue
            self.queue.acked(item, result)
            self._answered(item.action, item.tx_ref, result)

    def _enqueue(
        self, action: str, payload: dict[str, Any], tx_ref: int | None = None, tx: bool = True
    ) -> None:
        self.queue.push(action, payload, tx_ref, transactional=tx)
        self._queue_changed.set()

    def _answered(self, action: str, tx_ref: int | None, result: dict[str, Any]) -> None:
        """A queued message got its CallResult."""
        if action == "StartTransaction" and tx_ref is not None:
            self._start_answered(tx_ref, result)

    def _start_answered(self, tx_ref: int, result: dict[str, Any]) -> None:
        record = self._records.get(tx_ref)
        if record is None:
            return
        record.transaction_id = self.queue.transaction_id(tx_ref)
        status = (result.get("idTagInfo") or {}).get("status")
        conn = self.connectors[record.connector_id]
        if (
            status not in (None, "Accepted", "ConcurrentTx")
            and conn.tx is not None
            and conn.tx.tx_ref == tx_ref
            and self.config.flag("StopTransactionOnInvalidId")
        ):
            self._spawn(self.end(conn.id, reason="DeAuthorized"))

    # ---------------------------------------------------------------- time and sending

    def stamp(self, ms: int) -> str:
        """A charger timestamp: virtual time, or 1970 + uptime with the wrong-clock quirk."""
        if self.quirks.wrong_clock:
            ms = EPOCH_MS + (ms - self._power_on_ms)
        return iso_seconds(ms)

    def _send_status(self, conn: Connector, state: str, ms: int, record: bool = True) -> None:
        ms = ms // 1000 * 1000
        conn.status = state
        if record and conn.tx is not None:
            conn.tx.record.timeline.append((ms, state))
        self._enqueue(
            "StatusNotification", payloads.status(conn.id, state, self.stamp(ms)), tx=False
        )
        conn.bump()

    async def _call_now(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A call that is not queued (Authorize, triggered messages); None when offline."""
        link = self._link
        if link is None or link.closed or not self._ready.is_set():
            return None
        try:
            return await link.call(action, payload, self.call_timeout_s)
        except (ConnectionLost, TimeoutError, CallErrorReply):
            return None

    def _limits(self, conn: Connector, ms: int) -> tuple[int | None, int | None]:
        """The profiles' limit on the connector now: (whole A, None) or (None, whole W)."""
        tx_start = conn.tx.record.start_ms if conn.tx is not None else None
        return self.profiles.limits(conn.id, ms, tx_start)

    def _offered_a(self, conn: Connector, ms: int) -> int | None:
        """The current offered under the limit in force (a W limit over the phases)."""
        flow = conn.tx.flow if conn.tx is not None else None
        amps, watts = (flow.limit_a, flow.limit_w) if flow else self._limits(conn, ms)
        if watts is not None:
            amps = watts // (self.spec.phases * self.spec.voltage_v)
        return amps

    def _meter_payload(
        self, conn: Connector, ms: int, context: str, register_mj: int | None = None
    ) -> dict[str, Any]:
        flow = conn.tx.flow if conn.tx is not None else None
        reg = (
            register_mj
            if register_mj is not None
            else (flow.register_mj if flow else conn.register_mj)
        )
        measurands = {m.strip() for m in self.config.text("MeterValuesSampledData").split(",")}
        values = payloads.sampled_values(
            self.spec,
            reg,
            flow,
            self._offered_a(conn, ms),
            context,
            measurands,
            kwh=self.quirks.kwh_units,
            zero_power=self.quirks.zero_power,
        )
        return {
            "connectorId": conn.id,
            "meterValue": [{"timestamp": self.stamp(ms), "sampledValue": values}],
        }

    # ---------------------------------------------------------------- transactions

    def _advance(self, conn: Connector, now_ms: int) -> None:
        """Integrate the flow up to now; a car that reached its target goes SuspendedEV."""
        tx = conn.tx
        if tx is None:
            return
        flow = tx.flow
        if tx.resume_at_ms is not None and now_ms >= tx.resume_at_ms:
            flow.advance(tx.resume_at_ms)
            resume, tx.resume_at_ms = tx.resume_at_ms, None
            flow.set_limit(*self._limits(conn, resume))
            if not flow.ev.full:
                self._send_status(conn, "Charging", resume)
        flow.advance(now_ms)
        limits = self._limits(conn, now_ms)
        if tx.resume_at_ms is None and limits != (flow.limit_a, flow.limit_w):
            flow.set_limit(*limits)
        if flow.full_at_ms is not None and conn.status == "Charging":
            self._send_status(conn, "SuspendedEV", flow.full_at_ms)

    async def _begin(
        self, conn: Connector, id_tag: str, remote: bool, parent: str | None = None
    ) -> SessionRecord:
        """StartTransaction (queued, with the reservationId it uses) and the meter loop."""
        assert conn.ev is not None
        now = self.clock.now_ms() // 1000 * 1000
        if self.quirks.per_session_register:
            conn.register_mj = 0
        tx_ref = self.queue.new_ref()
        meter_start = register_wh(conn.register_mj)
        record = SessionRecord(self.id, conn.id, id_tag, meter_start, now)
        self._records[tx_ref] = record
        profile, conn.remote_profile = conn.remote_profile, None
        if remote and profile is not None:  # a RemoteStartTransaction's TxProfile
            self.profiles.install(conn.id, profile)
        limit_a, limit_w = self.profiles.limits(conn.id, now, now)
        flow = Flow(self.spec, conn.ev, conn.register_mj, now, limit_a, limit_w=limit_w)
        interval = max(self.config.int("MeterValueSampleInterval"), 1) * 1000
        conn.tx = ActiveTx(record, tx_ref, flow, remote, next_sample_ms=now + interval)
        conn.remote_tag = None
        conn.ended_by = None
        reservation_id = self.reservations.take(conn.id, id_tag, parent)
        suspended = remote and self.quirks.suspended_after_remote_start
        state = "SuspendedEV" if suspended or flow.ev.full else "Charging"
        if suspended:
            flow.set_limit(0)
            conn.tx.resume_at_ms = now + self.quirks.suspended_for_s * 1000
        self._enqueue_start(conn, conn.tx, now, reservation_id, state)
        self._send_status(conn, state, now)
        conn.tx.task = self._spawn(self._meter_loop(conn, conn.tx))
        return record

    def _enqueue_start(
        self, conn: Connector, tx: ActiveTx, now: int, reservation_id: int | None, state: str
    ) -> None:
        """StartTransaction (the 2.0.1 charger sends TransactionEvent Started instead)."""
        payload: dict[str, Any] = {
            "connectorId": conn.id,
            "idTag": tx.record.id_tag,
            "meterStart": tx.record.meter_start,
            "timestamp": self.stamp(now),
        }
        if reservation_id is not None:
            payload["reservationId"] = reservation_id
        self._enqueue("StartTransaction", payload, tx.tx_ref)

    async def _meter_loop(self, conn: Connector, tx: ActiveTx) -> None:
        """Wake at the next sample, the car's predicted full time or a change; sample."""
        while not tx.ended:
            now = self.clock.now_ms()
            wake = tx.next_sample_ms
            if tx.resume_at_ms is not None:
                wake = min(wake, tx.resume_at_ms)
            to_full = tx.flow.ms_to_full()
            if to_full is not None:
                wake = min(wake, now + to_full + 1)
            event = conn.event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), self.clock.real_seconds(wake - now))
            if tx.ended:
                return
            now = self.clock.now_ms()
            self._advance(conn, now)
            if now >= tx.next_sample_ms:
                self._sample(conn, tx, now)
                interval = max(self.config.int("MeterValueSampleInterval"), 1) * 1000
                tx.next_sample_ms = max(tx.next_sample_ms + interval, now + interval // 2)

    def _sample(self, conn: Connector, tx: ActiveTx, ms: int) -> None:
        ms = ms // 1000 * 1000
        self._enqueue_sample(conn, tx, ms)
        tx.record.samples += 1
        tx.last_sample = (ms, register_wh(tx.flow.register_mj))

    def _enqueue_sample(self, conn: Connector, tx: ActiveTx, ms: int) -> None:
        self._enqueue("MeterValues", self._meter_payload(conn, ms, "Sample.Periodic"), tx.tx_ref)

    def _close(self, conn: Connector, reason: str, by: str) -> SessionRecord:
        """StopTransaction (queued) and Finishing; the register goes back to the connector."""
        tx = conn.tx
        assert tx is not None
        now = self.clock.now_ms() // 1000 * 1000
        self._advance(conn, now)
        tx.ended = True
        meter_stop = register_wh(tx.flow.register_mj)
        self._enqueue_stop(conn, tx, meter_stop, now, reason)
        tx.record.close(now, meter_stop, reason)
        conn.register_mj = tx.flow.register_mj
        conn.tx = None
        conn.ended_by = by
        self.profiles.drop_tx_profiles(conn.id)
        self._send_status(conn, "Finishing", now)
        if self.quirks.sample_after_stop:
            conn.register_mj += self.quirks.after_stop_extra_wh * 3_600_000
            self._enqueue_after_stop(conn, now + 2000)
        self.completed_sessions.append(tx.record)
        if conn.pending_inoperative:
            conn.pending_inoperative, conn.operative = False, False
        return tx.record

    def _enqueue_stop(
        self, conn: Connector, tx: ActiveTx, meter_stop: int, now: int, reason: str
    ) -> None:
        payload: dict[str, Any] = {
            "idTag": tx.record.id_tag,
            "meterStop": meter_stop,
            "timestamp": self.stamp(now),
            "reason": reason,
        }
        if self.quirks.empty_transaction_data:
            payload["transactionData"] = []
        else:
            end = self._meter_payload(conn, now, "Transaction.End")["meterValue"][0]
            end["sampledValue"] = end["sampledValue"][:1]  # the register only
            payload["transactionData"] = [end]
        self._enqueue("StopTransaction", payload, tx.tx_ref)

    def _enqueue_after_stop(self, conn: Connector, ms: int) -> None:
        """Copper SB: a sample (no transaction) a few Wh above the stop reading."""
        self._enqueue("MeterValues", self._meter_payload(conn, ms, "Sample.Periodic"), tx=False)

    def _forget(self, conn: Connector) -> None:
        """Reboot quirk: the transaction vanishes; no StopTransaction is ever sent."""
        tx = conn.tx
        assert tx is not None
        tx.ended = True
        self._advance(conn, self.clock.now_ms())
        last_ms, last_wh = tx.last_sample or (tx.record.start_ms, tx.record.meter_start)
        tx.record.forgotten = True
        tx.record.close(last_ms, last_wh, None)
        conn.register_mj = tx.flow.register_mj
        conn.tx = None
        conn.ended_by = "reboot"
        self.completed_sessions.append(tx.record)

    # ---------------------------------------------------------------- the driver's side

    async def plug_in(
        self, connector: int = 1, id_tag: str | None = None, ev: EV | None = None
    ) -> SessionRecord | None:
        """Cable in (Preparing); with an id_tag, Authorize and start the transaction.

        Returns the live record, or None when the tag was refused or none was given (a
        RemoteStart may then start it).
        """
        conn = self.connectors[connector]
        if conn.ev is not None:
            raise RuntimeError(f"connector {connector} already has a car")
        conn.ev = ev or EV()
        self._send_status(conn, "Preparing", self.clock.now_ms())
        tag = id_tag or conn.remote_tag
        if tag is None:
            return None
        return await self.swipe(connector, tag, remote=id_tag is None)

    async def swipe(
        self, connector: int, id_tag: str, remote: bool = False
    ) -> SessionRecord | None:
        """Present an RFID: Authorize (local acceptance while offline), then start."""
        conn = self.connectors[connector]
        if conn.tx is not None or conn.ev is None or not conn.operative:
            return None
        # a reserved connector: only its tag, or (after Authorize) one of its parent's
        reserved = not self.reservations.allows(connector, id_tag, None)
        if reserved and not self.reservations.wants_parent(connector):
            return None
        parent = None
        if not remote or reserved or self.config.flag("AuthorizeRemoteTxRequests"):
            answer = await self._authorize(id_tag)
            if answer is None and not self.config.flag("LocalAuthorizeOffline"):
                return None
            if answer is None and self.local_list.enabled(self.config):
                listed = self.local_list.status_of(id_tag, self.clock.now())
                if listed is not None and listed != "Accepted":  # offline: the list says no
                    return None
            if answer is not None and answer.get("status") != "Accepted":
                return None
            parent = (answer or {}).get("parentIdTag")
        if reserved and not self.reservations.allows(connector, id_tag, parent):
            return None
        if conn.tx is not None or conn.ev is None:
            return None
        return await self._begin(conn, id_tag, remote, parent)

    async def _authorize(self, id_tag: str) -> dict[str, Any] | None:
        """Authorize: the idTagInfo answered ({status, parentIdTag}), None when offline."""
        answer = await self._call_now("Authorize", {"idTag": id_tag})
        return None if answer is None else dict(answer.get("idTagInfo") or {})

    async def end(self, connector: int = 1, reason: str | None = None) -> SessionRecord | None:
        """The driver ends the session (app or RFID): StopTransaction, Finishing."""
        conn = self.connectors[connector]
        if conn.tx is None:
            return None
        return self._close(conn, reason or self.stop_reason, by="driver")

    async def unplug(self, connector: int = 1) -> SessionRecord | None:
        """Cable out: ends a running transaction first, then Available."""
        conn = self.connectors[connector]
        record = None
        if conn.tx is not None:
            record = self._close(conn, self.stop_reason, by="driver")
        conn.ev = None
        self._send_status(
            conn, "Available" if conn.operative else "Unavailable", self.clock.now_ms()
        )
        return record

    async def wait_status(self, connector: int, status: str, timeout: float = 10.0) -> None:
        """Wait (wall-clock timeout) until the connector reports `status`."""
        conn = self.connectors[connector]

        async def until() -> None:
            while conn.status != status:
                await conn.event.wait()

        await asyncio.wait_for(until(), timeout)

    async def charge(
        self,
        connector: int,
        id_tag: str | None,
        ev: EV,
        target_percent: int | None = None,
        duration_s: int | None = None,
        parking_s: int = 0,
        remote_wait_s: int = 60,
    ) -> SessionRecord | None:
        """A whole session: plug in, charge to the target (or for a duration), park, unplug.

        With id_tag None the charger waits (virtual seconds) for a RemoteStartTransaction.
        Returns the record, or None when no transaction started.
        """
        conn = self.connectors[connector]
        if target_percent is not None:
            ev.target_percent = target_percent
        plug_ms = self.clock.now_ms()
        record = await self.plug_in(connector, id_tag, ev)
        if record is None and id_tag is None:
            deadline = plug_ms + remote_wait_s * 1000
            while conn.tx is None and self.clock.now_ms() < deadline:
                event = conn.event
                with contextlib.suppress(TimeoutError):
                    left = self.clock.real_seconds(deadline - self.clock.now_ms())
                    await asyncio.wait_for(event.wait(), left)
            record = conn.tx.record if conn.tx is not None else None
        if record is None:
            await self.clock.sleep(self.unplug_delay_s)
            await self.unplug(connector)
            return None
        end_at = plug_ms + duration_s * 1000 if duration_s is not None else None
        while conn.tx is not None and conn.tx.record is record:
            now = self.clock.now_ms()
            full_at = conn.tx.flow.full_at_ms
            if full_at is not None and duration_s is None and conn.status != "Charging":
                wake = full_at + parking_s * 1000
            else:
                wake = end_at if end_at is not None else now + 3_600_000
            if now >= wake:
                await self.end(connector)
                break
            event = conn.event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), self.clock.real_seconds(wake - now))
        await self.clock.sleep(self.unplug_delay_s)
        if conn.ev is ev:
            await self.unplug(connector)
        return record

    # ---------------------------------------------------------------- the central system's calls

    async def _on_call(self, call: Call) -> tuple[dict[str, Any], AfterReply]:
        self.received.append((call.action, call.payload))
        if call.action in self.drop_on:  # the socket drops before the charger can answer
            await self.disconnect()
            raise CallErrorReply("InternalError", "connection dropped")
        if call.action in self.call_error:
            raise CallErrorReply(self.call_error[call.action], f"{call.action} refused")
        if call.action in self.refuse:
            return {"status": self.refuse[call.action]}, None
        handler = getattr(self, f"_cs_{call.action}", None)
        if handler is None:
            raise CallErrorReply("NotImplemented", f"{call.action} is not supported")
        result: tuple[dict[str, Any], AfterReply] = await handler(call.payload)
        return result

    async def _cs_RemoteStartTransaction(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        id_tag = p.get("idTag")
        if not isinstance(id_tag, str):
            raise CallErrorReply("FormationViolation", "idTag missing")
        wanted = p.get("connectorId")
        candidates = [self.connectors[wanted]] if wanted in self.connectors else []
        if wanted is None:
            candidates = [c for c in self.connectors.values() if c.tx is None and c.operative]
            candidates.sort(key=lambda c: c.ev is None)  # a connector with a car first
        if not candidates or candidates[0].tx is not None or not candidates[0].operative:
            return {"status": "Rejected"}, None
        conn = candidates[0]
        if not self.reservations.allows(conn.id, id_tag, None):
            return {"status": "Rejected"}, None  # reserved for another tag
        profile = p.get("chargingProfile")
        if isinstance(profile, dict) and profile.get("chargingProfilePurpose") != "TxProfile":
            return {"status": "Rejected"}, None
        conn.remote_profile = profile if isinstance(profile, dict) else None
        if conn.ev is None:
            conn.remote_tag = id_tag
            return {"status": "Accepted"}, None

        async def start() -> None:
            await self.swipe(conn.id, id_tag, remote=True)

        return {"status": "Accepted"}, start

    async def _cs_RemoteStopTransaction(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        for conn in self.connectors.values():
            if conn.tx is not None and conn.tx.record.transaction_id == p.get("transactionId"):

                async def stop(conn: Connector = conn) -> None:
                    if conn.tx is not None:
                        self._close(conn, "Remote", by="Remote")

                return {"status": "Accepted"}, stop
        return {"status": "Rejected"}, None

    async def _cs_Reset(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        kind = p.get("type")
        if kind not in ("Soft", "Hard"):
            raise CallErrorReply("PropertyConstraintViolation", "type must be Soft or Hard")
        return {"status": "Accepted"}, lambda: self.reboot(kind == "Hard")

    async def reboot(self, hard: bool = False) -> None:
        """Reset: stop (or, with the quirk and a cable in, forget) transactions, reconnect."""
        self._rebooting = True
        for conn in self.connectors.values():
            if conn.tx is None:
                continue
            if self.quirks.forget_on_reboot and conn.ev is not None:
                self._forget(conn)
            else:
                self._close(conn, "HardReset" if hard else "SoftReset", by="reboot")
        for conn in self.connectors.values():
            conn.status = "Preparing" if conn.ev is not None else "Available"
            if not conn.operative:
                conn.status = "Unavailable"
            conn.bump()
        if not hard:  # a soft reset says goodbye after delivering what it owes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained(), 5)
        self._send_boot_on_connect = not self.quirks.no_boot
        await self.disconnect()
        self._rebooting = False

    def install_firmware(self, version: str) -> None:
        """The firmware version the next BootNotification reports."""
        self.spec = dataclasses.replace(self.spec, firmware=version)

    async def _cs_UpdateFirmware(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.firmware.update_firmware(p)

    async def _cs_GetDiagnostics(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.firmware.get_diagnostics(p)

    async def _cs_UnlockConnector(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        conn = self.connectors.get(p.get("connectorId", -1))
        if conn is None:
            return {"status": "NotSupported"}, None
        if conn.tx is not None:
            self._close(conn, "UnlockCommand", by="UnlockCommand")
        return {"status": "Unlocked"}, None

    async def _cs_ChangeAvailability(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        cid, kind = p.get("connectorId"), p.get("type")
        if kind not in ("Inoperative", "Operative"):
            raise CallErrorReply(
                "PropertyConstraintViolation", "type must be Inoperative or Operative"
            )
        if cid == 0:
            targets = list(self.connectors.values())
        elif cid in self.connectors:
            targets = [self.connectors[cid]]
        else:
            return {"status": "Rejected"}, None
        scheduled = False
        for conn in targets:
            if kind == "Inoperative" and conn.tx is not None:
                conn.pending_inoperative, scheduled = True, True
                continue
            conn.operative = kind == "Operative"
            conn.pending_inoperative = False
            if conn.tx is None:
                state = (
                    "Unavailable"
                    if not conn.operative
                    else ("Preparing" if conn.ev else "Available")
                )
                self._send_status(conn, state, self.clock.now_ms())
        return {"status": "Scheduled" if scheduled else "Accepted"}, None

    async def _cs_TriggerMessage(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        what = p.get("requestedMessage")
        if what not in TRIGGERABLE:
            return {"status": "NotImplemented"}, None
        cid = p.get("connectorId")
        if cid is not None and cid not in self.connectors:
            return {"status": "Rejected"}, None

        async def send() -> None:
            if what == "BootNotification":
                link = self._link
                if link is not None:
                    with contextlib.suppress(ConnectionLost, TimeoutError, CallErrorReply):
                        await self._boot(link)
            elif what == "Heartbeat":
                await self._call_now("Heartbeat", {})
            elif what == "StatusNotification":
                for conn in self._targets(cid):
                    self._send_status(conn, conn.status, self.clock.now_ms(), record=False)
            elif what == "MeterValues":
                for conn in self._targets(cid):
                    now = self.clock.now_ms() // 1000 * 1000
                    self._advance(conn, now)
                    payload = self._meter_payload(conn, now, "Trigger")
                    if conn.tx is not None and conn.tx.record.transaction_id is not None:
                        payload["transactionId"] = conn.tx.record.transaction_id
                    await self._call_now("MeterValues", payload)
            elif what == "DiagnosticsStatusNotification":
                status = self.firmware.diagnostics_status
                await self._call_now("DiagnosticsStatusNotification", {"status": status})
            else:
                status = self.firmware.firmware_status
                await self._call_now("FirmwareStatusNotification", {"status": status})

        return {"status": "Accepted"}, send

    def _targets(self, cid: int | None) -> list[Connector]:
        return [self.connectors[cid]] if cid in self.connectors else list(self.connectors.values())

    async def _cs_GetConfiguration(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        keys = p.get("key")
        return self.config.get(keys if isinstance(keys, list) else None), None

    async def _cs_ChangeConfiguration(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        key, value = p.get("key"), p.get("value")
        if not isinstance(key, str) or not isinstance(value, str):
            raise CallErrorReply("FormationViolation", "key and value must be strings")
        return {"status": self.config.change(key, value)}, None

    # Smart Charging: simulators/smart_charging.py decides; here the limit changes take effect

    def _tx_of(self, cid: int) -> tuple[bool, int | None]:
        conn = self.connectors.get(cid)
        if conn is None or conn.tx is None:
            return False, None
        tid = conn.tx.record.transaction_id
        return True, tid if isinstance(tid, int) else None

    def _relimit(self, change: Any) -> Any:
        """Integrate every connector at the old limits, change the profiles, re-limit."""
        now = self.clock.now_ms()
        for conn in self.connectors.values():
            self._advance(conn, now)
        result = change()
        for conn in self.connectors.values():
            self._advance(conn, now)
            conn.bump()
        return result

    async def _cs_SetChargingProfile(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        status = self.profiles.accepts(p, self._tx_of, set(self.connectors))
        level = (p.get("csChargingProfiles") or {}).get("stackLevel")
        if status == "Accepted" and self.quirks.fw5_profiles and level != 0:
            status = "Rejected"  # firmware 5.x: stack level 0 only
        if status == "Accepted":
            self._relimit(lambda: self.profiles.install(p["connectorId"], p["csChargingProfiles"]))
        return {"status": status}, None

    async def _cs_ClearChargingProfile(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        removed = self._relimit(lambda: self.profiles.clear(p))
        return {"status": "Accepted" if removed else "Unknown"}, None

    async def _cs_GetCompositeSchedule(
        self, p: dict[str, Any]
    ) -> tuple[dict[str, Any], AfterReply]:
        conn = self.connectors.get(p.get("connectorId", -1))
        tx_start = conn.tx.record.start_ms if conn is not None and conn.tx is not None else None
        answer = self.profiles.composite(p, self.clock.now_ms(), tx_start, set(self.connectors))
        return answer, None

    async def _cs_ReserveNow(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.reservations.reserve(p), None

    async def _cs_CancelReservation(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.reservations.cancel(p), None

    def _reservation_ended(self, reservation_id: int, why: str) -> None:
        """A reservation expired or was dropped at the charger (1.6 says nothing of it)."""

    async def _cs_SendLocalList(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.local_list.send(p, self.config), None

    async def _cs_GetLocalListVersion(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return self.local_list.get_version(self.config), None

    async def _cs_ClearCache(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        return {"status": "Accepted"}, None  # no authorization cache entries to keep

    async def _cs_DataTransfer(self, p: dict[str, Any]) -> tuple[dict[str, Any], AfterReply]:
        """Wallbox's own vendor id is understood (its data echoed back); others are not."""
        if p.get("vendorId") != WALLBOX_VENDOR:
            return {"status": "UnknownVendorId"}, None
        answer: dict[str, Any] = {"status": "Accepted"}
        if "data" in p:
            answer["data"] = p["data"]
        return answer, None
