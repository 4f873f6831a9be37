"""Fleet mode: the workload loop, its summary, the frames it sends, and the CLI."""

from __future__ import annotations

import asyncio
import json
import sys
from array import array
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sim_central import CentralSystem  # noqa: E402

from simulators.fleet import FleetConfig, meter_frame, run_fleet  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def cs() -> AsyncIterator[CentralSystem]:
    central = CentralSystem()
    await central.start()
    yield central
    await central.stop()


def test_meter_frame_is_the_workload_frame() -> None:
    frame = meter_frame("42", 1001, "2025-03-01T10:00:00Z", 5_323_639, 11_000, 55)
    assert 1_200 <= len(frame) <= 1_600
    msg = orjson.loads(frame)
    assert msg[:3] == [2, "42", "MeterValues"]
    values = msg[3]["meterValue"][0]["sampledValue"]
    assert len(values) == 9
    assert values[0] == {
        "value": "532363.9",
        "context": "Sample.Periodic",
        "format": "Raw",
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unit": "Wh",
    }
    assert [v["measurand"] for v in values[1:]] == [
        "Power.Active.Import",
        *["Current.Import"] * 3,
        *["Voltage"] * 3,
        "SoC",
    ]
    assert msg[3]["transactionId"] == 1001


async def test_fifty_chargers_closed_loop(cs: CentralSystem) -> None:
    summary = await run_fleet(
        FleetConfig(url=cs.url, chargers=50, duration_s=2.0, progress=False, connect_concurrency=20)
    )
    assert (summary.connected, summary.booted, summary.connect_failures) == (50, 50, 0)
    assert summary.sessions_started == summary.sessions_completed == 50
    assert summary.messages == summary.acks > 50 * 8
    assert (summary.call_errors, summary.timeouts, summary.errors) == (0, 0, {})
    assert 0 < summary.latency_p50_ms <= summary.latency_p99_ms
    assert summary.client_cpu_us_per_msg > 0
    # every charger ran the workload sequence, and the schemas accepted every frame
    first = cs.state.actions("CP-000001")
    assert first[:6] == [
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "StatusNotification",
        "Heartbeat",
    ]
    assert first[-1] == "StopTransaction" and set(first[6:-1]) == {"MeterValues"}
    assert len(cs.state.of("StopTransaction")) == 50
    assert len(cs.state.received) == summary.acks


async def test_paced_mode_offers_the_configured_rate(cs: CentralSystem) -> None:
    summary = await run_fleet(
        FleetConfig(
            url=cs.url,
            chargers=20,
            duration_s=2.0,
            mode="paced",
            interval_s=0.5,
            progress=False,
            samples_per_session=2,
        )
    )
    meter_values = len(cs.state.of("MeterValues"))
    # 20 chargers x one call per 0.5 s over 2 s: about 80 (phases are random)
    assert 50 <= meter_values <= 100
    assert summary.sessions_started > 20  # sessions restart every 2 samples
    assert summary.sessions_completed == summary.sessions_started


async def test_hold_mode_boots_all_then_one_heartbeat_each(cs: CentralSystem) -> None:
    booted_seen: list[int] = []
    edges: list[str] = []
    sink: array[int] = array("q")

    async def on_booted() -> None:
        booted_seen.append(len(cs.state.of("BootNotification")))

    summary = await run_fleet(
        FleetConfig(
            url=cs.url,
            chargers=30,
            mode="hold",
            interval_s=0.5,
            progress=False,
            on_booted=on_booted,
            on_window=edges.append,
            latency_sink=sink,
        )
    )
    assert booted_seen == [30] and edges == ["start", "end"]
    assert (summary.connected, summary.booted, summary.window_acks) == (30, 30, 30)
    assert len(cs.state.of("Heartbeat")) == 30 and len(sink) == 30
    assert not cs.state.of("MeterValues") and summary.sessions_started == 0
    assert 0 < summary.latency_p50_ms <= summary.latency_p99_ms


async def test_connect_mode_only_connects_and_boots(cs: CentralSystem) -> None:
    summary = await run_fleet(FleetConfig(url=cs.url, chargers=10, mode="connect", progress=False))
    assert (summary.connected, summary.booted, summary.window_acks) == (10, 10, 0)
    assert {r.action for r in cs.state.received} == {"BootNotification"}


async def test_unreachable_central_system_is_counted_not_raised() -> None:
    summary = await run_fleet(
        FleetConfig(url="ws://127.0.0.1:9/ocpp", chargers=3, duration_s=0.2, progress=False)
    )
    assert (summary.connected, summary.connect_failures, summary.acks) == (0, 3, 0)


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "config.cli",
        "simulate",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_fleet_json(cs: CentralSystem) -> None:
    code, out, _ = await run_cli(
        "--url", cs.url, "--fleet", "5", "--duration", "0.5", "--id-pattern", "FL-{:03d}", "--json"
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["connected"] == 5 and summary["sessions_completed"] == 5
    assert "FL-005" in {r.charger_id for r in cs.state.received}


async def test_cli_single_session_json(cs: CentralSystem) -> None:
    code, out, _ = await run_cli(
        "--url",
        cs.url,
        "--id",
        "WB-CLI",
        "--speed",
        "3000",
        "--soc",
        "50",
        "--target",
        "55",
        "--parking",
        "60",
        "--quirk",
        "kwh_units,empty_transaction_data",
        "--json",
    )
    assert code == 0
    (record,) = json.loads(out)
    assert record["charger_id"] == "WB-CLI" and record["transaction_id"] == 1001
    assert record["energy_wh"] == 3_000  # 5 % of the default 60 kWh car
    assert cs.state.of("StopTransaction")[0]["transactionData"] == []


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--quirk", "bogus"], "unknown quirk 'bogus'"),
        (["--url", "http://x"], "--url must start with ws://"),
        (["--fleet", "2", "--mode", "paced"], "--mode paced needs --interval"),
        (["--fleet", "0"], "--fleet needs at least 1"),
        (["--scenario", "/nonexistent.yaml"], "scenario file /nonexistent.yaml not found"),
        (["--speed", "0"], "--speed must be positive"),
    ],
)
async def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], reason: str) -> None:
    code, out, err = await run_cli(*args)
    assert code == 2
    assert err.startswith("evgate: ") and reason in err and err.count("\n") == 1
