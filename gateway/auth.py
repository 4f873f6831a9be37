"""Charger passwords (OCPP security profile 1): scrypt hashes, and a cache for reconnects.

Chargers reconnect often (some Wallbox units every 30-60 s); a verified password is
remembered by its SHA-256 so a reconnect costs microseconds, not a scrypt run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable

from store.errors import Invalid

# n=2^10, r=8: ~2 ms and 1 MiB per hash. Charger passwords are machine secrets of 16-40
# characters (OCPP security whitepaper), so the cost guards against leaks, not weak words.
_N, _R, _P, _LEN = 1 << 10, 8, 1, 32
MIN_LENGTH, MAX_LENGTH = 16, 40


class PasswordError(Invalid):
    """A charger password that OCPP security profile 1 does not allow."""


def check_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordError(
            f"a charger password must be {MIN_LENGTH} to {MAX_LENGTH} characters "
            "(OCPP security profile 1)"
        )
    if not password.isprintable():
        raise PasswordError("a charger password must be printable characters")


def hash_password(password: str) -> str:
    check_password(password)
    return hash_secret(password)


def hash_secret(password: str) -> str:
    """The one scrypt hash (charger passwords, and the portal's, which check their own rules)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``hash_secret`` hash (blocking scrypt: run in a thread)."""
    return _verify_slow(password, stored)


def _verify_slow(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)


class PasswordCache:
    """stored hash -> SHA-256 of the password that last matched it."""

    def __init__(self, limit: int = 100_000) -> None:
        self._seen: dict[str, bytes] = {}
        self._limit = limit

    def known(self, password: str, stored: str) -> bool:
        """True when this password matched ``stored`` before: no scrypt run needed."""
        known = self._seen.get(stored)
        quick = hashlib.sha256(password.encode()).digest()
        return known is not None and hmac.compare_digest(known, quick)

    def verify(self, password: str, stored: str) -> bool:
        """scrypt unless known; blocking for ~2 ms, so the server runs it in a thread."""
        if self.known(password, stored):
            return True
        quick = hashlib.sha256(password.encode()).digest()
        if not _verify_slow(password, stored):
            return False
        if len(self._seen) >= self._limit:
            self._seen.clear()
        self._seen[stored] = quick
        return True


class FailureThrottle:
    """Slows down guessing: after ``free`` failures for one key (a charger id, an address),
    each further failure locks the key out for twice as long as the last, up to ``cap``
    seconds. A success clears the key. While locked out, no scrypt runs for that key."""

    def __init__(
        self,
        free: int = 5,
        base: float = 1.0,
        cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        limit: int = 100_000,
    ) -> None:
        self.free, self.base, self.cap, self.clock, self.limit = free, base, cap, clock, limit
        self._keys: dict[str, tuple[int, float]] = {}  # key -> (failures, locked until)

    def retry_after(self, key: str) -> float:
        """Seconds ``key`` is still locked out (0: try)."""
        entry = self._keys.get(key)
        return max(0.0, entry[1] - self.clock()) if entry is not None else 0.0

    def failed(self, key: str) -> None:
        failures = self._keys.get(key, (0, 0.0))[0] + 1
        over = failures - self.free
        lock = min(self.cap, self.base * 2 ** (over - 1)) if over > 0 else 0.0
        if len(self._keys) >= self.limit and key not in self._keys:
            self._keys.clear()  # bounded memory under a flood of made-up ids
        self._keys[key] = (failures, self.clock() + lock)

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
