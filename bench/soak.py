"""The reliability suite: what evgate promises when things go wrong, as figures.

Four runs, each on SQLite and on PostgreSQL, one JSON line each (docs/reliability.md):

- ``kills``: ``evgate serve`` SIGKILLed ``--kills`` times at random moments while chargers send
  MeterValues; the chargers reconnect and resend what was not acknowledged, as firmware does.
  Counts acknowledged messages lost, duplicate sessions, and whether every session's energy
  is exact.
- ``fuzz``: ``--frames`` frames mutated from valid ones; answers by CallError code, closes by
  code, server crashes, InternalErrors, memory before and after.
- ``broker``: the MQTT broker stopped for ``--outage`` seconds under load; events lost.
- ``billing``: ``evgate bill`` killed at random points and run again; the invoices compared
  with an uninterrupted run.

    python -m bench.soak [--only kills fuzz broker billing] [--db sqlite postgres]

Every loop is bounded in count and time; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench.ocpp_load import PG_ADMIN, ROOT, _pg, free_port, postgres_unreachable, proc_rss_kib
from store.db import create_engine
from store.schema import meter_samples, outbox, sessions

RUNS = ("kills", "fuzz", "broker", "billing")
OCPP16 = [Subprotocol("ocpp1.6")]
T0 = datetime(2026, 10, 5, 8, tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def cli(*args: str, url: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "config.cli", *args, "--database-url", url],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@contextlib.contextmanager
def database(db: str) -> Iterator[str]:
    """A fresh database URL (a temporary SQLite file, or a new PostgreSQL database)."""
    work = Path(tempfile.mkdtemp(prefix="evgate-soak-"))
    name = None
    try:
        if db == "postgres":
            name = f"evgate_soak_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            yield f"{base}/{name}"
        else:
            yield f"sqlite+aiosqlite:///{work}/evgate.db"
    finally:
        if name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(work, ignore_errors=True)


def fleet_site(url: str, chargers: int) -> list[str]:
    cli("sites", "add", "SOAK", "--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25",
        "--plan", "business", "--allow-passwordless", url=url)  # fmt: skip
    ids = [f"SOAK-{i:03d}" for i in range(chargers)]
    csv = Path(tempfile.mkstemp(suffix=".csv")[1])
    csv.write_text("\n".join(ids) + "\n")
    cli("chargers", "import", str(csv), "--site", "SOAK", url=url)
    csv.unlink()
    cli("tokens", "add", "SOAKTAG", "--site", "SOAK", url=url)
    return ids


class Serve:
    """`evgate serve` as its own process, restartable on the same ports."""

    def __init__(self, url: str, log: Path, *extra: str) -> None:
        self.url, self.log, self.extra = url, log, extra
        self.port, self.api_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "config.cli", "serve", "--database-url", self.url),
                *("--ocpp-port", str(self.port), "--api-port", str(self.api_port)),
                *("--log-level", "WARNING", *self.extra),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),  # noqa: SIM115 - the child owns it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("evgate serve did not start listening")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class SoakCharger:
    """A charger that keeps one session going across server deaths: it reconnects and sends
    the call it had no answer to again, as firmware does with transaction messages."""

    def __init__(self, base: str, charger_id: str, rnd: random.Random) -> None:
        self.url = f"{base}/{charger_id}"
        self.id = charger_id
        self.rnd = rnd
        self.ws: ClientConnection | None = None
        self.tx: int | None = None
        self.register_dwh = rnd.randrange(10_000_000, 50_000_000)  # deci-Wh, Wallbox style
        self.start_wh = self.register_dwh // 10
        self.acked: set[int] = set()  # milli-Wh of acknowledged samples
        self.sent = 0
        self.at = T0
        self.seq = 0

    async def _call(self, action: str, payload: dict[str, Any]) -> Any:
        """One call, answered; on a lost connection: reconnect and send it again."""
        for _ in range(200):
            try:
                if self.ws is None:
                    self.ws = await connect(self.url, subprotocols=OCPP16, open_timeout=5)
                self.seq += 1
                mid = f"{self.id}-{self.seq}"
                await self.ws.send(orjson.dumps([2, mid, action, payload]).decode())
                while True:
                    frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), 10))
                    if frame[0] == 2:  # a call of the server's (TriggerMessage...): accept it
                        await self.ws.send(
                            orjson.dumps([3, frame[1], {"status": "Accepted"}]).decode()
                        )
                    elif frame[1] == mid:
                        if frame[0] == 4:
                            raise RuntimeError(f"{action}: {frame[2]} {frame[3]}")
                        return frame[2]
            except (OSError, ConnectionClosed, TimeoutError):
                self.ws = None
                await asyncio.sleep(0.1 + self.rnd.random() * 0.2)
        raise RuntimeError(f"{self.id}: no answer to {action} after 200 tries")

    async def begin(self) -> None:
        await self._call(
            "BootNotification", {"chargePointVendor": "Wallbox", "chargePointModel": "Soak"}
        )
        answer = await self._call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "SOAKTAG",
                "meterStart": self.start_wh,
                "timestamp": iso(self.at),
            },
        )
        self.tx = answer["transactionId"]

    async def meter(self) -> None:
        self.register_dwh += self.rnd.randrange(1, 200)
        self.at += timedelta(seconds=10)
        value = f"{self.register_dwh // 10}.{self.register_dwh % 10}"
        self.sent += 1
        await self._call(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": self.tx,
                "meterValue": [{"timestamp": iso(self.at), "sampledValue": [{"value": value}]}],
            },
        )
        self.acked.add(self.register_dwh * 100)

    async def end(self) -> None:
        self.at += timedelta(seconds=10)
        await self._call(
            "StopTransaction",
            {
                "transactionId": self.tx,
                "meterStop": self.register_dwh // 10,
                "timestamp": iso(self.at),
            },
        )
        if self.ws is not None:
            await self.ws.close()


async def _stored(url: str) -> tuple[list[dict[str, Any]], dict[int, Counter[int]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(select(sessions))).mappings()]
            samples: dict[int, Counter[int]] = {}
            query = select(meter_samples.c.session_id, meter_samples.c.energy_mwh)
            for sid, mwh in await conn.execute(query):
                samples.setdefault(sid, Counter())[mwh] += 1
        return rows, samples
    finally:
        await engine.dispose()


def run_kills(db: str, kills: int, chargers: int, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    with database(db) as url:
        ids = fleet_site(url, chargers)
        work = Path(tempfile.mkdtemp(prefix="evgate-soak-"))
        server = Serve(url, work / "serve.log")
        server.start()
        fleet = [
            SoakCharger(f"ws://127.0.0.1:{server.port}/ocpp", i, random.Random(rnd.random()))
            for i in ids
        ]

        async def drive() -> None:
            await asyncio.gather(*(c.begin() for c in fleet))
            stop = asyncio.Event()

            async def loop(c: SoakCharger) -> None:
                while not stop.is_set():
                    await c.meter()

            tasks = [asyncio.create_task(loop(c)) for c in fleet]
            for _ in range(kills):
                await asyncio.sleep(rnd.uniform(0.5, 2.0))
                server.kill(signal.SIGKILL)
                await asyncio.sleep(rnd.uniform(0.0, 0.5))
                await asyncio.to_thread(server.start)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*tasks)
            await asyncio.gather(*(c.end() for c in fleet))

        started = time.monotonic()
        asyncio.run(drive())
        server.kill(signal.SIGTERM)
        rows, samples = asyncio.run(_stored(url))
        shutil.rmtree(work, ignore_errors=True)
    lost = duplicates = inexact = 0
    per_charger = Counter(r["charger_id"] for r in rows)
    by_tx = {r["id"]: r for r in rows}
    for c in fleet:
        got = samples.get(c.tx or -1, Counter())
        lost += len(c.acked - set(got))
        duplicates += sum(n - 1 for n in got.values() if n > 1)
        row = by_tx.get(c.tx or -1)
        if row is None or row["energy_wh"] != c.register_dwh // 10 - c.start_wh:
            inexact += 1
    return {
        "run": "soak-kills",
        "db": db,
        "kills": kills,
        "chargers": chargers,
        "seconds": round(time.monotonic() - started, 1),
        "acked_messages": sum(len(c.acked) for c in fleet),
        "acked_lost": lost,
        "duplicate_samples": duplicates,  # resends of unacknowledged calls, stored twice
        "duplicate_sessions": sum(n - 1 for n in per_charger.values()),
        "sessions_inexact": inexact,
    }


# --- fuzz ------------------------------------------------------------------------------------

VALID: list[tuple[str, dict[str, Any]]] = [
    ("BootNotification", {"chargePointVendor": "Wallbox", "chargePointModel": "PLP1"}),
    ("Heartbeat", {}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}),
    ("Authorize", {"idTag": "SOAKTAG"}),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "SOAKTAG", "meterStart": 1000, "timestamp": iso(T0)},
    ),
    (
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 1,
            "meterValue": [
                {
                    "timestamp": iso(T0),
                    "sampledValue": [
                        {
                            "value": "1234.5",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        },
                        {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"},
                    ],
                }
            ],
        },
    ),
    ("StopTransaction", {"transactionId": 1, "meterStop": 2000, "timestamp": iso(T0)}),
    ("DataTransfer", {"vendorId": "com.wallbox", "data": "x"}),
]
ODD_VALUES: list[Any] = [
    None, True, -1, 0, 2**31, 2**63, 2**64, -(2**63) - 1, 1e308, "1e400", "9" * 30, "", "x" * 300,
    [], {}, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "\u0000", "\ud800x",
]  # fmt: skip


def _mutate(rnd: random.Random) -> bytes:
    action, payload = rnd.choice(VALID)
    frame: list[Any] = [2, f"f{rnd.randrange(10**9)}", action, json.loads(json.dumps(payload))]
    kind = rnd.randrange(8)
    if kind == 0:  # a field set to an odd value
        target: Any = frame[3]
        if action == "MeterValues" and rnd.random() < 0.5:
            target = target["meterValue"][0]["sampledValue"][0]
        if target:
            target[rnd.choice(list(target))] = rnd.choice(ODD_VALUES)
    elif kind == 1:  # a field dropped
        if frame[3]:
            del frame[3][rnd.choice(list(frame[3]))]
    elif kind == 2:  # an extra field
        frame[3][f"x{rnd.randrange(99)}"] = rnd.choice(ODD_VALUES)
    elif kind == 3:  # the frame's own shape
        frame[rnd.randrange(4)] = rnd.choice(ODD_VALUES)
    text = json.dumps(frame, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if kind == 4:  # bytes flipped
        data = bytearray(text)
        for _ in range(rnd.randrange(1, 4)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        text = bytes(data)
    elif kind == 5:  # cut short
        text = text[: rnd.randrange(1, len(text))]
    elif kind == 6:  # a character inserted
        at = rnd.randrange(len(text))
        text = text[:at] + rnd.choice([b"{", b"]", b",", b'"', b"\\", b"\xff"]) + text[at:]
    return text


async def _fuzz_frames(
    server: Serve, ids: list[str], frames: int, seed: int, internal: list[str]
) -> Counter[str]:
    """Tally the answers; the first frames answered InternalError go to ``internal``."""
    rnd = random.Random(seed)
    tally: Counter[str] = Counter()
    per = frames // len(ids)

    async def one(charger_id: str, r: random.Random) -> None:
        ws: ClientConnection | None = None
        for _ in range(per):
            if ws is None:
                ws = await connect(
                    f"ws://127.0.0.1:{server.port}/ocpp/{charger_id}",
                    subprotocols=OCPP16,
                    max_size=2**20,
                )
            data = _mutate(r)
            try:
                await ws.send(data, text=True)  # bytes in a text frame, UTF-8 or not
                while True:
                    raw = await asyncio.wait_for(ws.recv(), 10)
                    try:
                        answer = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        tally["answer:unreadable"] += 1
                        break
                    if isinstance(answer, list) and answer and answer[0] == 2:
                        await ws.send(orjson.dumps([3, answer[1], {}]).decode())
                        continue
                    code = "result" if answer[0] == 3 else f"CallError:{answer[2]}"
                    tally[code] += 1
                    if code == "CallError:InternalError" and len(internal) < 20:
                        internal.append(data.decode(errors="replace")[:300])
                    break
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                tally[f"close:{rcvd.code if rcvd else 'none'}"] += 1
                ws = None
            except TimeoutError:
                tally["no answer"] += 1
                await ws.close()
                ws = None
        if ws is not None:
            await ws.close()

    await asyncio.gather(*(one(i, random.Random(rnd.random())) for i in ids))
    return tally


def run_fuzz(db: str, frames: int, seed: int) -> dict[str, Any]:
    with database(db) as url:
        ids = fleet_site(url, 10)
        work = Path(tempfile.mkdtemp(prefix="evgate-soak-"))
        server = Serve(url, work / "serve.log")
        server.start()
        assert server.proc is not None
        rss_before = proc_rss_kib(server.proc.pid)
        started = time.monotonic()
        internal: list[str] = []
        tally = asyncio.run(_fuzz_frames(server, ids, frames, seed, internal))
        seconds = time.monotonic() - started
        alive = server.alive
        rss_after = proc_rss_kib(server.proc.pid) if alive else 0
        tracebacks = server.log.read_text(errors="replace").count("Traceback")
        server.kill(signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "run": "soak-fuzz",
        "db": db,
        "frames": sum(tally.values()),
        "seconds": round(seconds, 1),
        "server_alive": alive,
        "internal_errors": tally.get("CallError:InternalError", 0),
        "internal_error_frames": internal[:5],
        "answers": dict(tally.most_common()),
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "tracebacks_logged": tracebacks,
    }


# --- broker ----------------------------------------------------------------------------------


def mosquitto() -> str | None:
    """The broker's binary: on PATH, or where Debian puts it (/usr/sbin, not on every PATH)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class Broker:
    """Our own Mosquitto (persistent, so that a restart keeps the subscriber's queue)."""

    def __init__(self, work: Path, port: int) -> None:
        self.conf = work / "mosquitto.conf"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {work}/\nautosave_interval 1\n"
        )
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = mosquitto()
        assert binary is not None
        self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def run_broker(db: str, outage: float, seed: int) -> dict[str, Any]:
    import aiomqtt

    if mosquitto() is None:
        return {"run": "soak-broker", "db": db, "skipped": "mosquitto is not installed"}
    rnd = random.Random(seed)
    with database(db) as url:
        ids = fleet_site(url, 10)
        work = Path(tempfile.mkdtemp(prefix="evgate-soak-"))
        mqtt_port = free_port()
        server = Serve(url, work / "serve.log", "--mqtt-url", f"mqtt://127.0.0.1:{mqtt_port}")

        async def drive() -> tuple[set[str], int, int, float]:
            received: set[str] = set()
            broker = Broker(work, mqtt_port)
            broker.start()
            try:
                await asyncio.to_thread(server.start)

                def take(message: aiomqtt.Message) -> None:
                    body = orjson.loads(bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
                    received.add(body.get("event_id") or body.get("id"))

                async def listen() -> None:
                    for _ in range(10_000):
                        client = aiomqtt.Client(
                            "127.0.0.1", mqtt_port, identifier="soak", clean_session=False
                        )
                        try:
                            async with client:
                                await client.subscribe("evgate/#", qos=1)
                                async for message in client.messages:
                                    take(message)
                        except aiomqtt.MqttError:
                            # paho acknowledged what waits in aiomqtt's queue (PUBACK on
                            # arrival), so the broker will not send it again: take it now
                            queued = client._queue  # noqa: SLF001
                            while not queued.empty():
                                take(queued.get_nowait())
                            await asyncio.sleep(0.2)

                listener = asyncio.create_task(listen())
                fleet = [
                    SoakCharger(
                        f"ws://127.0.0.1:{server.port}/ocpp", i, random.Random(rnd.random())
                    )
                    for i in ids
                ]
                await asyncio.gather(*(c.begin() for c in fleet))
                stop = asyncio.Event()

                async def loop(c: SoakCharger) -> None:
                    status = ["Charging", "SuspendedEV"]
                    n = 0
                    while not stop.is_set():
                        n += 1
                        await c._call(
                            "StatusNotification",
                            {"connectorId": 1, "errorCode": "NoError", "status": status[n % 2]},
                        )
                        await asyncio.sleep(0.05)

                tasks = [asyncio.create_task(loop(c)) for c in fleet]
                await asyncio.sleep(3)
                broker.stop()
                await asyncio.sleep(outage)
                broker.start()
                await asyncio.sleep(3)
                stop.set()
                await asyncio.gather(*tasks)
                await asyncio.gather(*(c.end() for c in fleet))
                waited = time.monotonic()
                engine = create_engine(url)
                total = 0
                for _ in range(600):  # until every event is published and received
                    async with engine.connect() as conn:
                        ids_all = [r[0] for r in await conn.execute(select(outbox.c.event_id))]
                        pending = (
                            await conn.execute(
                                select(func.count())
                                .select_from(outbox)
                                .where(outbox.c.published_at.is_(None))
                            )
                        ).scalar_one()
                    total = len(ids_all)
                    if not pending and set(ids_all) <= received:
                        break
                    await asyncio.sleep(0.1)
                await engine.dispose()
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                lost = len(set(ids_all) - received)
                server.kill(signal.SIGTERM)
                return received, total, lost, time.monotonic() - waited
            finally:
                broker.stop()

        received, total, lost, drain_s = asyncio.run(drive())
        shutil.rmtree(work, ignore_errors=True)
    return {
        "run": "soak-broker",
        "db": db,
        "outage_s": outage,
        "events": total,
        "events_received": len(received),
        "events_lost": lost,
        "drain_after_stop_s": round(drain_s, 1),
    }


# --- billing ---------------------------------------------------------------------------------


class _Copies:
    """The month to bill, and fresh copies of it: SQLite files, or PostgreSQL databases made
    from a template database."""

    def __init__(self, db: str, work: Path) -> None:
        self.db, self.work = db, work
        self.names: list[str] = []
        base_url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        self.pg_base = base_url
        self.base = self.url("base")

    def url(self, name: str) -> str:
        if self.db == "sqlite":
            return f"sqlite+aiosqlite:///{self.work}/{name}.db"
        full = f"evgate_soak_{name}_{uuid.uuid4().hex[:6]}"
        self.names.append(full)
        return f"{self.pg_base}/{full}"

    def create_base(self) -> None:
        if self.db == "postgres":
            asyncio.run(_pg(f'CREATE DATABASE "{self.base.rsplit("/", 1)[1]}"'))

    def copy(self, name: str) -> str:
        """A fresh copy of the base (a killed run's write-ahead log is not carried along)."""
        from tests.e2e.test_billing_cli import fresh_copy

        url = self.url(name)
        if self.db == "sqlite":
            fresh_copy(self.work / "base.db", self.work / f"{name}.db")
        else:
            new, base = url.rsplit("/", 1)[1], self.base.rsplit("/", 1)[1]
            asyncio.run(_pg(f'CREATE DATABASE "{new}" TEMPLATE "{base}"'))
        return url

    def drop(self, url: str) -> None:
        if self.db == "postgres":
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self.names if self.db == "postgres" else ():
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _invoices(url: str) -> int:
    async def count() -> int:
        from store.billing_schema import invoices

        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = select(func.count()).select_from(invoices)
                return int((await conn.execute(query)).scalar_one())
        except Exception:  # noqa: BLE001 - not migrated yet
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(count())


def run_billing_kills(db: str, rounds: int, seed: int) -> dict[str, Any]:
    from tests.e2e.test_billing_cli import MONTH, state
    from tests.e2e.test_billing_cli import seed as seed_month

    rnd = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="evgate-soak-"))
    copies = _Copies(db, work)
    try:
        subscribers = 300
        copies.create_base()
        asyncio.run(seed_month(copies.base, subscribers=subscribers, per=4))
        clean = copies.copy("clean")
        cli("bill", "--month", MONTH, "--batch-size", "5", url=clean)
        expected = asyncio.run(state(clean))
        equal = kills = kills_mid = 0
        for i in range(rounds):
            url = copies.copy(f"killed{i}")
            for _attempt in range(20):  # kill on observed progress, several times
                proc = subprocess.Popen(
                    [sys.executable, "-m", "config.cli", "bill", "--month", MONTH,
                     "--batch-size", "7", "--database-url", url],
                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                before = _invoices(url)
                deadline = time.monotonic() + 60
                while proc.poll() is None and _invoices(url) <= before:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
                time.sleep(rnd.uniform(0, 0.05))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                proc.wait()
                n = _invoices(url)
                kills_mid += 0 < n < subscribers
                if n >= subscribers:
                    break
            cli("bill", "--month", MONTH, "--batch-size", "3", url=url)
            equal += asyncio.run(state(url)) == expected
            copies.drop(url)
        return {
            "run": "soak-billing",
            "db": db,
            "rounds": rounds,
            "kills": kills,
            "kills_mid_run": kills_mid,
            "reruns_identical": equal,
            "reruns_different": rounds - equal,
        }
    finally:
        copies.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description="evgate's reliability suite (docs/reliability.md)")
    p.add_argument("--only", nargs="*", choices=RUNS, default=list(RUNS))
    p.add_argument(
        "--db", nargs="*", choices=("sqlite", "postgres"), default=["sqlite", "postgres"]
    )
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--chargers", type=int, default=20)
    p.add_argument("--frames", type=int, default=100_000)
    p.add_argument("--outage", type=float, default=60.0)
    p.add_argument("--billing-rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    for db in args.db:
        if db == "postgres" and (reason := postgres_unreachable()):
            print(json.dumps({"run": "soak", "db": db, "skipped": reason}), flush=True)
            continue
        for name in args.only:
            if name == "kills":
                out = run_kills(db, args.kills, args.chargers, seed)
            elif name == "fuzz":
                out = run_fuzz(db, args.frames, seed)
            elif name == "broker":
                out = run_broker(db, args.outage, seed)
            else:
                out = run_billing_kills(db, args.billing_rounds, seed)
            print(json.dumps({**out, "seed": seed}), flush=True)


if __name__ == "__main__":
    main()
