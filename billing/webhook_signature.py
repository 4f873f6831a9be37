"""Stripe webhook signatures (pure): ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]``.

v1 is HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret; a signature older (or
newer) than the tolerance is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_S = 300


class SignatureError(ValueError):
    """The request is not signed by Stripe with our endpoint secret (or is too old)."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    payload: bytes,
    header: str | None,
    secret: str,
    tolerance: int = TOLERANCE_S,
    now: float | None = None,
) -> None:
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("bad timestamp in Stripe-Signature") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("Stripe-Signature needs t= and v1=")
    expected = sign(payload, secret, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match the endpoint secret")
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        raise SignatureError("signature timestamp outside the tolerance")
