"""The portal in a real browser: headless Chromium (the system's, driven by Playwright) against
`evgate serve`'s application on a free port of 127.0.0.1, over SQLite and PostgreSQL.

Every page is photographed at desktop (1280x800) and phone (390x844) width, under
EVGATE_TEST_PNG_DIR when it is set (to look at them), else in the test's temporary folder;
at phone width no page may scroll sideways.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import insert, select

from services import portal_auth
from services import subscribers as subscriber_service
from services.context import CLI
from store import billing_store as bs
from store.schema import audit_log, chargers, connectors
from tests.integration.conftest import Env
from tests.integration.portal.conftest import (
    DELAY,
    NOW,
    PASSWORD,
    USERS,
    add_users,
    portal_app,
    seed_billing,
)
from tests.support.services import free_port, unavailable

CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Served:
    env: Env
    base: str
    browser: Any
    shots: Path
    seeded: dict[str, Any]

    async def page(self) -> Any:
        context = await self.browser.new_context(viewport=DESKTOP, accept_downloads=True)
        return await context.new_page()

    async def shoot(self, page: Any, name: str) -> None:
        """A full-page PNG at each width; at phone width nothing may stick out sideways."""
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            await page.set_viewport_size(size)
            await page.screenshot(
                path=str(self.shots / f"portal-{name}-{label}.png"), full_page=True
            )
            if label == "phone":
                wide = await page.evaluate(
                    "document.documentElement.scrollWidth - window.innerWidth"
                )
                assert wide <= 0, f"{name} scrolls sideways by {wide}px at phone width"
                framed = await page.evaluate(
                    "[...document.querySelectorAll('.table-wrap')]"
                    ".filter(e => e.scrollWidth > e.clientWidth + 1).length"
                )
                assert framed == 0, f"{name}: {framed} table(s) scroll inside their frame"
        await page.set_viewport_size(DESKTOP)

    async def sign_in(self, page: Any, role: str, password: str = PASSWORD) -> None:
        await page.goto(f"{self.base}/sign-in")
        await page.fill("input[name=email]", USERS[role][0])
        await page.fill("input[name=password]", password)
        await page.click("button[type=submit] >> text=Sign in")


def _browser_or_skip() -> None:
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", f"{CHROMIUM} is missing: scripts/ensure-chromium installs it")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as exc:
        unavailable("Playwright", str(exc))


@pytest.fixture
async def served(env: Env, tmp_path: Path) -> AsyncIterator[Served]:
    _browser_or_skip()
    await add_users(env)
    seeded = await seed_billing(env)
    async with env.engine.begin() as conn:  # what CP1's StatusNotifications would have left
        await conn.execute(
            insert(connectors),
            [
                {"charger_id": "CP1", "connector_id": n, "status": status, "updated_at": NOW}
                for n, status in ((1, "Available"), (2, "Charging"))
            ],
        )
    async with serve(env, tmp_path, seeded) as served:
        yield served


@asynccontextmanager
async def serve(
    env: Env,
    tmp_path: Path,
    seeded: dict[str, Any],
    configure: Callable[[FastAPI], None] = lambda app: None,
) -> AsyncIterator[Served]:
    """The portal app (``configure`` adds to it) on a free port, and one browser for the test."""
    from playwright.async_api import async_playwright

    port = free_port()
    app = portal_app(env, public_url=f"http://127.0.0.1:{port}")
    configure(app)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    server.capture_signals = nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the portal did not start"
        await asyncio.sleep(0.01)
    shots = Path(os.environ.get("EVGATE_TEST_PNG_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                yield Served(env, f"http://127.0.0.1:{port}", browser, shots, seeded)
            finally:
                await browser.close()
    finally:
        server.should_exit = True
        await serving


async def _monthly_payment(env: Env, charger_id: str) -> bool:
    async with env.engine.connect() as conn:
        query = select(chargers.c.monthly_payment).where(chargers.c.id == charger_id)
        return bool((await conn.execute(query)).scalar_one())


async def test_a_super_admin_switches_monthly_payment_on(served: Served) -> None:
    page = await served.page()
    await page.goto(f"{served.base}/sign-in")
    await served.shoot(page, "sign-in")
    await served.sign_in(page, "super")
    await page.wait_for_url(f"{served.base}/sites")
    await served.shoot(page, "sites")
    await page.click("text=S1")
    await page.wait_for_url(f"{served.base}/sites/S1")
    assert await page.locator(".tile-outstanding .tile-value").inner_text() == "NOK31.25"
    await served.shoot(page, "dashboard")
    await page.click("nav >> text=Chargers")
    assert "1: Available" in await page.locator("table").inner_text()
    await served.shoot(page, "chargers")
    await page.click("text=CP2")
    await page.wait_for_url(f"{served.base}/chargers/CP2")
    assert await page.get_by_test_id("mp-state").inner_text() == "Off"
    await served.shoot(page, "charger-settings")
    await page.click("button >> text=Switch on")
    question = await page.locator(".question").inner_text()
    assert question.startswith(
        "Switch to monthly payment? Only subscribers of this site will be able to charge"
    )
    assert not await _monthly_payment(served.env, "CP2")
    await served.shoot(page, "confirm-monthly-payment")
    await page.click("button >> text=Confirm")
    await page.wait_for_url(f"{served.base}/chargers/CP2?saved=1")
    assert await page.get_by_test_id("mp-state").inner_text() == "On"
    assert await _monthly_payment(served.env, "CP2")
    async with served.env.engine.connect() as conn:
        actors = (
            (
                await conn.execute(
                    select(audit_log.c.actor).where(audit_log.c.action == "charger.monthly_payment")
                )
            )
            .scalars()
            .all()
        )
    assert actors == ["portal:1 (root@example.no)"]
    await page.click("nav >> text=Invoices")
    assert served.seeded["invoice"] in await page.locator("table").inner_text()
    await served.shoot(page, "site-invoices")


async def test_a_site_admin_cannot_switch_it(served: Served) -> None:
    page = await served.page()
    await served.sign_in(page, "admin")
    await page.wait_for_url(f"{served.base}/sites/S1")
    await page.goto(f"{served.base}/chargers/CP2")
    assert await page.locator("form[action$='/monthly-payment']").count() == 0
    assert await page.locator("text=Only a super-admin may change monthly payment.").count() == 1
    # a forged form (with this page's own CSRF token) is refused by the use case
    status = await page.evaluate(
        """async () => {
            const csrf = document.querySelector('input[name=csrf]').value;
            const body = new URLSearchParams({csrf, enabled: '1', confirm: 'yes'});
            const r = await fetch('/chargers/CP2/monthly-payment', {method: 'POST', body});
            return r.status;
        }"""
    )
    assert status == 403
    assert not await _monthly_payment(served.env, "CP2")


async def test_a_wrong_password_shows_an_error_after_a_delay(served: Served) -> None:
    page = await served.page()
    start = time.monotonic()
    await served.sign_in(page, "admin", password="not the password")
    await page.wait_for_selector(".message.error")
    assert time.monotonic() - start >= DELAY
    assert await page.locator(".message.error").inner_text() == "E-mail or password is wrong."
    assert page.url == f"{served.base}/sign-in"
    await served.shoot(page, "sign-in-wrong-password")


async def test_a_post_without_csrf_is_refused(served: Served) -> None:
    page = await served.page()
    await page.goto(f"{served.base}/sign-in")
    await page.evaluate(
        """() => {
            const f = document.createElement('form');
            f.method = 'post'; f.action = '/sign-in';
            for (const [k, v] of [['email', 's1@example.no'], ['password', 'x']]) {
                const i = document.createElement('input'); i.name = k; i.value = v; f.append(i);
            }
            document.body.append(f); f.submit();
        }"""
    )
    await page.wait_for_selector("text=did not come from this site")
    assert await page.locator("h1").inner_text() == "Something went wrong"
    await served.shoot(page, "csrf-refused")


async def test_a_subscriber_follows_a_sign_in_link_once(served: Served) -> None:
    async with served.env.engine.begin() as conn:
        sub = await bs.get_subscriber(conn, served.seeded["subscriber"])
        assert sub is not None
        url = await portal_auth.issue_sign_in_link(conn, CLI, sub, served.base)
    page = await served.page()
    await page.goto(f"{served.base}/my/sign-in")
    await served.shoot(page, "my-sign-in")
    await page.goto(url)
    await served.shoot(page, "sign-in-link")
    await page.click("button >> text=Fortsett til min side")  # the subscriber's language: nb
    await page.wait_for_url(f"{served.base}/my")
    assert await page.get_by_test_id("estimate").inner_text() == "37,50\xa0kr"
    assert await page.locator("h2 >> text=Estimert neste faktura").count() == 1
    assert served.seeded["invoice"] in await page.locator("table.invoices").inner_text()
    assert await page.locator("svg.chart rect.chart-energy").count() == 12
    await served.shoot(page, "my-page")
    async with page.expect_download() as downloading:
        await page.click("table >> text=PDF >> visible=true")
    download = await downloading.value
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 1000
    await page.select_option("#language", "fr")
    await page.click("form.lang button")
    await page.wait_for_selector("h2 >> text=Prochaine facture estimée")
    await served.shoot(page, "my-page-fr")
    # the same link in another browser: spent
    other = await served.page()
    await other.goto(url)
    await other.click("button >> text=Continue to my page")
    await other.wait_for_selector("text=used or has expired")
    await served.shoot(other, "sign-in-link-used")


async def test_an_invitee_accepts_in_the_browser(served: Served) -> None:
    async with served.env.engine.begin() as conn:
        created = await subscriber_service.invite(
            conn, CLI, "S1", "ola@example.no", name="", language="nb", link_base=served.base
        )
    page = await served.page()
    await page.goto(str(created["link"]))
    assert await page.locator("h1").inner_text() == "Invitasjonen din"
    await served.shoot(page, "invite")
    await page.fill("input[name=name]", "Ola Nordmann")
    await page.click("button >> text=Godta og åpne min side")
    await page.wait_for_url(f"{served.base}/my")
    assert await page.locator("h2 >> text=Estimert neste faktura").count() == 1
    assert await page.locator("text=Ingen ladinger denne måneden ennå.").count() == 1
    await served.shoot(page, "invited-my-page")
