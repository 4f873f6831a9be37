"""Sign a charger's certificate signing request with the CA key the operator configures, so an
OCPP 2.0.1 charger renews its client certificate itself (SignCertificate, then
CertificateSigned) and keeps passing security profile 3.

Pure apart from reading the CA files at start: a CSR in, the new certificate's PEM chain
out. What is refused, and why: a CSR that does not parse or whose signature does not verify
(it was not made with the key it carries), a weak key (RSA under 2048 bits, an elliptic
curve under 256: the whitepaper's minimum), and a subject CN that is not the charger's own
identity (the name rule of gateway.security_profiles, which the new certificate must pass).
The certificate lives ``days`` but never past the CA's own expiry.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
_PEM = re.compile(r"-----BEGIN (NEW )?CERTIFICATE REQUEST-----")


class CsrRejected(ValueError):
    """This CSR gets no certificate; the reason goes to the log and the charger."""


@dataclass(frozen=True)
class Signed:
    chain: str  # PEM: the new certificate, then the CA's
    serial: int
    not_after: datetime


def _load_csr(text: str) -> x509.CertificateSigningRequest:
    body = text.strip()
    if not _PEM.search(body):  # bare base64 DER, as some firmware sends it
        try:
            return x509.load_der_x509_csr(base64.b64decode(body, validate=False))
        except ValueError:
            raise CsrRejected("the csr is not a PEM certificate signing request") from None
    try:
        return x509.load_pem_x509_csr(body.encode())
    except ValueError:
        raise CsrRejected("the csr is not a PEM certificate signing request") from None


def _check_key(csr: x509.CertificateSigningRequest) -> None:
    try:
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CsrRejected("the csr's public key is of a kind evgate does not sign") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrRejected(f"an RSA key of {key.key_size} bits is too weak (at least 2048)")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            raise CsrRejected(
                f"an elliptic curve of {key.curve.key_size} bits is too weak (at least 256)"
            )
    else:
        raise CsrRejected("the csr's public key is neither RSA nor an elliptic curve")


def _common_names(csr: x509.CertificateSigningRequest) -> list[str]:
    return [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


class CsrSigner:
    """The operator's CA (certificate and private key) and how long what it signs lives."""

    def __init__(self, ca_cert: x509.Certificate, ca_key: object, days: int = 365) -> None:
        if not isinstance(
            ca_key,
            rsa.RSAPrivateKey
            | ec.EllipticCurvePrivateKey
            | ed25519.Ed25519PrivateKey
            | ed448.Ed448PrivateKey,
        ):
            raise ValueError("the CA key is not an RSA, elliptic-curve or EdDSA private key")
        ca_public = ca_cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        own_public = ca_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if ca_public != own_public:
            raise ValueError("the CA key does not belong to the CA certificate")
        if days < 1:
            raise ValueError("a signed certificate must live at least one day")
        self.ca_cert, self.ca_key, self.days = ca_cert, ca_key, days
        self._ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()

    @classmethod
    def load(cls, cert_file: str, key_file: str, days: int = 365) -> CsrSigner:
        """From PEM files (the key unencrypted); ValueError with a readable reason."""
        try:
            cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"CA certificate {cert_file!r} cannot be read: {exc}") from None
        try:
            key = serialization.load_pem_private_key(Path(key_file).read_bytes(), None)
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"CA key {key_file!r} cannot be read: {exc}") from None
        return cls(cert, key, days)

    def sign(self, charger_id: str, csr_text: str, now: datetime | None = None) -> Signed:
        """The certificate for ``charger_id`` from its CSR, or CsrRejected saying why."""
        csr = _load_csr(csr_text)
        if not csr.is_signature_valid:
            raise CsrRejected("the csr's signature does not verify with the key it carries")
        _check_key(csr)
        names = _common_names(csr)
        if names != [charger_id]:
            shown = ", ".join(repr(n) for n in names) or "no common name"
            raise CsrRejected(f"the csr names {shown}, not charger {charger_id!r}")
        now = now or datetime.now(UTC)
        ca_expiry = self.ca_cert.not_valid_after_utc
        if ca_expiry <= now:
            raise CsrRejected("evgate's CA certificate has expired")
        not_after = min(now + timedelta(days=self.days), ca_expiry)
        public = csr.public_key()
        usage_kwargs = {
            "digital_signature": True,
            "content_commitment": False,
            "key_encipherment": isinstance(public, rsa.RSAPublicKey),
            "data_encipherment": False,
            "key_agreement": isinstance(public, ec.EllipticCurvePublicKey),
            "key_cert_sign": False,
            "crl_sign": False,
            "encipher_only": False,
            "decipher_only": False,
        }
        serial = x509.random_serial_number()
        cert = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(public)
            .serial_number(serial)
            .not_valid_before(now - timedelta(minutes=5))  # a charger clock a little behind
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(**usage_kwargs), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca_cert.public_key()  # type: ignore[arg-type]
                ),
                False,
            )
        )
        algorithm = (
            None
            if isinstance(self.ca_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
            else hashes.SHA256()
        )
        signed = cert.sign(self.ca_key, algorithm)
        pem = signed.public_bytes(serialization.Encoding.PEM).decode()
        return Signed(pem + self._ca_pem, serial, not_after)
