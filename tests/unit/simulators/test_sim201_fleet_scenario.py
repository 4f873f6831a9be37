"""2.0.1 in fleet mode and in scenarios, against a validating 2.0.1 CSMS; the CLI's flags."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sim_central201 import Csms  # noqa: E402
from test_sim201_payloads import valid  # noqa: E402
from test_sim_fleet import run_cli  # noqa: E402

from simulators import scenario  # noqa: E402
from simulators.charger201 import SimCharger201  # noqa: E402
from simulators.fleet import FleetConfig, meter_frame_201, run_fleet  # noqa: E402


@pytest.fixture
async def cs() -> AsyncIterator[Csms]:
    central = Csms()
    await central.start()
    yield central
    await central.stop()


def test_fleet_meter_frame_matches_the_schema() -> None:
    frame = orjson.loads(
        meter_frame_201("7", 3, "tx-1", "2026-12-04T10:00:00Z", 5_323_639, 11_000, 55)
    )
    assert frame[:3] == [2, "7", "TransactionEvent"]
    body = valid("TransactionEventRequest", frame[3])
    assert body["seqNo"] == 3 and body["transactionInfo"] == {"transactionId": "tx-1"}
    values = body["meterValue"][0]["sampledValue"]
    assert len(values) == 9
    assert values[0]["value"] == Decimal("532363.9")
    assert values[2]["value"] == Decimal("15.9")


async def test_fleet_in_201(cs: Csms) -> None:
    summary = await run_fleet(
        FleetConfig(
            url=cs.url,
            chargers=5,
            duration_s=1.0,
            progress=False,
            ocpp="2.0.1",
            samples_per_session=5,
        )
    )
    assert (summary.connected, summary.booted) == (5, 5)
    assert summary.call_errors == summary.timeouts == 0  # every frame passed the CSMS's schemas
    assert summary.sessions_completed >= 5
    events = cs.state.of("TransactionEvent")
    by_tx: dict[str, list[int]] = {}
    for e in events:
        by_tx.setdefault(e["transactionInfo"]["transactionId"], []).append(e["seqNo"])
    assert all(seqs == list(range(len(seqs))) for seqs in by_tx.values())
    assert {e["eventType"] for e in events} == {"Started", "Updated", "Ended"}


async def test_scenario_plays_in_201(cs: Csms) -> None:
    plan = scenario.parse(
        {
            "start": "2026-11-02T07:00:00",
            "speed": 7200,
            "sample_interval": "15m",
            "chargers": [{"id": "WB-S1", "ocpp": "2.0.1"}, {"id": "WB-S2", "ocpp": 1.6}],
            "drivers": [{"name": "Kari", "token": "RFID-K", "ev": {"capacity_kwh": 10, "soc": 40}}],
            "sessions": [
                {
                    "charger": "WB-S1",
                    "driver": "Kari",
                    "plug_in": "2026-11-02T07:10",
                    "target_soc": 60,
                    "parking": "30m",
                },
                {
                    "charger": "WB-S1",
                    "driver": "Kari",
                    "plug_in": "2026-11-02T09:00",
                    "target_soc": 50,
                    "parking": "10m",
                },
            ],
        }
    )
    assert [c.ocpp for c in plan.chargers.values()] == ["2.0.1", "1.6"]
    plan.chargers.pop("WB-S2")  # this CSMS speaks 2.0.1 only
    records = await scenario.run(plan, cs.url)
    assert [r.energy_wh for r in records] == [2_000, 1_000]
    ended = [e for e in cs.state.of("TransactionEvent") if e["eventType"] == "Ended"]
    assert [e["transactionInfo"]["transactionId"] for e in ended] == [
        r.transaction_id for r in records
    ]
    with pytest.raises(scenario.ScenarioError, match=r"chargers\[0\]\.ocpp"):
        scenario.parse({"chargers": [{"id": "X", "ocpp": "2.1"}]})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ocpp", "2.1"], "invalid choice"),
        (["--url", "wss://127.0.0.1:1/ocpp", "--client-cert", "c.pem"], "go together"),
        (["--url", "ws://127.0.0.1:1/ocpp", "--ca", "ca.pem"], "need a wss://"),
        (["--url", "wss://127.0.0.1:1/ocpp", "--ca", "/nonexistent.pem"], "no such file"),
    ],
)
async def test_cli_rejects_bad_protocol_and_tls_flags(args: list[str], message: str) -> None:
    code, _, err = await run_cli(*args)
    assert code == 2 and message in err


async def test_single_charger_cli_in_201(cs: Csms) -> None:
    code, out, err = await run_cli(
        "--url",
        cs.url,
        "--id",
        "WB-CLI",
        "--ocpp",
        "2.0.1",
        "--speed",
        "3000",
        "--soc",
        "79",
        "--target",
        "80",
        "--parking",
        "60",
        "--json",
    )
    assert code == 0, err
    (row,) = orjson.loads(out)
    assert isinstance(row["transaction_id"], str) and row["energy_wh"] == 600
    assert cs.state.of("BootNotification")[0]["chargingStation"]["model"] == "PLP1"
    assert SimCharger201.SUBPROTOCOL == "ocpp2.0.1"
