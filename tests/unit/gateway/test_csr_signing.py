"""gateway.csr_signing: what evgate signs for a charger renewing its certificate, and what
it refuses (a CSR that does not parse, a forged signature, a weak key, another name)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.csr_signing import CsrRejected, CsrSigner
from tests.support.certs import Authority, authority


def csr_for(cn: str | None, key: object | None = None) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nordic CPO"))
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    signed = request.sign(key, hashes.SHA256())  # type: ignore[arg-type]
    return signed.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return authority(tmp_path)


@pytest.fixture
def signer(ca: Authority) -> CsrSigner:
    return CsrSigner.load(ca.cert_file, ca.key_file, days=30)


def chain_of(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def test_a_good_csr_gets_a_client_certificate_from_the_ca(ca: Authority, signer: CsrSigner) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    signed = signer.sign("CP-7", csr_for("CP-7", key))
    cert, issuer = chain_of(signed.chain)
    assert issuer == ca.cert
    cert.verify_directly_issued_by(ca.cert)
    assert cert.public_key() == key.public_key()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-7"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Nordic CPO"
    assert cert.serial_number == signed.serial
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_a_certificate_never_outlives_its_ca(ca: Authority) -> None:
    now = datetime.now(UTC)
    long = CsrSigner(ca.cert, ca.key, days=365).sign("CP-7", csr_for("CP-7"), now)
    assert long.not_after == ca.cert.not_valid_after_utc  # the test CA lives a day
    short = CsrSigner(ca.cert, ca.key, days=1).sign(
        "CP-7", csr_for("CP-7"), now - timedelta(hours=2)
    )
    assert short.not_after == now - timedelta(hours=2) + timedelta(days=1)
    [cert, _] = chain_of(short.chain)
    assert cert.not_valid_after_utc == short.not_after.replace(microsecond=0)
    with pytest.raises(CsrRejected, match="CA certificate has expired"):
        CsrSigner(ca.cert, ca.key).sign("CP-7", csr_for("CP-7"), now + timedelta(days=2))


def test_rsa_keys_of_2048_bits_are_signed_and_1024_refused(signer: CsrSigner) -> None:
    good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    [cert, _] = chain_of(signer.sign("CP-7", csr_for("CP-7", good)).chain)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CsrRejected, match="RSA key of 1024 bits is too weak"):
        signer.sign("CP-7", csr_for("CP-7", weak))


def test_a_small_curve_is_refused(signer: CsrSigner) -> None:
    with pytest.raises(CsrRejected, match="elliptic curve of 224 bits is too weak"):
        signer.sign("CP-7", csr_for("CP-7", ec.generate_private_key(ec.SECP224R1())))


def test_a_csr_must_name_the_charger_itself(signer: CsrSigner) -> None:
    with pytest.raises(CsrRejected, match="the csr names 'CP-8', not charger 'CP-7'"):
        signer.sign("CP-7", csr_for("CP-8"))
    with pytest.raises(CsrRejected, match="no common name"):
        signer.sign("CP-7", csr_for(None))


def test_a_forged_signature_is_refused(signer: CsrSigner) -> None:
    der = bytearray(
        x509.load_pem_x509_csr(csr_for("CP-7").encode()).public_bytes(serialization.Encoding.DER)
    )
    # the subject's O value sits inside the signed part: change one letter of it
    at = bytes(der).index(b"Nordic CPO")
    der[at] = ord("M")
    forged = base64.b64encode(bytes(der)).decode()
    pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + forged + "\n-----END CERTIFICATE REQUEST-----"
    with pytest.raises(CsrRejected, match="signature does not verify"):
        signer.sign("CP-7", pem)


def test_bare_base64_der_is_read_and_garbage_refused(signer: CsrSigner) -> None:
    pem = csr_for("CP-7")
    der = x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER)
    assert signer.sign("CP-7", base64.b64encode(der).decode()).chain.count("BEGIN CERT") == 2
    cut = pem[:100] + "\n-----END CERTIFICATE REQUEST-----\n"
    for garbage in ("hello", "", cut):
        with pytest.raises(CsrRejected, match="not a PEM certificate signing request"):
            signer.sign("CP-7", garbage)


def test_a_ca_key_of_another_certificate_or_an_unreadable_file_is_refused(
    tmp_path: Path, ca: Authority
) -> None:
    other = authority(tmp_path, "other-ca")
    with pytest.raises(ValueError, match="does not belong to the CA certificate"):
        CsrSigner.load(ca.cert_file, other.key_file)
    with pytest.raises(ValueError, match="cannot be read"):
        CsrSigner.load(str(tmp_path / "missing.pem"), ca.key_file)
    with pytest.raises(ValueError, match="CA key .* cannot be read"):
        CsrSigner.load(ca.cert_file, ca.cert_file)
    with pytest.raises(ValueError, match="at least one day"):
        CsrSigner(ca.cert, ca.key, days=0)
