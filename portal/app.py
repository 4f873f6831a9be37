"""Install the portal on the config API's app: its routes at /, its static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from portal import (  # noqa: F401 - their routes are on ROUTER
    card_pages,
    invite_pages,
    owner_pages,
    pages,
    payment_pages,
)
from portal.web import HERE, ROUTER, STATIC_PATH, Portal
from services import portal_auth


def install(app: FastAPI, *, public_url: str | None = None, failure_delay: float = 1.0) -> None:
    """Serve the portal from ``app`` (the config API's: same engine, same gateway registry).

    ``public_url``: where people reach it (EVGATE_PUBLIC_URL: sign-in links, Secure cookies);
    ``failure_delay``: seconds a wrong password waits before its answer."""
    app.state.portal = Portal(portal_auth.SignIn(failure_delay=failure_delay), public_url)
    app.include_router(ROUTER)
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="portal-static")
