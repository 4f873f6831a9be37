"""Server CPU per hot-path message: OCPP 2.0.1 TransactionEvent Updated vs 1.6 MeterValues.

`evgate serve` runs as its own process on a fresh database (bench.ocpp_load.served); N
chargers per version connect, boot and start a transaction, then each sends its hot-path
message in a closed loop (the next once the last is acknowledged, i.e. committed: durable),
nine sampled values each (the workload of docs/benchmarks.md). Four windows, each with its
own chargers, in the order 1.6, 2.0.1, 2.0.1, 1.6 (so what grows over the run weighs on both
alike); each figure is the server process's CPU in a version's two windows over the messages
acknowledged in them. Goal: 2.0.1 Updated <= 1.2 x 1.6 MeterValues.

    python -m bench.ocpp201_hot_path [--db sqlite|postgres] [--chargers 200] [--duration 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.ocpp_load import proc_cpu, served

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
_MEASURANDS = (
    ("Energy.Active.Import.Register", None, "Outlet", "Wh"),
    ("Power.Active.Import", None, "Outlet", "W"),
    *(("Current.Import", p, "Outlet", "A") for p in ("L1", "L2", "L3")),
    *(("Voltage", p, "Outlet", "V") for p in ("L1-N", "L2-N", "L3-N")),
    ("SoC", None, "EV", "Percent"),
)


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds").replace("+00:00", "Z")


def sampled(wh: int, v201: bool) -> list[dict[str, Any]]:
    values = {"Energy.Active.Import.Register": wh, "Power.Active.Import": 7400, "SoC": 55}
    out = []
    for measurand, phase, location, unit in _MEASURANDS:
        value = values.get(measurand, 10.7 if measurand == "Current.Import" else 230.1)
        sv: dict[str, Any] = {"context": "Sample.Periodic", "measurand": measurand}
        sv["location"] = location
        if phase:
            sv["phase"] = phase
        if v201:
            sv["value"], sv["unitOfMeasure"] = value, {"unit": unit}
        else:
            sv["value"], sv["unit"] = str(value), unit
        out.append(sv)
    return out


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        await self.ws.send(orjson.dumps([2, f"m{next(self.ids)}", action, payload]).decode())
        while True:
            msg = json.loads(await self.ws.recv())
            if msg[0] == 2:  # a command of the server's (none expected): answer it
                await self.ws.send(json.dumps([3, msg[1], {"status": "Accepted"}]))
                continue
            assert msg[0] == 3, msg
            return msg[2]


async def charger(
    url: str, cid: str, v201: bool, stop_at: list[float], acks: list[int], interval: float
) -> None:
    proto = "ocpp2.0.1" if v201 else "ocpp1.6"
    async with connect(f"{url}/{cid}", subprotocols=[proto], compression=None) as ws:  # type: ignore[list-item]
        c = Client(ws)
        if v201:
            station = {"model": "PulsarPlus", "vendorName": "Wallbox"}
            await c.call("BootNotification", {"reason": "PowerUp", "chargingStation": station})
            first = sampled(1000, True)[:1]
            first[0]["context"] = "Transaction.Begin"
            begin = {"timestamp": iso(T0), "sampledValue": first}
            base = {"transactionId": f"tx-{cid}", "chargingState": "Charging"}
            await c.call(
                "TransactionEvent",
                {
                    "eventType": "Started",
                    "timestamp": iso(T0),
                    "triggerReason": "Authorized",
                    "seqNo": 0,
                    "transactionInfo": base,
                    "evse": {"id": 1, "connectorId": 1},
                    "idToken": {"idToken": "BENCH", "type": "ISO14443"},
                    "meterValue": [begin],
                },
            )
        else:
            await c.call("BootNotification", {"chargePointVendor": "W", "chargePointModel": "P"})
            started = await c.call(
                "StartTransaction",
                {"connectorId": 1, "idTag": "BENCH", "meterStart": 1000, "timestamp": iso(T0)},
            )
            tx = started["transactionId"]
        acks[1] += 1  # ready
        seq, wh = 1, 1000
        # paced: a message every `interval` s, the first at a random offset (0: closed loop)
        due = time.monotonic() + random.random() * interval
        while time.monotonic() < stop_at[0]:
            if interval:
                await asyncio.sleep(max(due - time.monotonic(), 0))
                due += interval
            wh += 10
            ts = iso(T0 + timedelta(seconds=seq))
            if v201:
                payload = {
                    "eventType": "Updated",
                    "timestamp": ts,
                    "triggerReason": "MeterValuePeriodic",
                    "seqNo": seq,
                    "transactionInfo": base,
                    "meterValue": [{"timestamp": ts, "sampledValue": sampled(wh, True)}],
                }
                await c.call("TransactionEvent", payload)
            else:
                mv = [{"timestamp": ts, "sampledValue": sampled(wh, False)}]
                await c.call(
                    "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": mv}
                )
            seq += 1
            acks[0] += 1


async def window(
    url: str, pid: int, ids: list[str], v201: bool, args: argparse.Namespace
) -> tuple[float, int, float]:
    """(server CPU seconds, messages acknowledged, wall seconds) of one timed window."""
    stop_at = [time.monotonic() + 3600.0]
    acks = [0, 0]
    tasks = [
        asyncio.create_task(charger(url, cid, v201, stop_at, acks, args.interval)) for cid in ids
    ]
    while acks[1] < len(ids):
        await asyncio.sleep(0.1)
    await asyncio.sleep(args.warmup)
    cpu0, n0, t0 = proc_cpu(pid), acks[0], time.monotonic()
    await asyncio.sleep(args.duration)
    cpu1, n1, t1 = proc_cpu(pid), acks[0], time.monotonic()
    stop_at[0] = 0
    await asyncio.gather(*tasks)
    return cpu1 - cpu0, max(n1 - n0, 1), t1 - t0


# the windows in the order A B B A: whatever grows over a run (the database, its WAL and
# checkpoints, the process's heap) weighs on both versions alike
ORDER = (False, True, True, False)


def _figures(windows: list[tuple[float, int, float]]) -> dict[str, Any]:
    cpu, n, wall = (sum(w[i] for w in windows) for i in range(3))
    return {
        "server_us_per_msg": round(cpu * 1e6 / n, 1),
        "msg_per_s": round(n / wall),
        "windows_us": [round(w[0] * 1e6 / w[1], 1) for w in windows],
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    """served() makes its database with asyncio.run: the windows run in a loop of their own."""
    n = args.chargers
    with served(args.db, len(ORDER) * n) as server:
        ids = [f"CP-{i:06d}" for i in range(1, len(ORDER) * n + 1)]
        pid = server.proc.pid
        done: dict[bool, list[tuple[float, int, float]]] = {False: [], True: []}
        for k, is_201 in enumerate(ORDER):
            chargers = ids[k * n : (k + 1) * n]
            done[is_201].append(asyncio.run(window(server.ws_url, pid, chargers, is_201, args)))
    v16, v201 = _figures(done[False]), _figures(done[True])
    ratio = v201["server_us_per_msg"] / v16["server_us_per_msg"]
    return {
        "db": args.db,
        "chargers": n,
        "interval_s": args.interval,
        "v16_meter_values": v16,
        "v201_updated": v201,
        "ratio": round(ratio, 2),
        "goal": "<= 1.2",
        "met": ratio <= 1.2,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--chargers", type=int, default=200)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument(
        "--interval",
        type=float,
        default=0.0,
        help="seconds between a charger's messages (0: closed loop, the next once acked); "
        "paced, both versions carry the same load, so neither's group commits are larger",
    )
    return p


if __name__ == "__main__":
    print(json.dumps(main(parser().parse_args())))
