"""`evgate demo --portal`: after the billed month, the portal stays up for a newcomer to click.

The demo's own `evgate serve` keeps running; a super-admin is added with a fresh password,
one subscriber gets a sign-in link, both are printed, and Ctrl-C (or SIGTERM) ends it.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

ADMIN_EMAIL = "admin@demo.example.com"

Evgate = Callable[..., subprocess.CompletedProcess[str]]


def open_portal(
    evgate: Evgate, env: dict[str, str], base: str, server: subprocess.Popen[Any]
) -> None:
    """Print how to sign in, then wait until the operator stops the demo."""
    password = secrets.token_urlsafe(12)
    evgate(
        "portal",
        "add-user",
        ADMIN_EMAIL,
        "--role",
        "super-admin",
        "--password-stdin",
        env=env,
        input=password + "\n",
    )
    subscriber = _a_subscriber(evgate, env)
    link = evgate("portal", "sign-in-link", str(subscriber), env=env | {"EVGATE_PUBLIC_URL": base})
    print(
        f"\nThe portal is at {base}/\n"
        f"  super-admin: {ADMIN_EMAIL}, password {password}\n"
        f"  a subscriber's page (one-time link, 30 minutes): {link.stdout.strip()}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    _wait(server)


def _a_subscriber(evgate: Evgate, env: dict[str, str]) -> int:
    """The subscriber of the first invoice: one whose page has something to show."""
    import json

    invoices = json.loads(evgate("invoices", "list", "--json", env=env).stdout or "[]")
    if not invoices:
        raise RuntimeError("the demo billed nothing: no subscriber page to show")
    return int(invoices[0]["subscriber_id"])


def _wait(server: subprocess.Popen[Any]) -> None:
    """Until Ctrl-C or SIGTERM; a server that dies on its own ends the wait too."""
    stop = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.wait()
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
    except SystemExit:
        pass
    finally:
        signal.signal(signal.SIGTERM, stop)
