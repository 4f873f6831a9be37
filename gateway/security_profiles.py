"""OCPP security profiles: who may open a socket over which transport, and whether a
Basic Auth password is still needed.

Profile 1: Basic Auth (ws:// or wss://). Profile 2: TLS + Basic Auth. Profile 3: TLS +
a client certificate. A certificate that a charger presents must name the charger
(its subject CN or a subjectAltName DNS entry equals the identity in the URL), as the
OCPP 2.0.1 security whitepaper asks; such a charger needs no password.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

PROFILES = (1, 2, 3)
DEFAULT_PROFILE = 1


@dataclass(frozen=True)
class Admission:
    allowed: bool
    reason: str = ""
    password_needed: bool = True


def certificate_names(cert: dict[str, Any]) -> list[str]:
    """The subject CNs and subjectAltName DNS entries of a getpeercert() dict."""
    names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    names += [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"]
    return names


def decide(
    peer_cert: dict[str, Any] | None, charger_id: str, profile: int, is_tls: bool
) -> Admission:
    """Pure: the verified peer certificate (None or {} when none), the charger id in the
    URL, its site's security profile and whether the socket is TLS -> the admission."""
    if profile >= 2 and not is_tls:
        return Admission(
            False, f"charger {charger_id!r} must connect with wss:// (security profile {profile})"
        )
    if peer_cert:
        names = certificate_names(peer_cert)
        if charger_id not in names:
            shown = ", ".join(repr(n) for n in names) or "no name"
            return Admission(
                False, f"client certificate is for {shown}, not charger {charger_id!r}"
            )
        return Admission(True, password_needed=False)
    if profile >= 3:
        return Admission(
            False,
            f"charger {charger_id!r} must present a client certificate (security profile 3)",
        )
    return Admission(True)


def peer_of(transport: Any) -> tuple[bool, dict[str, Any] | None]:
    """(is TLS, the verified peer certificate or None) of an asyncio transport."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return False, None
    return True, ssl_object.getpeercert() or None


def server_context(cert: str, key: str | None, client_ca: str | None) -> ssl.SSLContext:
    """The gateway's TLS context; with a client CA, certificates it signed are asked for
    but optional, so that profile-2 chargers without one still connect."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
