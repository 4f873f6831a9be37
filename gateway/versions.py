"""Which OCPP version a connection speaks: the WebSocket subprotocol decides.

Pure, so the rule is tested without a socket: a charger offering one version gets it; one
offering both gets the version the store recorded for it at its last connection (a firmware
update may have moved it), else 2.0.1.
"""

from __future__ import annotations

from collections.abc import Sequence

OCPP16 = "ocpp1.6"
OCPP201 = "ocpp2.0.1"
SPOKEN = (OCPP201, OCPP16)  # the order of preference when nothing else decides


def offered(header_values: Sequence[str]) -> list[str]:
    """The subprotocols of every Sec-WebSocket-Protocol header, in order."""
    return [p.strip() for value in header_values for p in value.split(",") if p.strip()]


def choose(offers: Sequence[str], recorded: str | None) -> str | None:
    """The subprotocol to accept, or None when the charger offers none we speak."""
    ours = [p for p in SPOKEN if p in offers]
    if not ours:
        return None
    if len(ours) == 1:
        return ours[0]
    return recorded if recorded in ours else OCPP201
