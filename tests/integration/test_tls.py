"""Security profile 2: wss:// with the operator's certificate, plus Basic Auth."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from gateway.server import Gateway, GatewayOptions
from tests.integration.conftest import PASSWORD, seed


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


async def wss_heartbeat(port: int, cert: str) -> str:
    """A Heartbeat of the SECURE charger over wss:// with Basic Auth; the raw answer."""
    import base64

    auth = base64.b64encode(f"SECURE:{PASSWORD}".encode()).decode()
    async with connect(
        f"wss://127.0.0.1:{port}/ocpp/SECURE",
        ssl=ssl.create_default_context(cafile=cert),
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Basic {auth}"},
    ) as ws:
        await ws.send('[2, "1", "Heartbeat", {}]')
        return str(await ws.recv())


async def test_wss_with_basic_auth(engine: AsyncEngine, certificate: tuple[str, str]) -> None:
    await seed(engine)
    cert, key = certificate
    gateway = Gateway(engine, GatewayOptions(port=0, tls_cert=cert, tls_key=key))
    await gateway.start()
    try:
        assert gateway.url("h") == f"wss://h:{gateway.port}/ocpp/{{charger_id}}"  # start line
        assert (await wss_heartbeat(gateway.port, cert)).startswith('[3,"1",{"currentTime"')
        with pytest.raises(Exception):  # noqa: B017 - plain ws:// to a TLS port must fail
            async with connect(
                f"ws://127.0.0.1:{gateway.port}/ocpp/SECURE",
                open_timeout=3,
                subprotocols=["ocpp1.6"],
            ):  # type: ignore[list-item]
                pass
    finally:
        await gateway.close()


async def test_sockets_in_the_tls_handshake_count_and_time_out(
    engine: AsyncEngine, certificate: tuple[str, str]
) -> None:
    """A peer that opens TCP and never says ClientHello holds a socket of the limit until the
    opening timeout cuts it; meanwhile a connection past the limit is refused with 503."""
    import asyncio

    await seed(engine)
    cert, key = certificate
    options = GatewayOptions(
        port=0, tls_cert=cert, tls_key=key, max_connections=2, open_timeout=0.5
    )
    gateway = Gateway(engine, options)
    await gateway.start()
    try:
        stalled = [await asyncio.open_connection("127.0.0.1", gateway.port) for _ in range(2)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        refused = await asyncio.wait_for(reader.read(200), 2)
        assert refused.startswith(b"HTTP/1.1 503"), refused
        writer.close()
        for stalled_reader, stalled_writer in stalled:  # cut by the opening timeout
            assert await asyncio.wait_for(stalled_reader.read(100), 3) == b""
            stalled_writer.close()
        await asyncio.sleep(0.05)
        # the slots are free again, and TLS works after the stalled ones
        assert (await wss_heartbeat(gateway.port, cert)).startswith('[3,"1",')
    finally:
        await gateway.close()
