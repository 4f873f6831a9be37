"""`evgate serve` pushes local lists on its own; `evgate chargers push-local-list` on request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from simulators.charger import SimCharger
from tests.support.server_process import ServeProcess, add_business_site, run_cli


async def _until(check: object, timeout: float = 30.0) -> None:
    async def wait() -> None:
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.1)

    await asyncio.wait_for(wait(), timeout)


async def test_serve_pushes_the_derived_list_and_the_cli_pushes_on_request(
    db_url: str, tmp_path: Path
) -> None:
    add_business_site(db_url)
    run_cli("chargers", "add", "CP0", "--site", "S1", db_url=db_url)
    for tag in ("RFID-1", "RFID-2"):
        run_cli("tokens", "add", tag, "--site", "S1", db_url=db_url)
    token = run_cli("admin", "create-token", "--role", "super-admin", db_url=db_url).stdout.strip()
    server = ServeProcess(db_url, tmp_path / "serve.log")
    server.start()
    sim = SimCharger(server.base_url, "CP0")
    accepted = {"status": "Accepted"}
    try:
        await sim.start(timeout=20)
        # the tokens were added while it was away: the job pushes them once it is online
        await _until(lambda: sim.local_list.entries == {"RFID-1": accepted, "RFID-2": accepted})
        assert sim.local_list.version == 1
        api = ("--api-url", f"http://127.0.0.1:{server.api_port}", "--api-token", token)
        up_to_date = await asyncio.to_thread(
            run_cli, "chargers", "push-local-list", "CP0", *api, db_url=db_url
        )
        assert json.loads(up_to_date.stdout)["status"] == "UpToDate"
        full = await asyncio.to_thread(
            run_cli, "chargers", "push-local-list", "CP0", "--full", *api, db_url=db_url
        )
        pushed = json.loads(full.stdout)
        assert (pushed["status"], pushed["update_type"], pushed["version"]) == (
            "Accepted",
            "Full",
            2,
        )
        run_cli("tokens", "block", "RFID-2", "--site", "S1", db_url=db_url)
        await _until(lambda: sim.local_list.entries.get("RFID-2") == {"status": "Blocked"})
        assert sim.local_list.version == 3
        assert sim.received[-1][1]["updateType"] == "Differential"
        sim.local_list.fail = True
        failed = await asyncio.to_thread(
            run_cli,
            "chargers",
            "push-local-list",
            "CP0",
            "--full",
            *api,
            db_url=db_url,
            check=False,
        )
        assert failed.returncode != 0 and "answered Failed" in failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1
    finally:
        await sim.stop(drain_timeout=2)
        server.stop()
