"""OCPP 2.0.1 certificate renewal over real TLS on loopback: a charger on security profile 3
sends a CSR (SignCertificate), gets Accepted and then its new chain (CertificateSigned), and
connects again with the new certificate; a CSR evgate will not sign is Rejected, saying why."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from gateway.csr_signing import CsrSigner
from gateway.server import Gateway, GatewayOptions
from simulators.charger201 import SimCharger201
from simulators.rpc import TlsFiles
from store.schema import charger_reports, sites
from tests.integration.conftest import seed
from tests.support.certs import Pki, make_pki
from tests.support.ocpp201_client import SUBPROTOCOL, Charger201
from tests.unit.gateway.test_csr_signing import csr_for


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def tls_gateway(engine: AsyncEngine, pki: Pki, signer: CsrSigner | None) -> Gateway:
    await seed(engine)  # S2 holds SECURE
    async with engine.begin() as conn:
        await conn.execute(update(sites).where(sites.c.id == "S2").values(security_profile=3))
    options = GatewayOptions(
        port=0, tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca.cert_file
    )
    gateway = Gateway(engine, options, signer=signer)
    await gateway.start()
    return gateway


@pytest.fixture
async def signing(engine: AsyncEngine, pki: Pki) -> AsyncIterator[Gateway]:
    gateway = await tls_gateway(engine, pki, CsrSigner(pki.ca.cert, pki.ca.key, days=30))
    yield gateway
    await gateway.close()


async def charger(gateway: Gateway, context: ssl.SSLContext) -> Charger201:
    ws = await connect(
        f"wss://127.0.0.1:{gateway.port}/ocpp/SECURE",
        ssl=context,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        open_timeout=5,
    )
    cp = Charger201(ws)
    cp.answers["CertificateSigned"] = {"status": "Accepted"}
    return cp


async def received(cp: Charger201, action: str) -> dict:
    for _ in range(100):
        for name, payload in cp.received_calls:
            if name == action:
                return payload
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {action} arrived: {cp.received_calls}")


async def reports(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(charger_reports.c.payload)
            .where(charger_reports.c.kind == "SignCertificate")
            .order_by(charger_reports.c.id)
        )
        return [r[0] for r in rows]


async def test_a_charger_renews_its_certificate_and_connects_with_the_new_one(
    engine: AsyncEngine, signing: Gateway, pki: Pki
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cp = await charger(signing, pki.client("SECURE"))
    try:
        await cp.boot()
        answer = await cp.call("SignCertificate", {"csr": csr_for("SECURE", key)})
        assert answer == {"status": "Accepted"}
        signed = await received(cp, "CertificateSigned")
    finally:
        await cp.close()
    assert signed["certificateType"] == "ChargingStationCertificate"
    new, ca = x509.load_pem_x509_certificates(signed["certificateChain"].encode())
    assert ca == pki.ca.cert and new.public_key() == key.public_key()
    [report] = await reports(engine)
    assert report["status"] == "Accepted" and report["serial"] == f"{new.serial_number:x}"

    chain = pki.where / "renewed.pem"
    chain.write_text(signed["certificateChain"])
    key_file = pki.where / "renewed.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    again = await charger(signing, pki.context(str(chain), str(key_file)))
    try:
        assert "currentTime" in await again.call("Heartbeat", {})
    finally:
        await again.close()


async def test_a_csr_for_another_name_is_rejected_with_the_reason(
    engine: AsyncEngine, signing: Gateway, pki: Pki
) -> None:
    cp = await charger(signing, pki.client("SECURE"))
    try:
        await cp.boot()
        answer = await cp.call("SignCertificate", {"csr": csr_for("NOPASS")})
        v2g = await cp.call(
            "SignCertificate", {"csr": csr_for("SECURE"), "certificateType": "V2GCertificate"}
        )
        await asyncio.sleep(0.2)
    finally:
        await cp.close()
    assert answer == {
        "status": "Rejected",
        "statusInfo": {
            "reasonCode": "InvalidCSR",
            "additionalInfo": "the csr names 'NOPASS', not charger 'SECURE'",
        },
    }
    assert v2g["status"] == "Rejected" and "V2GCertificate" in v2g["statusInfo"]["additionalInfo"]
    assert all(name != "CertificateSigned" for name, _ in cp.received_calls)
    assert [r["status"] for r in await reports(engine)] == ["Rejected", "Rejected"]


async def test_without_a_ca_key_renewal_is_not_enabled(engine: AsyncEngine, pki: Pki) -> None:
    gateway = await tls_gateway(engine, pki, None)
    try:
        cp = await charger(gateway, pki.client("SECURE"))
        try:
            await cp.boot()
            answer = await cp.call("SignCertificate", {"csr": csr_for("SECURE")})
        finally:
            await cp.close()
    finally:
        await gateway.close()
    assert answer["status"] == "Rejected"
    assert answer["statusInfo"]["reasonCode"] == "NotEnabled"
    assert "--csms-ca-key" in answer["statusInfo"]["additionalInfo"]


async def test_the_simulator_renews_through_evgate_and_reconnects_on_profile_3(
    engine: AsyncEngine, signing: Gateway, pki: Pki
) -> None:
    """The two halves together: evgate asks (TriggerMessage), the simulator sends its CSR,
    evgate signs, the simulator keeps the chain and presents it at its next connect."""
    first = pki.ca.issue(pki.where, "SECURE")
    tls = TlsFiles(ca=pki.ca.cert_file, cert=first.cert, key=first.key)
    sim = SimCharger201(
        f"wss://127.0.0.1:{signing.port}/ocpp", "SECURE", tls=tls, backoff=(0.05, 0.2)
    )
    sim.cert_dir = pki.where / "sim-renewed"
    sim.cert_dir.mkdir()
    await sim.start()
    try:
        asked = await signing.registry.call(
            "SECURE", "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}
        )
        assert asked == {"status": "Accepted"}
        for _ in range(100):
            if sim.tls is not None and sim.tls.cert != first.cert:
                break
            await asyncio.sleep(0.05)
        assert sim.certificate_answers == ["Accepted"]
        assert sim.tls is not None and sim.tls.cert == str(sim.cert_dir / "charger.pem")
        new, ca = x509.load_pem_x509_certificates(Path(sim.tls.cert).read_bytes())
        assert ca == pki.ca.cert
        [report] = await reports(engine)
        assert report["status"] == "Accepted" and report["serial"] == f"{new.serial_number:x}"
        Path(first.cert).unlink()  # the old certificate is gone: only the new one can serve
        Path(first.key).unlink()
        await sim.disconnect()
        await sim.wait_ready()  # profile 3 admits the new certificate
        assert "currentTime" in (await sim._call_now("Heartbeat", {}) or {})
    finally:
        await sim.stop()
