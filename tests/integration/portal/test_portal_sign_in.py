"""Sign-in for site users: e-mail and password, a delay and no hint on failure, CSRF on every
form, a session cookie that is HttpOnly and SameSite=Lax, sign-out."""

from __future__ import annotations

import time

from sqlalchemy import select

from store.portal_schema import portal_sessions, portal_users
from store.schema import audit_log
from tests.integration.portal.conftest import DELAY, PASSWORD, Portal


async def test_sign_in_sets_a_session_cookie_and_sign_out_ends_it(portal: Portal) -> None:
    r = await portal.sign_in("admin")
    cookie = r.headers["set-cookie"]
    assert "evgate_portal=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the TLS test below
    assert r.headers["location"] == "/"
    home = await portal.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/sites/S1"
    dash = await portal.client.get("/sites/S1")
    assert dash.status_code == 200 and "Sign out" in dash.text
    async with portal.env.engine.connect() as conn:
        rows = (await conn.execute(select(portal_sessions))).mappings().all()
        audited = (await conn.execute(select(audit_log.c.action, audit_log.c.actor))).all()
    assert len(rows) == 1 and len(rows[0]["token_hash"]) == 64
    assert ("portal.sign_in", "portal:2 (s1@example.no)") in audited
    r = await portal.post("/sign-out", {}, from_page="/sites/S1")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    async with portal.env.engine.connect() as conn:
        assert (await conn.execute(select(portal_sessions))).first() is None
    again = await portal.client.get("/sites/S1")
    assert again.status_code == 303 and again.headers["location"] == "/sign-in"


async def test_a_wrong_password_and_an_unknown_email_look_alike_and_are_delayed(
    portal: Portal,
) -> None:
    pages = []
    for email in ("s1@example.no", "nobody@example.no"):
        start = time.monotonic()
        r = await portal.post(
            "/sign-in", {"email": email, "password": "wrong password!"}, from_page="/sign-in"
        )
        assert time.monotonic() - start >= DELAY
        assert r.status_code == 401 and "E-mail or password is wrong." in r.text
        assert "evgate_portal=" not in r.headers.get("set-cookie", "")
        pages.append(r.text.replace(email, "EMAIL"))
    assert pages[0] == pages[1]  # no user enumeration


async def test_repeated_failures_are_throttled_like_a_chargers(portal: Portal) -> None:
    for _ in range(5):  # the throttle's free failures
        r = await portal.post(
            "/sign-in", {"email": "s1@example.no", "password": "x" * 12}, from_page="/sign-in"
        )
        assert r.status_code == 401
    r = await portal.post(
        "/sign-in", {"email": "s1@example.no", "password": "x" * 12}, from_page="/sign-in"
    )
    assert r.status_code == 401  # the 6th failure locks the key out
    r = await portal.post(
        "/sign-in", {"email": "s1@example.no", "password": PASSWORD}, from_page="/sign-in"
    )
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in r.text


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(portal: Portal) -> None:
    await portal.client.get("/sign-in")  # the CSRF cookie is set
    r = await portal.client.post("/sign-in", data={"email": "s1@example.no", "password": PASSWORD})
    assert r.status_code == 403 and "did not come from this site" in r.text
    r = await portal.client.post(
        "/sign-in", data={"email": "s1@example.no", "password": PASSWORD, "csrf": "forged"}
    )
    assert r.status_code == 403
    await portal.sign_in("super")
    r = await portal.client.post(
        "/chargers/CP2/monthly-payment", data={"enabled": "1", "confirm": "yes"}
    )
    assert r.status_code == 403 and "<html" in r.text


async def test_passwords_are_stored_as_the_gateways_scrypt_hash(portal: Portal) -> None:
    async with portal.env.engine.connect() as conn:
        hashes = (await conn.execute(select(portal_users.c.password_hash))).scalars().all()
    assert hashes and all(h.startswith("scrypt$1024$8$1$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


async def test_cookies_are_secure_behind_an_https_public_url(portal: Portal) -> None:
    import httpx

    from tests.integration.portal.conftest import portal_app

    app = portal_app(portal.env, public_url="https://portal.example.no")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://evgate.test"
    ) as client:
        page = await client.get("/sign-in")
        assert "Secure" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]


async def test_the_served_app_carries_the_portal_beside_the_api(portal: Portal) -> None:
    """config.compose.api_app (what `evgate serve` runs) installs the portal at /."""
    import httpx

    from config import compose
    from config.settings import Settings

    app = compose.api_app(Settings(public_url="https://portal.example.no"), portal.env.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://evgate.test"
    ) as client:
        page = await client.get("/sign-in")
        css = await client.get("/static/portal/portal.css")
        api = await client.get("/api/v1/sites")
    assert page.status_code == 200 and "<form" in page.text
    assert css.status_code == 200 and "system-ui" in css.text
    assert api.status_code == 401  # the API is still behind its token
    assert not any(p.startswith(("/sign-in", "/my")) for p in app.openapi()["paths"])
