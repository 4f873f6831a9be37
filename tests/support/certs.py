"""Throwaway X.509 material for TLS tests: a CA, a server certificate for 127.0.0.1 and
localhost, and client certificates named as a charger would be (EC keys: fast to make)."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    cert: str  # PEM file
    key: str  # PEM file (unencrypted)


@dataclass(frozen=True)
class Authority:
    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: str
    key_file: str

    def issue(
        self,
        where: Path,
        cn: str,
        *,
        dns: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
        server: bool = False,
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), key)
        builder = builder.issuer_name(self.cert.subject)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), False)
        cert = builder.sign(self.key, hashes.SHA256())
        stem = f"{self.name}-{cn}".replace("/", "_")
        return Issued(_write(where / f"{stem}.pem", cert), _write_key(where / f"{stem}.key", key))


def _builder(subject: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )


def _write(path: Path, cert: x509.Certificate) -> str:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> str:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def authority(where: Path, name: str = "test-ca") -> Authority:
    """A self-signed CA, its certificate and key written under where."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _builder(subject, key)
        .issuer_name(subject)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(
        name,
        cert,
        key,
        _write(where / f"{name}.pem", cert),
        _write_key(where / f"{name}.key", key),
    )


def server_certificate(ca: Authority, where: Path) -> Issued:
    return ca.issue(where, "localhost", dns=("localhost",), ips=("127.0.0.1",), server=True)


@dataclass
class Pki:
    """A CA, a server certificate it signed, and charger-side TLS contexts."""

    ca: Authority
    server_cert: str
    server_key: str
    where: Path

    def client(self, cn: str, ca: Authority | None = None) -> ssl.SSLContext:
        """A charger's TLS context: trusts the server, presents a certificate for cn."""
        issued = (ca or self.ca).issue(self.where, cn)
        return self.context(issued.cert, issued.key)

    def context(self, cert_file: str, key_file: str) -> ssl.SSLContext:
        """A charger's TLS context presenting the given certificate (chain) and key."""
        context = ssl.create_default_context(cafile=self.ca.cert_file)
        context.load_cert_chain(cert_file, key_file)
        return context

    def no_cert(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca.cert_file)


def make_pki(where: Path) -> Pki:
    ca = authority(where)
    server = server_certificate(ca, where)
    return Pki(ca, server.cert, server.key, where)
