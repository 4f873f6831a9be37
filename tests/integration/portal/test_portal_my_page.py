"""A subscriber's own page, by a one-time sign-in link: the estimated next invoice, invoices
with their PDF, activity per month (inline SVG; the same series as GET .../activity), and
the language; a link works once, and not after it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from billing.manual import LineInput
from services import portal_auth
from services.context import CLI
from services.manual_invoices import issue_manual_invoice
from store import api_tokens
from store import billing_store as bs
from store.portal_schema import portal_sign_in_links
from store.schema import subscribers
from tests.integration.portal.conftest import Portal, seed_billing


async def link_for(portal: Portal, subscriber_id: int, **kw: Any) -> str:
    async with portal.env.engine.begin() as conn:
        sub = await bs.get_subscriber(conn, subscriber_id)
        assert sub is not None
        return await portal_auth.issue_sign_in_link(conn, CLI, sub, "http://evgate.test", **kw)


async def follow(portal: Portal, url: str) -> httpx.Response:
    path = url.removeprefix("http://evgate.test")
    landing = await portal.client.get(path)  # spends nothing
    assert landing.status_code == 200 and '<form method="post" action="/s/' in landing.text
    return await portal.post(path, {}, from_page=path)


async def test_a_subscriber_signs_in_by_link_and_sees_estimate_invoices_and_chart(
    portal: Portal,
) -> None:
    seeded = await seed_billing(portal.env)
    async with portal.env.engine.begin() as conn:  # a manual invoice beside the run's
        manual = await issue_manual_invoice(
            conn, CLI, seeded["subscriber"], [LineInput("Nøkkelbrikke", "1", "50.00", "25")]
        )
    url = await link_for(portal, seeded["subscriber"])
    assert url.startswith("http://evgate.test/s/sl_")
    landing = await portal.client.get(url)
    assert "Fortsett til min side" in landing.text  # in the subscriber's language
    r = await follow(portal, url)
    assert r.status_code == 303 and r.headers["location"] == "/my"
    assert "HttpOnly" in r.headers["set-cookie"]
    page = await portal.client.get("/my")
    assert page.status_code == 200
    text = page.text  # in the subscriber's own language (nb)
    assert 'lang="nb"' in text
    assert "Estimert neste faktura" in text and "37,50\xa0kr" in text  # 12 kWh x 2.50 + VAT
    assert "Ladinger: 1 · 12,000 kWh" in text
    assert seeded["invoice"] in text and "31,25\xa0kr" in text and "Utstedt" in text
    assert manual["number"] in text and "62,50\xa0kr" in text
    kinds = [c.split("<")[0] for c in text.split('data-testid="invoice-kind">')[1:]]
    assert sorted(kinds) == ["Manuell", "Månedlig"]  # the type of each, in nb
    # this month's sessions so far (the estimate's): when, where, kWh and price
    mine = text.split('data-testid="my-session">')[1:]
    assert len(mine) == 1, mine
    assert "Ladinger denne måneden" in text and '02.11.2026<div class="muted">09:00' in mine[0]
    assert "CP1" in mine[0] and "12,000" in mine[0] and "30,00\xa0kr" in mine[0]
    assert '<svg class="chart"' in text and text.count('class="chart-energy"') == 12
    assert "chart-amount chart-estimated" in text  # November: the estimate
    pdf = await portal.client.get(f"/my/invoices/{seeded['invoice']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # a subscriber is no site user
    r = await portal.client.get("/sites/S1")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    # the language is the subscriber's own (and its documents')
    r = await portal.post("/language", {"language": "en", "next": "/my"}, from_page="/my")
    assert r.status_code == 303 and r.headers["location"] == "/my"
    page = await portal.client.get("/my")
    assert "Estimated next invoice" in page.text and "NOK37.50" in page.text
    assert "Sessions: 1 · 12.000 kWh" in page.text and "Issued" in page.text
    async with portal.env.engine.connect() as conn:
        lang = (
            await conn.execute(
                select(subscribers.c.language).where(subscribers.c.id == seeded["subscriber"])
            )
        ).scalar_one()
    assert lang == "en"


async def test_a_link_works_once_and_not_after_it_expires(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    url = await link_for(portal, seeded["subscriber"])
    assert (await follow(portal, url)).status_code == 303
    portal.client.cookies.clear()
    again = await follow(portal, url)
    assert again.status_code == 410 and "used or has expired" in again.text
    assert (await portal.client.get("/my")).headers["location"] == "/my/sign-in"
    old = await link_for(portal, seeded["subscriber"])
    async with portal.env.engine.begin() as conn:
        await conn.execute(
            update(portal_sign_in_links)
            .where(portal_sign_in_links.c.used_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await follow(portal, old)).status_code == 410
    made_up = await follow(portal, "http://evgate.test/s/sl_not-a-link")
    assert made_up.status_code == 410


async def test_asking_for_a_link_says_the_same_for_any_address(portal: Portal) -> None:
    await seed_billing(portal.env)
    pages = []
    for email in ("TAG1@example.no", "nobody@example.no"):
        r = await portal.post("/my/sign-in", {"email": email}, from_page="/my/sign-in")
        assert r.status_code == 200 and "a sign-in link is on its way" in r.text
        pages.append(r.text)
    assert pages[0] == pages[1]
    async with portal.env.engine.connect() as conn:
        links = (await conn.execute(select(portal_sign_in_links))).mappings().all()
    assert len(links) == 1  # for the known (active) subscriber only


async def test_a_subscriber_gets_only_its_own_pdfs(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    async with portal.env.engine.connect() as conn:
        other = (
            await conn.execute(
                select(subscribers.c.id).where(subscribers.c.email == "suspended@example.no")
            )
        ).scalar_one()
    async with portal.env.engine.begin() as conn:
        await conn.execute(
            update(subscribers).where(subscribers.c.id == other).values(state="active")
        )
    await follow(portal, await link_for(portal, other))
    r = await portal.client.get(f"/my/invoices/{seeded['invoice']}/pdf")
    assert r.status_code == 404 and "of yours" in r.text


async def test_the_activity_series_over_the_api(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    async with portal.env.engine.begin() as conn:
        token = (await api_tokens.create_token(conn, "viewer", "S1", "ro"))[1]
        other = (await api_tokens.create_token(conn, "admin", "S2", "s2"))[1]
    auth = {"Authorization": f"Bearer {token}"}
    r = await portal.client.get(
        f"/api/v1/subscribers/{seeded['subscriber']}/activity", headers=auth
    )
    assert r.status_code == 200, r.text
    months = r.json()["months"]
    assert [m["period"] for m in months][-3:] == ["2026-09", "2026-10", "2026-11"]
    assert len(months) == 12 and months[0]["period"] == "2025-12"
    assert months[-2] == {
        "period": "2026-10",
        "energy_wh": 10_000,
        "amount": 3125,
        "currency": "NOK",
        "estimated": False,
    }
    assert months[-1] == {
        "period": "2026-11",
        "energy_wh": 12_000,
        "amount": 3750,
        "currency": "NOK",
        "estimated": True,
    }
    assert all(m["energy_wh"] == 0 and m["amount"] == 0 for m in months[:-2])
    site = await portal.client.get("/api/v1/sites/S1/activity", headers=auth)
    assert site.json()["months"][-2:] == [{**months[-2]}, {**months[-1]}]
    refused = await portal.client.get(
        "/api/v1/sites/S1/activity", headers={"Authorization": f"Bearer {other}"}
    )
    assert refused.status_code == 403
    missing = await portal.client.get("/api/v1/subscribers/999/activity", headers=auth)
    assert missing.status_code == 404
