"""Security profile 3 over real TLS on loopback: client certificates naming the charger
replace its password; a site's profile refuses what it does not allow."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from config.cli import main
from gateway.server import Gateway, GatewayOptions
from store import audit, migrate
from store.db import create_engine
from store.schema import sites
from tests.integration.conftest import PASSWORD, seed
from tests.support.certs import Pki, authority, make_pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


@pytest.fixture
async def tls_gateway(engine: AsyncEngine, pki: Pki) -> AsyncIterator[Gateway]:
    await seed(engine)  # S2 holds SECURE (with a password) and NOPASS (without)
    options = GatewayOptions(
        port=0, tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca.cert_file
    )
    gateway = Gateway(engine, options)
    await gateway.start()
    yield gateway
    await gateway.close()


async def set_profile(engine: AsyncEngine, site_id: str, profile: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(sites).where(sites.c.id == site_id).values(security_profile=profile)
        )


async def heartbeat(
    url: str, context: ssl.SSLContext | None, password: str | None = None, as_id: str = ""
) -> str:
    headers = {}
    if password is not None:
        user = as_id or url.rsplit("/", 1)[1]
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {auth}"
    async with connect(
        url,
        ssl=context,
        open_timeout=5,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=headers,
    ) as ws:
        await ws.send('[2, "1", "Heartbeat", {}]')
        return str(await ws.recv())


async def refused(url: str, context: ssl.SSLContext | None, password: str | None = None) -> str:
    """The status and body of a refused upgrade."""
    with pytest.raises(InvalidStatus) as info:
        await heartbeat(url, context, password)
    response = info.value.response
    return f"{response.status_code} {response.body.decode().strip()}"


def wss(gateway: Gateway, charger_id: str) -> str:
    return f"wss://127.0.0.1:{gateway.port}/ocpp/{charger_id}"


async def test_a_matching_certificate_on_profile_3_needs_no_password(
    engine: AsyncEngine, tls_gateway: Gateway, pki: Pki
) -> None:
    await set_profile(engine, "S2", 3)
    for charger_id in ("SECURE", "NOPASS"):  # with and without a stored password
        answer = await heartbeat(wss(tls_gateway, charger_id), pki.client(charger_id))
        assert answer.startswith('[3,"1",{"currentTime"'), answer


async def test_a_certificate_for_another_charger_is_refused(
    engine: AsyncEngine, tls_gateway: Gateway, pki: Pki
) -> None:
    for profile in (1, 3):  # a certificate that does not name the charger is never enough
        await set_profile(engine, "S2", profile)
        got = await refused(wss(tls_gateway, "SECURE"), pki.client("NOPASS"), PASSWORD)
        assert got == "403 client certificate is for 'NOPASS', not charger 'SECURE'"


async def test_no_certificate_on_profile_3_is_refused_even_with_the_password(
    engine: AsyncEngine, tls_gateway: Gateway, pki: Pki
) -> None:
    await set_profile(engine, "S2", 3)
    got = await refused(wss(tls_gateway, "SECURE"), pki.no_cert(), PASSWORD)
    assert got == "403 charger 'SECURE' must present a client certificate (security profile 3)"


async def test_a_certificate_from_another_ca_is_refused_in_the_tls_handshake(
    engine: AsyncEngine, tls_gateway: Gateway, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await set_profile(engine, "S2", 3)
    stranger = authority(pki.where, "stranger-ca")
    # TLS 1.3: the client hears of it as a connection closed before any HTTP answer
    with pytest.raises((ssl.SSLError, OSError, InvalidMessage)):
        await heartbeat(wss(tls_gateway, "SECURE"), pki.client("SECURE", stranger))
    failed = [r for r in caplog.records if r.getMessage() == "TLS handshake failed"]
    assert failed and "certificate verify failed" in str(failed[-1].__dict__.get("reason"))
    # the same charger with the operator CA's certificate gets in
    assert (await heartbeat(wss(tls_gateway, "SECURE"), pki.client("SECURE"))).startswith("[3,")


async def test_profile_2_with_the_password_and_no_certificate(
    engine: AsyncEngine, tls_gateway: Gateway, pki: Pki
) -> None:
    await set_profile(engine, "S2", 2)
    answer = await heartbeat(wss(tls_gateway, "SECURE"), pki.no_cert(), PASSWORD)
    assert answer.startswith('[3,"1",{"currentTime"')
    got = await refused(wss(tls_gateway, "SECURE"), pki.no_cert(), "not-the-password")
    assert got.startswith("401 wrong or missing password")


async def test_profile_2_and_3_refuse_plain_ws(engine: AsyncEngine) -> None:
    await seed(engine)
    gateway = Gateway(engine, GatewayOptions(port=0))
    await gateway.start()
    try:
        url = f"ws://127.0.0.1:{gateway.port}/ocpp/SECURE"
        assert (await heartbeat(url, None, PASSWORD)).startswith("[3,")  # profile 1: as today
        for profile in (2, 3):
            await set_profile(engine, "S2", profile)
            got = await refused(url, None, PASSWORD)
            assert got == (
                f"403 charger 'SECURE' must connect with wss:// (security profile {profile})"
            )
    finally:
        await gateway.close()


async def _site_and_entries(url: str) -> tuple[int, list[dict[str, object]]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(sites.select().where(sites.c.id == "OSLO"))).mappings()
            profile = row.one()["security_profile"]
            return profile, await audit.entries(conn, limit=10)
    finally:
        await engine.dispose()


def test_cli_sets_the_profile_audited(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    add = ("sites", "add", "OSLO", "--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25")
    assert main([*add, "--database-url", db_url]) == 0
    assert asyncio.run(_site_and_entries(db_url))[0] == 1  # the default: today's behaviour
    capsys.readouterr()
    assert main(["sites", "security-profile", "OSLO", "3", "--database-url", db_url]) == 0
    assert capsys.readouterr().out.startswith("site OSLO security profile is now 3: TLS +")
    profile, entries = asyncio.run(_site_and_entries(db_url))
    assert profile == 3
    assert entries[0]["action"] == "site.security_profile" and entries[0]["actor"] == "cli"
    assert entries[0]["before"] == {"security_profile": 1}
    assert entries[0]["after"] == {"security_profile": 3}
    assert main(["sites", "list", "--database-url", db_url]) == 0
    assert capsys.readouterr().out == "OSLO\tbasic\tEurope/Oslo\tNOK\tVAT 25%\tprofile 3\n"
    with pytest.raises(SystemExit):  # argparse: invalid choice
        main(["sites", "security-profile", "OSLO", "4", "--database-url", db_url])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["sites", "security-profile", "NOWHERE", "2", "--database-url", db_url]) == 2
    assert "no site 'NOWHERE'" in capsys.readouterr().err


async def test_raising_a_sites_profile_closes_the_sockets_it_no_longer_admits(
    engine: AsyncEngine, tls_gateway: Gateway, pki: Pki
) -> None:
    await set_profile(engine, "S2", 2)
    auth = base64.b64encode(f"SECURE:{PASSWORD}".encode()).decode()
    opened = {
        "SECURE": connect(  # its password, no certificate: fine on profile 2
            wss(tls_gateway, "SECURE"),
            ssl=pki.no_cert(),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {auth}"},
        ),
        "NOPASS": connect(  # its certificate
            wss(tls_gateway, "NOPASS"),
            ssl=pki.client("NOPASS"),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ),
    }
    password_only = await opened["SECURE"]
    with_cert = await opened["NOPASS"]
    try:
        assert await tls_gateway.recheck() == 0  # profile 2 admits both
        await set_profile(engine, "S2", 3)
        assert await tls_gateway.recheck() == 1
        await asyncio.wait_for(password_only.wait_closed(), 5)
        assert password_only.close_code == 1008
        assert password_only.close_reason == (
            "charger 'SECURE' must present a client certificate (security profile 3)"
        )
        await with_cert.send('[2, "1", "Heartbeat", {}]')
        assert str(await with_cert.recv()).startswith('[3,"1",{"currentTime"')
    finally:
        await password_only.close()
        await with_cert.close()
