"""The charger's side of 2.0.1 certificate renewal (A02/A03): a new key and a CSR, and the
check of the chain the CSMS signed. Pure: the charger writes the files and sends the calls.

The key is EC P-256 (small, quick to make: the CSR fits SignCertificate's 5500 characters).
A chain is taken only when its first certificate is for the key the charger made for it and
is valid now; anything else is Rejected, as real firmware does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class Request:
    """One renewal under way: the new key (PEM, PKCS#8) and the CSR sent for it."""

    key_pem: bytes
    csr_pem: str


def new_request(common_name: str, organization: str | None = None) -> Request:
    """A fresh key and a CSR for it with CN = the charger's id (and O, when given)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(names))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Request(key_pem, csr.public_bytes(serialization.Encoding.PEM).decode())


def chain_problem(chain_pem: str, key_pem: bytes, now: datetime) -> str | None:
    """Why the chain cannot be used with the key (None: it can): not PEM, a leaf for another
    key, or a leaf not valid at `now`."""
    try:
        chain = x509.load_pem_x509_certificates(chain_pem.encode())
    except ValueError:
        return "not a PEM certificate chain"
    leaf = chain[0]
    key = serialization.load_pem_private_key(key_pem, password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if leaf.public_key().public_bytes(der, public) != key.public_key().public_bytes(der, public):
        return "the certificate is not for the key of the last CSR"
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        return "the certificate is not valid now"
    return None
