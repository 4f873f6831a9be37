"""The charging-session service: version-neutral domain calls behind every OCPP adapter.

The pure core (metering) decides; the store commits through the group committer;
the caller acknowledges after the returned awaitable completes. Per-connection state
(open sessions, recent stops) is only changed after a commit succeeded.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import reservations as booking
from metering import Reading, sane_timestamp, session_energy, session_timeline
from store import charging as db
from store import firmware, presence, transaction_refs
from store import reservations as reserved
from store.batcher import Batch, GroupCommitter
from store.outbox_store import event_row
from store.schema import meter_samples, outbox

log = logging.getLogger("evgate.service")

# how long after its stop a sample without transactionId still belongs to a session
POST_STOP_GRACE = timedelta(minutes=10)
# a StartTransaction older than this with a token we refuse goes to review
LATE_START = timedelta(minutes=5)
# a running session reports its energy so far at most this often (charger time)
UPDATE_EVERY = timedelta(seconds=60)
# the connection's context knows the sessions stopped this recently
RECENT_STOPS = timedelta(days=1)
# at most this many chargers in one coalesced lookup round
LOOKUP_ROUND = 500


def now() -> datetime:
    return datetime.now(UTC)


def decide(
    monthly_payment: bool,
    token_state: str | None,
    subscriber_state: str | None = None,
    expires_at: datetime | None = None,
    policy: str = "open",
    at: datetime | None = None,
) -> tuple[str, str]:
    """Who may charge where (docs/domain.md): the idTagInfo status for a token on a charger,
    with the reason in words (what a refused remote start tells the API user).

    A blocked token is Blocked everywhere; a token past its expiry (at `at`, default now) is
    Expired everywhere. A charger not in monthly-payment mode accepts any other token at a
    site whose policy is ``open`` (its sessions are recorded, not billed monthly), and only
    the site's own tokens at a site whose policy is ``registered`` (others: Invalid). In
    monthly-payment mode only a token of an *active subscriber* of the site is Accepted; a
    suspended subscriber's token is Blocked; unknown tokens and tokens of no subscriber (or
    of an invited or cancelled one) are Invalid.
    """
    if token_state == "blocked":
        return "Blocked", "token blocked"
    if token_state is not None and expires_at is not None and expires_at <= (at or now()):
        return "Expired", f"token expired at {expires_at.isoformat()}"
    if not monthly_payment:
        if token_state is None and policy == "registered":
            return "Invalid", "unknown tag at a site that accepts only registered tags"
        return "Accepted", "accepted"
    if token_state != "active":
        return "Invalid", "unknown tag at a charger in monthly payment"
    if subscriber_state == "active":
        return "Accepted", "accepted"
    if subscriber_state == "suspended":
        return "Blocked", "subscriber suspended"
    return "Invalid", "tag of no active subscriber at a charger in monthly payment"


def id_tag_info(status: str, expires_at: datetime | None) -> dict[str, Any]:
    """OCPP idTagInfo: the status, and the token's expiry as an ISO string when it has one."""
    info: dict[str, Any] = {"status": status}
    if expires_at is not None:
        info["expiryDate"] = expires_at.isoformat()
    return info


@dataclass
class ChargerContext:
    """What one connection knows about its charger; rebuilt at every connect."""

    id: str
    site_id: str | None
    state: str
    lenient: bool = False
    max_power_w: int = 22000
    booted: bool = False
    boot_triggered: bool = False
    connected_at: datetime = field(default_factory=now)
    connection_id: str = ""  # this socket's own id, in store.presence
    open_sessions: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    recent_stops: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    known_sessions: set[int] = field(default_factory=set)
    # running session -> (meter start in Wh, time of its last session_updated event)
    progress: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)
    # the subprotocol of this connection, and the one the store had for the charger
    ocpp_version: str = "ocpp1.6"
    recorded_version: str | None = None
    # OCPP 2.0.1: the charger's transactionId -> session, and session -> what this
    # connection knows of its transaction (gateway.ocpp201.TxState: seqNos taken, state)
    refs: dict[str, int] = field(default_factory=dict)
    tx: dict[int, Any] = field(default_factory=dict)
    # how the socket was opened: TLS or not, and the verified client certificate (None:
    # none), so that a site's raised security profile is applied to it (Gateway.recheck)
    tls: bool = False
    peer_cert: dict[str, Any] | None = None
    # calls to send the charger once the answer in hand is out (action, payload), e.g. a
    # CertificateSigned after the SignCertificate it follows
    after_reply: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MeterWrite:
    """What a MeterValues adds, and (session, charger time) of the events it raises."""

    tables: dict[Table, list[dict[str, Any]]]
    updates: tuple[tuple[int, datetime], ...]


@dataclass(frozen=True)
class StartResult:
    transaction_id: int
    status: str
    expires_at: datetime | None = None  # the token's expiry (idTagInfo.expiryDate)


def _context(charger: dict[str, Any], recent: list[dict[str, Any]]) -> ChargerContext:
    """A connection's context from its charger row and its `db.recent_sessions_of` rows."""
    ctx = ChargerContext(
        id=charger["id"],
        site_id=charger["site_id"],
        state=charger["state"],
        lenient=bool(charger["lenient"]),
        max_power_w=int(charger["max_power_w"]),
        recorded_version=charger.get("ocpp_version"),
    )
    for row in recent:  # open ones first, then stops oldest first: the latest stop wins
        ctx.known_sessions.add(row["id"])
        if row.get("transaction_ref") is not None:
            ctx.refs[row["transaction_ref"]] = row["id"]
        if row["stopped_at"] is None:
            ctx.open_sessions[row["connector_id"]] = (row["id"], row["started_at"])
            ctx.progress[row["id"]] = (row["meter_start_wh"], None)
        else:
            ctx.recent_stops[row["connector_id"]] = (row["id"], row["stopped_at"])
    return ctx


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """Reads asked for while one round trip is in flight are answered together by the next.

    `fetch` gets the distinct keys of a round (at most `limit`) and returns key -> value;
    a key it leaves out is answered None. A failed round fails only its own callers.
    """

    def __init__(
        self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]], limit: int, name: str
    ) -> None:
        self.fetch = fetch
        self.limit = limit
        self.name = name
        self.rounds = 0  # figures for tests and benchmarks
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        waiter: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(waiter)
        if self._task is None:
            self._task = asyncio.create_task(self._rounds(), name=self.name)
        return await waiter

    async def _rounds(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[: self.limit]
                waiting = {k: self._waiting.pop(k) for k in keys}
                self.rounds += 1
                try:
                    found = await self.fetch(keys)
                except Exception as exc:  # every caller of the round fails with it
                    for waiters in waiting.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    continue
                except BaseException:
                    self._waiting.update(waiting)  # cancelled below with the rest
                    raise
                for key, waiters in waiting.items():
                    value = found.get(key)
                    for waiter in waiters:
                        if not waiter.done():  # done: the caller went away meanwhile
                            waiter.set_result(value)
        except BaseException:  # cancelled (shutdown): nobody may wait forever
            for waiters in self._waiting.values():
                for waiter in waiters:
                    waiter.cancel()
            self._waiting.clear()
            raise
        finally:
            self._task = None


class ChargingService:
    def __init__(
        self, engine: AsyncEngine, committer: GroupCommitter, instance_id: str = ""
    ) -> None:
        # this process's id among the instances on one database (store.presence)
        self.instance_id = instance_id or uuid.uuid4().hex
        self.engine = engine
        self.committer = committer
        # handshakes: charger id -> (its row, its recent sessions), many chargers per query
        self.lookups: Coalescer[str, tuple[dict[str, Any], list[dict[str, Any]]]] = Coalescer(
            self._lookup_round, LOOKUP_ROUND, "evgate-lookups"
        )
        # called with (site id, charger id) after a session's start or stop is committed and
        # before it is acknowledged: each must only note it (services.site_power re-shares
        # a site's power limit in a task of its own)
        self.session_hooks: list[Callable[[str | None, str], None]] = []
        # Authorize: (charger id, site id, idTag) -> what decide() needs, many per query
        self.authorizations: Coalescer[tuple[str, str | None, str], db.AuthorizeFacts] = Coalescer(
            self._authorize_round, LOOKUP_ROUND, "evgate-authorize"
        )

    # -- connection lifecycle -------------------------------------------------------------
    async def lookup(self, charger_id: str) -> tuple[dict[str, Any] | None, ChargerContext | None]:
        """The charger's row (with its site's allow_passwordless and tz) and its connection's
        context (its open and recently stopped sessions), or (None, None) for an unknown
        charger.

        Lookups asked for while one round trip is in flight are answered together by the
        next: one connection, one query for all their chargers and one for their sessions.
        Every caller gets its own row and context.
        """
        found = await self.lookups.get(charger_id)
        if found is None:
            return None, None
        charger, recent = found
        return dict(charger), _context(charger, recent)

    async def _lookup_round(
        self, ids: list[str]
    ) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
        async with self.engine.connect() as conn:
            found = await db.load_chargers(conn, ids)
            recent = (
                await db.recent_sessions_of(conn, list(found), now() - RECENT_STOPS)
                if found
                else {}
            )
        return {i: (row, recent[i]) for i, row in found.items()}

    async def connected(self, ctx: ChargerContext) -> None:
        """This socket holds the charger now (store.presence), and says so (charger_online)."""
        at = now()

        async def op(batch: Batch) -> None:
            presence.claim(batch, ctx.id, self.instance_id, ctx.connection_id, at)
            if ctx.ocpp_version != ctx.recorded_version:  # first connect, or a firmware update
                transaction_refs.record_version(batch, ctx.id, ctx.ocpp_version)
            db.add_event(batch, "charger_online", ctx.site_id, ctx.id, {"at": at.isoformat()}, at)

        await self.committer.run(op)

    async def disconnected(self, ctx: ChargerContext) -> None:
        """Record a socket gone. Only a socket that still held the charger raises
        charger_offline: when a newer socket of the charger's is open (here or on another
        instance), the last presence event stays its charger_online."""
        at = now()

        async def op(batch: Batch) -> None:
            await db.touch_charger(batch, ctx.id, at)
            if await presence.release(batch, ctx.id, ctx.connection_id):
                db.add_event(
                    batch, "charger_offline", ctx.site_id, ctx.id, {"at": at.isoformat()}, at
                )

        await self.committer.run(op)

    async def beat(self, host: str) -> None:
        """This instance is alive; chargers held by instances that stopped beating are
        offline (their events raised here, once)."""
        at = now()

        async def op(batch: Batch) -> None:
            await batch.flush()
            await presence.beat(batch.conn, self.instance_id, host, at)
            for row in await presence.sweep(batch.conn, at):
                payload = {"at": at.isoformat(), "instance_gone": True}
                db.add_event(
                    batch, "charger_offline", row["site_id"], row["charger_id"], payload, at
                )

        await self.committer.run(op)

    async def leave(self) -> None:
        async with self.engine.begin() as conn:
            await presence.leave(conn, self.instance_id)

    # -- charger -> central system --------------------------------------------------------
    async def boot(self, ctx: ChargerContext, info: dict[str, Any]) -> str:
        at = now()

        async def op(batch: Batch) -> None:
            db.record_boot(batch, ctx.id, info, at)
            db.add_event(
                batch, "charger_booted", ctx.site_id, ctx.id, {**info, "at": at.isoformat()}, at
            )

        await self.committer.run(op)
        ctx.booted = True
        return "Accepted" if ctx.state == "approved" else "Pending"

    async def status(
        self,
        ctx: ChargerContext,
        connector_id: int,
        status: str,
        error_code: str,
        ts: datetime | None,
        extra: dict[str, Any],
    ) -> None:
        received = now()
        flags: list[str] = []
        if ts is None:
            ts = received
        else:
            ts, corrected = sane_timestamp(ts, received)
            if corrected:
                flags.append("clock_corrected")
        row = {
            "charger_id": ctx.id,
            "connector_id": connector_id,
            "status": status,
            "error_code": error_code,
            "info": extra.get("info"),
            "vendor_id": extra.get("vendorId"),
            "vendor_error_code": extra.get("vendorErrorCode"),
            "ts": ts,
            "received_at": received,
        }
        # A connector that comes back Available after a reboot while we still hold its
        # session open: the charger forgot the transaction. Close it at its last sample.
        forgotten = None
        open_session = ctx.open_sessions.get(connector_id)
        if (
            status == "Available"
            and ctx.booted
            and open_session
            and open_session[1] < ctx.connected_at
        ):
            forgotten = open_session[0]

        async def op(batch: Batch) -> datetime | None:
            db.record_status(batch, row)
            db.add_event(
                batch,
                "connector_status",
                ctx.site_id,
                ctx.id,
                {
                    "connector_id": connector_id,
                    "status": status,
                    "error_code": error_code,
                    "at": ts.isoformat(),
                },
                received,
            )
            if forgotten is not None:
                return await self._close_forgotten(batch, ctx, forgotten)
            return None

        closed_at = await self.committer.run(op)
        if forgotten is not None and closed_at is not None:
            self._mark_stopped(ctx, connector_id, forgotten, closed_at)

    async def authorize(self, ctx: ChargerContext, id_tag: str) -> dict[str, Any]:
        """The idTagInfo of an Authorize."""
        facts = await self.authorizations.get((ctx.id, ctx.site_id, id_tag))
        assert facts is not None  # every key of a round is answered
        return id_tag_info(decide(*facts)[0], facts[3])

    async def identify(self, ctx: ChargerContext, session_id: int, id_tag: str) -> dict[str, Any]:
        """A session opened without a token (a 2.0.1 charger that starts when the car is
        plugged in) takes the token of its first later event that carries one: who may charge
        is decided then, and the token's subscriber is who pays. A session that has a token
        keeps it; the answer is the token's idTagInfo either way."""
        received = now()

        async def op(batch: Batch) -> tuple[str, datetime | None]:
            facts, owner = await transaction_refs.token_for_session(batch, session_id, id_tag)
            status = decide(*facts, received)[0]
            if await transaction_refs.identify_session(batch, session_id, id_tag, status, owner):
                db.add_event(
                    batch,
                    "session_identified",
                    ctx.site_id,
                    ctx.id,
                    {"session_id": session_id, "id_tag": id_tag, "auth_status": status},
                    received,
                )
            return status, facts[3]

        status, expires = await self.committer.run(op)
        return id_tag_info(status, expires)

    async def _authorize_round(
        self, keys: list[tuple[str, str | None, str]]
    ) -> dict[tuple[str, str | None, str], db.AuthorizeFacts]:
        async with self.engine.connect() as conn:
            return await db.authorize_facts_of(conn, keys)

    async def start(
        self,
        ctx: ChargerContext,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        charger_ts: datetime,
        reservation_id: int | None,
        transaction_ref: str | None = None,
        extra_flags: Sequence[str] = (),
        remote_start_id: int | None = None,
    ) -> StartResult:
        """A session opened (1.6 StartTransaction, 2.0.1 TransactionEvent Started, or the
        first event of a 2.0.1 transaction whose Started was lost): one decision for both."""
        received = now()
        started_at, corrected = sane_timestamp(charger_ts, received)
        key = {
            "charger_id": ctx.id,
            "connector_id": connector_id,
            "id_tag": id_tag,
            "charger_started_at": charger_ts,
            "meter_start_wh": meter_start,
        }
        previous = ctx.open_sessions.get(connector_id)
        # one read, shared with the other starts of the transaction when there are several:
        # the replay check, the charger's snapshot and the token on its site; and one more
        # for the charger's active reservations (gateway/reservations.py)
        ahead = (reserved.start_facts_of, tuple(key[k] for k in db.START_KEY))

        async def op(batch: Batch) -> tuple[int, str, datetime | None, bool, datetime | None]:
            snap = batch.read_ahead(*ahead) or await reserved.start_facts(batch, key)
            expires = snap["token_expires_at"]
            if snap["session_id"] is not None:  # a replay: same answer, nothing new
                return snap["session_id"], snap["auth_status"], None, False, expires
            status = decide(
                bool(snap["monthly_payment"]),
                snap["token_state"],
                snap["subscriber_state"],
                expires,
                snap["auth_policy"],
                received,
            )[0]
            booked = booking.verdict(
                snap["reservations"], connector_id, id_tag, reservation_id, received
            )
            # who pays for it: the token's subscriber on this site now (billing snapshot)
            owner = snap["subscriber_id"]
            flags = list(extra_flags)
            if corrected:
                flags.append("clock_corrected")
            if booked.refused_by is not None:
                flags.append(f"reserved_for_other:{booked.refused_by['reservation_id']}")
                if status == "Accepted":
                    status = "Invalid"  # the connector is reserved for another tag
            if status != "Accepted" and received - started_at > LATE_START:
                flags.append("review")  # offline charger let an unknown token charge
            closed_at = None
            if previous is not None and previous[0] != -1:
                closed_at = await self._close_forgotten(batch, ctx, previous[0])
            session_id = await db.insert_session(
                batch,
                {
                    **key,
                    "auth_status": status,
                    "started_at": started_at,
                    "monthly_payment": bool(snap["monthly_payment"]),
                    "tariff_id": snap["tariff_id"],
                    "subscriber_id": owner,
                    "reservation_id": (
                        booked.taken["reservation_id"] if booked.taken else reservation_id
                    ),
                    "flags": flags,
                    "received_at": received,
                    "transaction_ref": transaction_ref,
                    "remote_start_id": remote_start_id,
                },
            )
            if booked.taken is not None:
                await reserved.mark_used(batch, booked.taken["id"], session_id, received)
            db.add_event(
                batch,
                "session_started",
                ctx.site_id,
                ctx.id,
                {
                    "session_id": session_id,
                    "connector_id": connector_id,
                    "id_tag": id_tag,
                    "started_at": started_at.isoformat(),
                    "meter_start_wh": meter_start,
                    "monthly_payment": bool(snap["monthly_payment"]),
                    "auth_status": status,
                    **({"remote_start_id": remote_start_id} if remote_start_id is not None else {}),
                },
                received,
            )
            return session_id, status, closed_at, True, expires

        session_id, status, closed_at, created, expires = await self.committer.run(op, ahead)
        if previous is not None and closed_at is not None:
            self._mark_stopped(ctx, connector_id, previous[0], closed_at)
        if created:
            self._sessions_changed(ctx)
        if transaction_ref is not None:
            ctx.refs[transaction_ref] = session_id
        if created or session_id not in ctx.known_sessions:
            ctx.known_sessions.add(session_id)
            # a replayed start of a session that has since stopped stays stopped
            if created or not any(s == session_id for s, _ in ctx.recent_stops.values()):
                ctx.open_sessions[connector_id] = (session_id, started_at)
                ctx.progress[session_id] = (meter_start, None)
        return StartResult(session_id, status, expires)

    async def meter_values(
        self,
        ctx: ChargerContext,
        connector_id: int,
        transaction_id: int | None,
        readings: Sequence[tuple[Reading, Any]],
    ) -> None:
        """The hot path: rows only (a read only for a transactionId not seen yet)."""
        if transaction_id is not None and transaction_id not in ctx.known_sessions:
            await self._learn_session(ctx, transaction_id)
        write = self.meter_write(ctx, connector_id, transaction_id, readings)
        await self.committer.rows_of(write.tables)
        self.meter_stored(ctx, write)

    def append_meter_values(
        self,
        ctx: ChargerContext,
        connector_id: int,
        transaction_id: int | None,
        readings: Sequence[tuple[Reading, Any]],
        done: Callable[[BaseException | None], None],
    ) -> bool:
        """meter_values without a task: `done` is called after the commit (or its failure).

        False, and nothing queued, when the transactionId needs a read first.
        """
        if transaction_id is not None and transaction_id not in ctx.known_sessions:
            return False
        write = self.meter_write(ctx, connector_id, transaction_id, readings)

        def committed(error: BaseException | None) -> None:
            if error is None:
                self.meter_stored(ctx, write)
            done(error)

        self.committer.append(write.tables, committed)
        return True

    def meter_write(
        self,
        ctx: ChargerContext,
        connector_id: int,
        transaction_id: int | None,
        readings: Sequence[tuple[Reading, Any]],
    ) -> MeterWrite:
        """The rows a MeterValues adds: its samples and the session_updated events due."""
        received = now()
        rows = []
        for reading, raw in readings:
            ts, _ = sane_timestamp(reading.ts, received)
            rows.append(
                {
                    "charger_id": ctx.id,
                    "connector_id": connector_id,
                    "session_id": self._session_of(ctx, connector_id, transaction_id, ts),
                    "ts": ts,
                    "energy_mwh": reading.energy_mwh,
                    "power_w": reading.power_w,
                    "context": reading.context,
                    "values": raw,
                    "received_at": received,
                }
            )
        updates = self._progress_events(ctx, connector_id, rows)
        if not updates:
            return MeterWrite({meter_samples: rows}, ())
        events = [
            event_row("session_updated", ctx.site_id, ctx.id, payload, received)
            for _, _, payload in updates
        ]
        return MeterWrite(
            {meter_samples: rows, outbox: events}, tuple((s, ts) for s, ts, _ in updates)
        )

    @staticmethod
    def meter_stored(ctx: ChargerContext, write: MeterWrite) -> None:
        """After the commit, like all context changes: when each session last reported."""
        for session_id, ts in write.updates:
            if session_id in ctx.progress:
                ctx.progress[session_id] = (ctx.progress[session_id][0], ts)

    @staticmethod
    def _progress_events(
        ctx: ChargerContext, connector_id: int, rows: list[dict[str, Any]]
    ) -> list[tuple[int, datetime, dict[str, Any]]]:
        """session_updated events due (energy so far), at most one per UPDATE_EVERY."""
        due = []
        for row in rows:
            session_id, mwh = row["session_id"], row["energy_mwh"]
            state = ctx.progress.get(session_id) if session_id is not None else None
            if state is None or mwh is None:
                continue
            meter_start, last = state
            if last is not None and row["ts"] - last < UPDATE_EVERY:
                continue
            due.append(
                (
                    session_id,
                    row["ts"],
                    {
                        "session_id": session_id,
                        "connector_id": connector_id,
                        "at": row["ts"].isoformat(),
                        "energy_wh": max(mwh // 1000 - meter_start, 0),
                        "power_w": row["power_w"],
                    },
                )
            )
        return due

    async def _learn_session(self, ctx: ChargerContext, transaction_id: int) -> None:
        """A transactionId this connection has not seen: known if it is this charger's."""
        async with self.engine.connect() as conn:
            row = await db.get_session(conn, transaction_id)
        if row is not None and row["charger_id"] == ctx.id:
            ctx.known_sessions.add(transaction_id)

    @staticmethod
    def _session_of(
        ctx: ChargerContext, connector_id: int, transaction_id: int | None, ts: datetime
    ) -> int | None:
        """Which session a sample belongs to (post-stop samples go to the one just ended)."""
        if transaction_id is not None:
            return transaction_id if transaction_id in ctx.known_sessions else None
        open_session = ctx.open_sessions.get(connector_id)
        if open_session is not None:
            return open_session[0]
        stop = ctx.recent_stops.get(connector_id)
        if stop is not None and stop[1] - timedelta(seconds=5) <= ts <= stop[1] + POST_STOP_GRACE:
            return stop[0]
        return None

    async def stop(
        self,
        ctx: ChargerContext,
        transaction_id: int,
        meter_stop: int | None,
        charger_ts: datetime,
        reason: str | None,
        id_tag: str | None,
        readings: Sequence[tuple[Reading, Any]],
    ) -> str | None:
        """A session ended; ``meter_stop`` None when the charger sent no stop register."""
        received = now()
        stopped_at, corrected = sane_timestamp(charger_ts, received)
        sample_rows = [
            {
                "charger_id": ctx.id,
                "ts": sane_timestamp(r.ts, received)[0],
                "energy_mwh": r.energy_mwh,
                "power_w": r.power_w,
                "context": r.context,
                "values": raw,
                "received_at": received,
            }
            for r, raw in readings
        ]

        async def op(batch: Batch) -> tuple[str | None, int | None, int, datetime | None]:
            session = await db.get_session(batch, transaction_id)
            status = None
            if id_tag is not None:
                status = decide(False, await db.token_on_charger_site(batch, ctx.id, id_tag))[0]
            if session is None or session["charger_id"] != ctx.id:
                # a stop for a transaction we never saw: keep it as a session for review
                session = await self._orphan_session(
                    batch, ctx, transaction_id, meter_stop or 0, stopped_at, id_tag, received
                )
            if session["stopped_at"] is not None and "closed_without_stop" not in session["flags"]:
                return status, None, session["id"], None  # a repeated stop changes nothing
            sid = session["id"]
            if sample_rows:
                db.add_samples(
                    batch,
                    [
                        {**r, "connector_id": session["connector_id"], "session_id": sid}
                        for r in sample_rows
                    ],
                )
            extra = ["clock_corrected"] if corrected else []
            if "closed_without_stop" in session["flags"]:
                extra.append("late_stop")
            await self._finish(
                batch,
                ctx,
                session,
                meter_stop,
                stopped_at,
                reason,
                id_tag,
                extra,
                drop=("closed_without_stop",),
            )
            return status, session["connector_id"], sid, stopped_at

        status, connector_id, sid, at = await self.committer.run(op)
        if connector_id is not None and at is not None:
            self._mark_stopped(ctx, connector_id, sid, at)
            self._sessions_changed(ctx)
        return status

    def _sessions_changed(self, ctx: ChargerContext) -> None:
        for hook in self.session_hooks:
            try:
                hook(ctx.site_id, ctx.id)
            except Exception:  # a hook never costs the charger its acknowledgement
                log.exception("session hook failed", extra={"charger": ctx.id})

    async def data_transfer(
        self, ctx: ChargerContext, vendor_id: str, message_id: str | None, data: str | None
    ) -> None:
        row = {
            "charger_id": ctx.id,
            "vendor_id": vendor_id,
            "message_id": message_id,
            "data": data,
            "received_at": now(),
        }

        async def op(batch: Batch) -> None:
            db.add_data_transfer(batch, row)

        await self.committer.run(op)

    async def firmware_status(self, ctx: ChargerContext, kind: str, status: str) -> None:
        """A Firmware- or DiagnosticsStatusNotification (``kind`` firmware | diagnostics),
        kept with the request it is about; acknowledged after the commit."""
        at = now()

        async def op(batch: Batch) -> None:
            await firmware.record_status(batch, ctx.id, kind, status, at)

        await self.committer.run(op)

    # -- inside a transaction ---------------------------------------------------------------
    async def _close_forgotten(
        self, batch: Batch, ctx: ChargerContext, session_id: int
    ) -> datetime | None:
        """Close a session the charger forgot (reboot) at its last sample, flagged."""
        session = await db.get_session(batch, session_id)
        if session is None or session["stopped_at"] is not None:
            return None
        return await self._finish(
            batch, ctx, session, None, None, "Forgotten", None, ["closed_without_stop"]
        )

    async def _finish(
        self,
        batch: Batch,
        ctx: ChargerContext,
        session: dict[str, Any],
        meter_stop: int | None,
        stopped_at: datetime | None,
        reason: str | None,
        stop_id_tag: str | None,
        extra_flags: list[str],
        drop: Sequence[str] = (),
    ) -> datetime:
        sid = session["id"]
        started_at: datetime = session["started_at"]
        samples = await db.session_meter(batch, sid)
        if stopped_at is None:  # no stop from the charger: end at the last sample
            stopped_at = max([started_at, *(ts for ts, _, _ in samples)])
        flags = [f for f in session["flags"] if f not in drop]
        if stopped_at < started_at:
            flags.append("stop_before_start")
            stopped_at = started_at
        energy = session_energy(
            session["meter_start_wh"],
            meter_stop,
            [(ts, e) for ts, e, _ in samples],
            started_at,
            stopped_at,
            ctx.max_power_w,
        )
        statuses = await db.connector_statuses(
            batch, ctx.id, session["connector_id"], started_at, stopped_at
        )
        timeline = session_timeline(
            started_at,
            stopped_at,
            meter_start_wh=session["meter_start_wh"],
            energy_wh=energy.energy_wh,
            samples=samples,
            statuses=statuses,
        )
        charging_s, parking_s = timeline.charging_s, timeline.parking_s
        for flag in (*extra_flags, *energy.flags):
            if flag not in flags:
                flags.append(flag)
        values = {
            "stopped_at": stopped_at,
            "meter_stop_wh": energy.meter_stop_wh,
            "energy_wh": energy.energy_wh,
            "charging_s": charging_s,
            "parking_s": parking_s,
            "stop_reason": reason,
            "stop_id_tag": stop_id_tag,
            "flags": flags,
        }
        await db.update_session(batch, sid, values)
        db.add_event(
            batch,
            "session_stopped",
            ctx.site_id,
            ctx.id,
            {
                "session_id": sid,
                "connector_id": session["connector_id"],
                "stopped_at": stopped_at.isoformat(),
                "energy_wh": energy.energy_wh,
                "charging_s": charging_s,
                "parking_s": parking_s,
                "flags": flags,
            },
            now(),
        )
        return stopped_at

    async def _orphan_session(
        self,
        batch: Batch,
        ctx: ChargerContext,
        transaction_id: int,
        meter_stop: int,
        stopped_at: datetime,
        id_tag: str | None,
        received: datetime,
    ) -> dict[str, Any]:
        key = {
            "charger_id": ctx.id,
            "connector_id": 0,
            "id_tag": id_tag or "",
            "charger_started_at": stopped_at,
            "meter_start_wh": meter_stop,
        }
        existing = await db.find_session_by_key(batch, key)
        if existing is not None:  # the same unknown stop again
            return existing
        snap = await db.charger_snapshot(batch, ctx.id)
        row = {
            "charger_id": ctx.id,
            "connector_id": 0,
            "id_tag": id_tag or "",
            "auth_status": "Unknown",
            "started_at": stopped_at,
            "charger_started_at": stopped_at,
            "meter_start_wh": meter_stop,
            "monthly_payment": bool(snap["monthly_payment"]),
            "tariff_id": snap["tariff_id"],
            "flags": ["unknown_transaction", "review", f"charger_transaction_id:{transaction_id}"],
            "received_at": received,
        }
        sid = await db.insert_session(batch, row)
        return {**row, "id": sid, "stopped_at": None}

    def _mark_stopped(
        self, ctx: ChargerContext, connector_id: int, session_id: int, at: datetime
    ) -> None:
        current = ctx.open_sessions.get(connector_id)
        if current is not None and current[0] == session_id:
            del ctx.open_sessions[connector_id]
        ctx.recent_stops[connector_id] = (session_id, at)
        ctx.progress.pop(session_id, None)
        ctx.known_sessions.add(session_id)
