"""The API as `evgate serve` runs it: a real process, real ports, gateway and API in one loop."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx

from tests.integration.api.conftest import Api
from tests.integration.conftest import Env
from tests.support.ocpp_client import Charger, at
from tests.support.server_process import ServeProcess, run_cli


def wait_for_api(base: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the config API did not come up")


async def test_evgate_serve_serves_the_api_next_to_the_gateway(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/evgate.db"
    run_cli("sites", "add", "oslo", "--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25",
            "--plan", "business", "--allow-passwordless", db_url=db)  # fmt: skip
    run_cli("chargers", "add", "WB-1", "--site", "oslo", db_url=db)
    created = run_cli("admin", "create-token", "--role", "super-admin", "--name", "ops", db_url=db)
    token = created.stdout.strip()
    assert re.fullmatch(r"evg_[A-Za-z0-9_-]{43}", token), created.stdout
    refused = run_cli("admin", "create-token", "--role", "admin", db_url=db, check=False)
    assert refused.returncode == 2 and "needs a site" in refused.stderr

    server = ServeProcess(db, tmp_path / "serve.log")
    server.start()
    try:
        base = f"http://127.0.0.1:{server.api_port}"
        await asyncio.to_thread(wait_for_api, base)
        cp = await Charger.connect(f"{server.base_url}/WB-1")
        await cp.boot()
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            docs = await client.get("/docs")
            assert docs.status_code == 200 and "swagger" in docs.text.lower()
            spec = (await client.get("/openapi.json")).json()
            assert "/api/v1/chargers/{charger_id}/monthly-payment" in spec["paths"]
            charger = (await client.get("/api/v1/chargers/WB-1")).json()
            assert charger["online"] is True  # the API sees the gateway's own sockets
            answer = await client.post(
                "/api/v1/chargers/WB-1/commands/trigger", json={"message": "Heartbeat"}
            )
            assert answer.status_code == 200 and answer.json()["status"] == "Accepted"
            assert ("TriggerMessage", {"requestedMessage": "Heartbeat"}) in cp.received_calls
            metrics = (await client.get("/metrics")).text
            assert "evgate_chargers_connected 1.0" in metrics
            assert 'evgate_ocpp_messages_total{action="BootNotification"}' in metrics
        await cp.close()
    finally:
        assert server.stop() == 0


async def test_metrics_count_calls_sessions_and_latency(api: Api, env: Env) -> None:
    def figure(text: str, name: str) -> float:
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    before = (await api.client.get("/metrics")).text
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    await cp.call("Heartbeat", {})
    await cp.call("Heartbeat", {})
    await cp.start("TAG1", 50_000, at(0))
    after = (await api.client.get("/metrics")).text
    heartbeats = 'evgate_ocpp_messages_total{action="Heartbeat"}'
    assert figure(after, heartbeats) - figure(before, heartbeats) == 2
    assert figure(after, "evgate_chargers_connected") == 1
    assert figure(after, "evgate_sessions_open") == figure(before, "evgate_sessions_open") + 1
    count = 'evgate_ocpp_ack_latency_seconds_bucket{le="+Inf"}'
    assert figure(after, count) - figure(before, count) == 4
    assert figure(after, "evgate_ocpp_ack_latency_seconds_count") == figure(after, count)
    await cp.close()
