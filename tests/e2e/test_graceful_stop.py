"""SIGTERM stops `evgate serve` in order: chargers hear 1001 (going away), the process exits 0,
and nothing in the log says it fell over on the way out."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.support.ocpp_client import Charger
from tests.support.server_process import ServeProcess, add_business_site, run_cli


async def test_sigterm_closes_chargers_with_going_away_and_exits_zero(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/evgate.db"
    add_business_site(db_url)
    run_cli("chargers", "add", "CP1", "--site", "S1", db_url=db_url)
    log = tmp_path / "serve.log"
    server = ServeProcess(db_url, log)
    server.start()
    try:
        cp = await Charger.connect(f"{server.base_url}/CP1")
        await cp.boot()
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        code, _ = await asyncio.wait_for(cp.closed, 15)
        assert code == 1001
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
    finally:
        server.kill()
    text = log.read_text()
    assert "evgate stopping" in text
    assert "Traceback" not in text
