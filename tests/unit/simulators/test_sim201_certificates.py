"""SimCharger201's certificate renewal over wss:// with a client certificate (security profile
3): SignCertificate with a CSR for a new key, CertificateSigned checked and kept, and the new
certificate presented at the next TLS connect. The test CA is made with `cryptography`."""

from __future__ import annotations

import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).parent))
from sim_central201 import Csms, call  # noqa: E402

from simulators.charger201 import SimCharger201  # noqa: E402
from simulators.rpc import TlsFiles  # noqa: E402

CID = "WB-CERT"
PEM = serialization.Encoding.PEM


@dataclass
class Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem_file: str

    def sign(
        self, subject: x509.Name, public: ec.EllipticCurvePublicKey, san: bool = False
    ) -> x509.Certificate:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
        )
        if san:
            ip = x509.IPAddress(IPv4Address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([ip]), critical=False)
        return builder.sign(self.key, hashes.SHA256())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_file(key: ec.EllipticCurvePrivateKey, path: Path) -> str:
    path.write_bytes(
        key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(path)


def _cert_file(cert: x509.Certificate, path: Path) -> str:
    path.write_bytes(cert.public_bytes(PEM))
    return str(path)


@pytest.fixture
def ca(tmp_path: Path) -> Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("test-ca"))
        .issuer_name(_name("test-ca"))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Ca(key, cert, _cert_file(cert, tmp_path / "ca.pem"))


@pytest.fixture
async def central(ca: Ca, tmp_path: Path) -> AsyncIterator[Csms]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.sign(_name("127.0.0.1"), key.public_key(), san=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(
        _cert_file(cert, tmp_path / "srv.pem"), _key_file(key, tmp_path / "srv.key")
    )
    server.load_verify_locations(ca.pem_file)
    server.verify_mode = ssl.CERT_REQUIRED  # profile 3: no client certificate, no socket
    cs = Csms(ssl_context=server)
    await cs.start()
    yield cs
    await cs.stop()


def _serial(peer: dict[str, object]) -> int:
    return int(str(peer["serialNumber"]), 16)


async def test_a_renewed_certificate_is_used_at_the_next_connect(
    ca: Ca, central: Csms, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first = ca.sign(_name(CID), key.public_key())
    tls = TlsFiles(
        ca=ca.pem_file,
        cert=_cert_file(first, tmp_path / "cli.pem"),
        key=_key_file(key, tmp_path / "cli.key"),
    )
    sim = SimCharger201(central.url, CID, tls=tls, backoff=(0.05, 0.2))
    sim.cert_dir = tmp_path / "renewed"
    sim.cert_dir.mkdir()
    await sim.start()
    assert _serial(central.peer_certs[-1]) == first.serial_number
    ca_pem = ca.cert.public_bytes(PEM).decode()

    unasked = await central.send(CID, call.CertificateSigned(certificate_chain=ca_pem))
    assert unasked.status == "Rejected"  # no CSR outstanding
    trig = await central.send(
        CID, call.TriggerMessage(requested_message="SignChargingStationCertificate")
    )
    assert trig.status == "Accepted"
    await central.wait_for(lambda: central.state.of("SignCertificate"))
    (sign,) = central.state.of("SignCertificate")
    assert sign["certificateType"] == "ChargingStationCertificate"
    csr = x509.load_pem_x509_csr(sign["csr"].encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CID
    public = csr.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)

    stranger = ca.sign(_name(CID), ec.generate_private_key(ec.SECP256R1()).public_key())
    wrong = await central.send(
        CID, call.CertificateSigned(certificate_chain=stranger.public_bytes(PEM).decode())
    )
    assert wrong.status == "Rejected"  # not for the key of the CSR
    assert wrong.status_info["reason_code"] == "InvalidCertificate"
    garbage = await central.send(CID, call.CertificateSigned(certificate_chain="not a cert"))
    assert garbage.status == "Rejected"
    v2g = await central.send(
        CID,
        call.CertificateSigned(certificate_chain=ca_pem, certificate_type="V2GCertificate"),
    )
    assert v2g.status == "Rejected"

    renewed = ca.sign(csr.subject, public)
    chain = renewed.public_bytes(PEM).decode() + ca_pem
    signed = await central.send(CID, call.CertificateSigned(certificate_chain=chain))
    assert signed.status == "Accepted"
    assert sim.tls is not None and sim.tls.cert == str(sim.cert_dir / "charger.pem")
    assert Path(sim.tls.cert).read_text() == chain
    assert (Path(sim.tls.key or "").stat().st_mode & 0o777) == 0o600
    again = await central.send(CID, call.CertificateSigned(certificate_chain=chain))
    assert again.status == "Rejected"  # that CSR was answered

    connected = len(central.peer_certs)
    await sim.disconnect()
    await central.wait_for(lambda: len(central.peer_certs) > connected)
    await sim.wait_ready()
    assert _serial(central.peer_certs[-1]) == renewed.serial_number  # the new one
    assert sim.device.fixed["SecurityProfile"] == "3"

    central.state.sign_status = "Rejected"
    assert await sim.renew_certificate() == "Rejected"
    await sim.stop()
    assert sim.certificate_answers == ["Accepted", "Rejected"]
    assert sim.stats.link.call_errors == 0
