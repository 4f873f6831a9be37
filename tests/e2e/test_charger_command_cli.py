"""`evgate chargers command` against a running `evgate serve` and a simulated charger."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from simulators.charger import SimCharger
from tests.support.server_process import ServeProcess, add_business_site, run_cli


async def test_the_cli_prints_the_chargers_answer(db_url: str, tmp_path: Path) -> None:
    add_business_site(db_url)
    run_cli("chargers", "add", "CP0", "--site", "S1", db_url=db_url)
    token = run_cli("admin", "create-token", "--role", "super-admin", db_url=db_url).stdout.strip()
    server = ServeProcess(db_url, tmp_path / "serve.log")
    server.start()
    sim = SimCharger(server.base_url, "CP0")
    try:
        await sim.start(timeout=20)
        api = ("--api-url", f"http://127.0.0.1:{server.api_port}", "--api-token", token)
        body = json.dumps({"key": ["HeartbeatInterval", "Nope"]})
        done = await asyncio.to_thread(
            run_cli,
            "chargers",
            "command",
            "CP0",
            "get-configuration",
            "--json",
            body,
            *api,
            db_url=db_url,
        )
        answer = json.loads(done.stdout)
        assert answer["unknownKey"] == ["Nope"]
        assert answer["configurationKey"][0]["key"] == "HeartbeatInterval"
        assert sim.received[-1] == ("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
        refused = await asyncio.to_thread(
            run_cli,
            "chargers",
            "command",
            "CP0",
            "change-configuration",
            "--json",
            '{"key": "HeartbeatInterval"}',
            *api,
            db_url=db_url,
            check=False,
        )
        assert refused.returncode != 0 and "422" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    finally:
        await sim.stop(drain_timeout=2)
        server.stop()


def test_bad_json_and_unknown_names_are_one_line_errors(db_url: str) -> None:
    bad = run_cli(
        "chargers", "command", "CP0", "reset", "--json", "{nope", db_url=db_url, check=False
    )
    assert bad.returncode != 0 and "not valid JSON" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    unknown = run_cli("chargers", "command", "CP0", "make-coffee", db_url=db_url, check=False)
    assert unknown.returncode != 0 and "get-configuration" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
