"""The admission rules of OCPP security profiles 1-3 and the certificate-name rule."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.security_profiles import certificate_names, decide, peer_of


def cert(cn: str | None = None, *dns: str) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": ((("organizationName", "Acme"),),)}
    if cn is not None:
        out["subject"] += ((("commonName", cn),),)
    if dns:
        out["subjectAltName"] = tuple(("DNS", d) for d in dns)
    return out


def test_names_are_the_cns_and_the_dns_alt_names() -> None:
    c = cert("CP1", "cp1.example", "CP1-alt")
    c["subjectAltName"] += (("IP Address", "10.0.0.1"),)
    assert certificate_names(c) == ["CP1", "cp1.example", "CP1-alt"]


@pytest.mark.parametrize("profile", [1, 2, 3])
def test_a_certificate_naming_the_charger_needs_no_password(profile: int) -> None:
    for c in (cert("CP1"), cert("other", "CP1")):
        got = decide(c, "CP1", profile, True)
        assert got.allowed and not got.password_needed


@pytest.mark.parametrize("profile", [1, 2, 3])
def test_a_certificate_naming_another_charger_is_refused(profile: int) -> None:
    got = decide(cert("CP2", "cp2.example"), "CP1", profile, True)
    assert not got.allowed
    assert got.reason == "client certificate is for 'CP2', 'cp2.example', not charger 'CP1'"


def test_the_cn_must_match_exactly() -> None:
    assert not decide(cert("cp1"), "CP1", 3, True).allowed
    assert not decide(cert("CP1 "), "CP1", 3, True).allowed
    assert not decide(cert(None), "CP1", 3, True).allowed


@pytest.mark.parametrize("no_cert", [None, {}])
def test_without_a_certificate(no_cert: dict[str, Any] | None) -> None:
    for profile in (1, 2):
        got = decide(no_cert, "CP1", profile, True)
        assert got.allowed and got.password_needed
    got = decide(no_cert, "CP1", 3, True)
    assert not got.allowed and "client certificate" in got.reason


def test_plain_ws() -> None:
    got = decide(None, "CP1", 1, False)
    assert got.allowed and got.password_needed
    for profile in (2, 3):
        got = decide(None, "CP1", profile, False)
        assert not got.allowed
        assert got.reason == f"charger 'CP1' must connect with wss:// (security profile {profile})"


class _Transport:
    def __init__(self, ssl_object: Any) -> None:
        self.ssl_object = ssl_object

    def get_extra_info(self, name: str) -> Any:
        return self.ssl_object if name == "ssl_object" else None


class _SslObject:
    def __init__(self, peer: dict[str, Any] | None) -> None:
        self.peer = peer

    def getpeercert(self) -> dict[str, Any] | None:
        return self.peer


def test_peer_of_a_transport() -> None:
    assert peer_of(None) == (False, None)
    assert peer_of(_Transport(None)) == (False, None)
    assert peer_of(_Transport(_SslObject(None))) == (True, None)
    assert peer_of(_Transport(_SslObject({}))) == (True, None)
    assert peer_of(_Transport(_SslObject(cert("CP1")))) == (True, cert("CP1"))
