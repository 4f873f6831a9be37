"""Random bearer secrets (API tokens, invitation tokens) and the hash we keep of them.

The secrets are 256-bit random values, so one SHA-256 is enough to store them safely: there
is no password to guess, and a lookup by hash stays a plain indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str) -> str:
    """A fresh random token such as ``evg_Xy...`` (43 URL-safe characters after the prefix)."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
