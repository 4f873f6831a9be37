"""The site owner's pages in headless Chromium (as test_portal_browser): a site admin adds a
tariff, invites a subscriber, approves a flagged session with a reason and finds it in the
audit log; the billing page is there. Desktop and phone PNGs of each page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.conftest import Env
from tests.integration.portal.conftest import add_users
from tests.integration.portal.owner_seed import seed_owner
from tests.integration.portal.test_portal_browser import Served, _browser_or_skip, serve


@pytest.fixture
async def served(env: Env, tmp_path: Path) -> AsyncIterator[Served]:
    _browser_or_skip()
    await add_users(env)
    seeded = await seed_owner(env)
    async with serve(env, tmp_path, seeded) as served:
        yield served


async def test_a_site_admin_runs_the_site_from_the_owner_pages(served: Served) -> None:
    page = await served.page()
    await served.sign_in(page, "admin")
    await page.wait_for_url(f"{served.base}/sites/S1")
    await page.click("nav >> text=Tariffs")
    await page.fill("input[name=name]", "Weekend")
    await page.fill("input[name=energy]", "3.10")
    await page.fill("input[name=time]", "0")
    await page.fill("input[name=vat]", "25")
    await page.click("button[name=add]")
    await page.wait_for_selector("[role=status] >> text=Saved.")
    assert "Weekend" in await page.locator("main").inner_text()
    await served.shoot(page, "owner-tariffs")

    await page.click("nav >> text=Subscribers")
    await page.fill("input[name=email]", "new.driver@example.no")
    await page.click("button[name=invite]")
    await page.wait_for_selector("[role=status] >> text=new.driver@example.no")
    await served.shoot(page, "owner-subscribers")

    flagged = served.seeded["flagged"]
    await page.goto(f"{served.base}/sites/S1/sessions?month=2026-11")
    await page.fill(f"#reason-{flagged}", "meter replaced, reading checked on site")
    await page.click(f"form[action$='/sessions/{flagged}/review'] >> button[value=approve]")
    review = await page.get_by_test_id("review").inner_text()
    assert review.startswith("Approved for billing: meter replaced, reading checked on site")
    await served.shoot(page, "owner-sessions")

    await page.click("nav >> text=Billing runs")
    await page.wait_for_selector("button[value=preview]")
    await served.shoot(page, "owner-billing")

    await page.click("nav >> text=Audit")
    audit = await page.locator("main").inner_text()
    assert "session.approve" in audit and "meter replaced" in audit
    await served.shoot(page, "owner-audit")
