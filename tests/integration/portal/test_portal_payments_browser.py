"""The payment pages and the card registration in headless Chromium (as test_portal_browser):
an OCR Giro file built by netsgiro uploaded through the file field and summed up, an
unmatched payment assigned to an invoice, the reports; a subscriber registering a card on my
page through localstripe's stand-in for Stripe.js (its card field, its confirmCardSetup),
back on my page with the card. Desktop and phone PNGs of each page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from services import portal_auth
from services.billing import set_seller
from services.context import CLI
from store import billing_store as bs
from tests.integration.conftest import Env
from tests.integration.portal.conftest import add_users, seed_billing
from tests.integration.portal.test_portal_browser import Served, _browser_or_skip, serve
from tests.integration.portal.test_portal_card import stripe_settings
from tests.integration.test_billing_stripe import localstripe
from tests.support.ocr_files import ocr_file

__all__ = ["localstripe"]
pytestmark = pytest.mark.stripe


@pytest.fixture
async def served(env: Env, tmp_path: Path, localstripe: str) -> AsyncIterator[Served]:
    """One browser for the test; the portal with Stripe (localstripe) on a free port."""
    _browser_or_skip()
    await add_users(env)
    seeded = await seed_billing(env)
    async with env.engine.begin() as conn:
        await set_seller(conn, "S1", {"account": "86011117947"}, actor="t")

    def with_stripe(app: FastAPI) -> None:
        app.state.billing_stripe = stripe_settings(localstripe)

    async with serve(env, tmp_path, seeded, with_stripe) as served:
        yield served


async def test_payments_upload_unmatched_and_reports(served: Served, tmp_path: Path) -> None:
    async with served.env.engine.connect() as conn:
        inv = await bs.get_invoice(conn, served.seeded["invoice"])
    assert inv is not None
    ocr = tmp_path / "OCR.20261125.txt"
    ocr.write_bytes(ocr_file([(str(inv["kid"]), 1125), ("9999999999995", 2000)]))
    page = await served.page()
    await served.sign_in(page, "super")
    await page.wait_for_url(f"{served.base}/sites")
    await page.goto(f"{served.base}/sites/S1")
    await page.click("nav >> text=Payments")
    await page.wait_for_url(f"{served.base}/sites/S1/payments")
    await page.set_input_files("input[type=file]", str(ocr))
    await page.click("button >> text=Import")
    await page.wait_for_selector("[data-testid=ocr-summary]")
    matched = await page.get_by_test_id("ocr-matched").inner_text()
    assert matched.split("\t") == ["Matched", "1", "NOK11.25"]
    assert (await page.get_by_test_id("ocr-unmatched").inner_text()).split("\t")[1:] == [
        "1",
        "NOK20.00",
    ]
    await served.shoot(page, "payments-import")
    # the same file again: nothing new
    await page.set_input_files("input[type=file]", str(ocr))
    await page.click("button >> text=Import")
    await page.wait_for_selector("text=nothing new was recorded")
    await page.click(".tabs >> text=Unmatched payments")
    await page.wait_for_selector("text=No invoice has this KID")
    await served.shoot(page, "payments-unmatched")
    await page.fill("input[name=invoice_number]", served.seeded["invoice"])
    await page.click("button >> text=Assign")
    await page.wait_for_selector(f"text=Paid invoice {served.seeded['invoice']}")
    async with served.env.engine.connect() as conn:
        after = await bs.get_invoice(conn, served.seeded["invoice"])
    assert after is not None and after["state"] == "paid"  # 11.25 + 20.00 >= 31.25
    await page.click(".tabs >> text=Reports")
    table = await page.get_by_test_id("report-payments").inner_text()
    assert "2026-11\tBank giro (OCR)\t2\tNOK31.25" in table
    await served.shoot(page, "payments-reports")
    async with page.expect_download() as downloading:
        await page.click("[data-testid=report-payments] >> text=CSV")
    data = Path(await (await downloading.value).path()).read_text()
    assert data.splitlines()[1] == "2026-11,ocr_giro,NOK,2,31.25"
    await page.click("nav >> text=Invoices")
    await page.click(f"table >> text={served.seeded['invoice']}")
    await page.wait_for_selector("[data-testid=invoice-state] >> text=Paid")
    await served.shoot(page, "invoice")


async def test_a_subscriber_registers_a_card_in_stripes_field(served: Served) -> None:
    async with served.env.engine.begin() as conn:
        sub = await bs.get_subscriber(conn, served.seeded["subscriber"])
        assert sub is not None
        url = await portal_auth.issue_sign_in_link(conn, CLI, sub, served.base)
    page = await served.page()
    await page.goto(url)
    await page.click("button >> text=Fortsett til min side")
    await page.wait_for_url(f"{served.base}/my")
    assert await page.get_by_test_id("pay-account").inner_text() == "8601.11.17947"
    await page.click("button >> text=Registrer kort")
    # localstripe's Stripe.js draws its own card field (real Stripe: an iframe of Stripe's)
    field = page.locator("#card-element")
    await field.locator("input[placeholder=number]").fill("4242424242424242")
    await field.locator("input[placeholder=exp_month]").fill("12")
    await field.locator("input[placeholder=exp_year]").fill("30")
    await field.locator("input[placeholder=cvc]").fill("123")
    await field.locator("input[placeholder=postal_code]").fill("0150")
    await served.shoot(page, "card")
    await page.click("button >> text=Lagre kort")
    await page.wait_for_url(f"{served.base}/my?card=saved")
    assert (
        await page.get_by_test_id("card").inner_text()
        == "Visa-kort som slutter på 4242, utløper 12/30"
    )
    await page.locator("#payment-method").scroll_into_view_if_needed()
    await served.shoot(page, "my-page-card")
    async with served.env.engine.connect() as conn:
        assert (await bs.get_subscriber(conn, int(sub["id"])))["payment_method"] == "stripe"
