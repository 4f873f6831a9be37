"""`evgate serve --max-connections`: a full server refuses with 503 and keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from tests.support.ocpp_client import Charger
from tests.support.server_process import ServeProcess, add_business_site, run_cli


async def test_max_connections_flag_caps_the_sockets(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/evgate.db"
    add_business_site(db_url)
    for charger in ("CP1", "CP2", "CP3"):
        run_cli("chargers", "add", charger, "--site", "S1", db_url=db_url)
    server = ServeProcess(db_url, tmp_path / "serve.log", "--max-connections", "2")
    server.start()
    try:
        held = [await Charger.connect(f"{server.base_url}/{c}") for c in ("CP1", "CP2")]
        with pytest.raises(InvalidStatus) as info:
            await Charger.connect(f"{server.base_url}/CP3")
        assert info.value.response.status_code == 503
        for cp in held:
            assert "currentTime" in await cp.call("Heartbeat", {})
            await cp.close()
    finally:
        server.stop()
    assert "socket limit reached" in (tmp_path / "serve.log").read_text()
