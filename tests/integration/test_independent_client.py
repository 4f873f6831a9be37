"""A session driven by an OCPP client that is not ours: ocpp-rpc's RPCClient (npm) in strict
mode validates every call and every answer against the official OCPP JSON schemas, so this
says that evgate's answers are valid OCPP to someone else's reading, not only to our own."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Env
from tests.support.services import unavailable

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


async def drive(env: Env, charger: str, protocol: str, id_tag: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        unavailable("Node.js", "no `node` on PATH")
    if not (NODE_DIR / "node_modules" / "ocpp-rpc").is_dir():
        unavailable("ocpp-rpc", "tests/node is not installed: run scripts/ensure-node-clients")
    proc = await asyncio.create_subprocess_exec(
        str(node),
        str(NODE_DIR / "session.mjs"),
        f"ws://127.0.0.1:{env.gateway.port}/ocpp",
        charger,
        protocol,
        id_tag,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = out.decode().strip().splitlines()
    assert lines, f"no output from the client: {err.decode()[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["ok"], result.get("error")
    assert proc.returncode == 0
    return result


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_strict_outside_client_charges_and_is_metered(env: Env, protocol: str) -> None:
    result = await drive(env, "CP1", protocol, "TAG1")
    answers = result["answers"]
    assert result["protocol"] == protocol
    assert answers["boot"]["status"] == "Accepted"
    info = "idTagInfo" if protocol == "ocpp1.6" else "idTokenInfo"
    assert answers["authorize"][info]["status"] == "Accepted"
    assert answers["start"][info]["status"] == "Accepted"
    [session] = await env.sessions()
    assert session["charger_id"] == "CP1" and session["id_tag"] == "TAG1"
    assert session["energy_wh"] == 8400 - 1000
    assert session["stopped_at"] is not None
    if protocol == "ocpp2.0.1":
        assert session["transaction_ref"] == "rpc-tx-1"
