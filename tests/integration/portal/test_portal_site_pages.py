"""A site's pages: dashboard, chargers with live state, a charger's settings (the "Monthly
payment" switch: super-admin only, business sites only, after a confirmation that says who
may charge), the tariff, invoices with their PDF."""

from __future__ import annotations

from sqlalchemy import select

from services.billing import set_seller
from store.schema import audit_log, chargers, outbox
from tests.integration.portal.conftest import Portal, seed_billing
from tests.integration.test_billing_parties import SELLER


async def _monthly_payment(portal: Portal, charger_id: str) -> bool:
    async with portal.env.engine.connect() as conn:
        return bool(
            (
                await conn.execute(
                    select(chargers.c.monthly_payment).where(chargers.c.id == charger_id)
                )
            ).scalar_one()
        )


async def test_dashboard_chargers_and_invoices(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    await portal.sign_in("admin")
    dash = await portal.client.get("/sites/S1")
    assert dash.status_code == 200
    text = dash.text
    for words in ("Online", "Offline", "Sessions running", "kWh this month", "Outstanding"):
        assert words in text
    assert "12.000" in text  # kWh this month (November so far)
    assert "NOK37.50" in text  # this month's estimate, incl. VAT
    assert "NOK31.25" in text  # October's invoice, not paid
    listing = await portal.client.get("/sites/S1/chargers")
    assert listing.status_code == 200
    assert 'href="/chargers/CP1"' in listing.text and 'href="/chargers/CP2"' in listing.text
    assert "SECURE" not in listing.text  # S2's charger
    invoices = await portal.client.get("/sites/S1/invoices")
    assert seeded["invoice"] in invoices.text and "NOK31.25" in invoices.text
    assert "Issued" in invoices.text
    pdf = await portal.client.get(f"/invoices/{seeded['invoice']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    page = await portal.client.get(f"/invoices/{seeded['invoice']}")
    assert f'href="/invoices/{seeded["invoice"]}/ubl"' in page.text
    # EHF needs the seller's legal details: without them a page says so, then the XML
    refused = await portal.client.get(f"/invoices/{seeded['invoice']}/ubl")
    assert refused.status_code == 422 and "<html" in refused.text, refused.text
    async with portal.env.engine.begin() as conn:
        await set_seller(conn, "S1", SELLER, actor="test")
    ehf = await portal.client.get(f"/invoices/{seeded['invoice']}/ubl")
    assert ehf.status_code == 200 and ehf.headers["content-type"] == "application/xml"
    assert b"urn:fdc:peppol.eu:2017:poacc:billing:01:1.0" in ehf.content
    assert b"923609016" in ehf.content  # the seller's organisation number


async def test_a_site_admin_sees_only_its_own_site(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    await portal.sign_in("other")  # admin of S2
    for path in (
        "/sites/S1",
        "/sites/S1/chargers",
        "/chargers/CP1",
        "/sites/S1/invoices",
        f"/invoices/{seeded['invoice']}/pdf",
        f"/invoices/{seeded['invoice']}/ubl",
    ):
        r = await portal.client.get(path)
        assert r.status_code == 403, path
        assert "<html" in r.text and "may only see site &#39;S2&#39;" in r.text


async def test_a_super_admin_switches_monthly_payment_after_confirming(portal: Portal) -> None:
    await seed_billing(portal.env)
    assert not await _monthly_payment(portal, "CP2")
    await portal.sign_in("super")
    page = await portal.client.get("/chargers/CP2")
    assert "Monthly payment: <strong" in page.text and "Switch on" in page.text
    ask = await portal.post(
        "/chargers/CP2/monthly-payment", {"enabled": "1"}, from_page="/chargers/CP2"
    )
    assert ask.status_code == 200
    assert (
        "Switch to monthly payment? Only subscribers of this site will be able to charge at "
        "CP2 (active subscribers: 1, their cards: 1). Any other card is refused." in ask.text
    )
    assert not await _monthly_payment(portal, "CP2")  # nothing changed yet
    done = await portal.post(
        "/chargers/CP2/monthly-payment",
        {"enabled": "1", "confirm": "yes"},
        from_page="/chargers/CP2",
    )
    assert done.status_code == 303 and done.headers["location"] == "/chargers/CP2?saved=1"
    assert await _monthly_payment(portal, "CP2")
    async with portal.env.engine.connect() as conn:
        entry = (
            (
                await conn.execute(
                    select(audit_log).where(audit_log.c.action == "charger.monthly_payment")
                )
            )
            .mappings()
            .one()
        )
        event = (
            (await conn.execute(select(outbox).where(outbox.c.kind == "charger_monthly_payment")))
            .mappings()
            .one()
        )
    assert entry["actor"] == "portal:1 (root@example.no)" and entry["target_id"] == "CP2"
    assert entry["after"] == {"monthly_payment": True}
    assert event["payload"]["by"] == "portal:1 (root@example.no)"
    after = await portal.client.get("/chargers/CP2?saved=1")
    assert "Saved." in after.text and "Switch off" in after.text
    ask = await portal.post(
        "/chargers/CP2/monthly-payment", {"enabled": "0"}, from_page="/chargers/CP2"
    )
    assert "Switch monthly payment off? Any card of the site" in ask.text


async def test_a_site_admin_cannot_switch_monthly_payment(portal: Portal) -> None:
    await portal.sign_in("admin")
    page = await portal.client.get("/chargers/CP2")
    assert page.status_code == 200
    assert "/monthly-payment" not in page.text  # no control
    assert "Only a super-admin may change monthly payment." in page.text
    for confirm in ("", "yes"):
        r = await portal.post(
            "/chargers/CP2/monthly-payment",
            {"enabled": "1", "confirm": confirm},
            from_page="/chargers/CP2",
        )
        assert r.status_code == 403 and "Only a super-admin may change monthly payment." in r.text
    assert not await _monthly_payment(portal, "CP2")


async def test_monthly_payment_needs_a_business_site(portal: Portal) -> None:
    await portal.sign_in("super")
    page = await portal.client.get("/chargers/NOPASS")  # on S2, a basic site
    assert "/monthly-payment" not in page.text
    assert "Monthly payment needs a site on the business plan." in page.text
    r = await portal.post(
        "/chargers/NOPASS/monthly-payment", {"enabled": "1"}, from_page="/chargers/NOPASS"
    )
    assert r.status_code == 409 and "business plan" in r.text
    r = await portal.post(
        "/chargers/NOPASS/monthly-payment",
        {"enabled": "1", "confirm": "yes"},
        from_page="/chargers/NOPASS",
    )
    assert r.status_code == 409  # the use case refuses it too
    assert not await _monthly_payment(portal, "NOPASS")


async def test_the_tariff_is_assigned_through_the_use_case(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    await portal.sign_in("admin")
    r = await portal.post(
        "/chargers/CP2/tariff", {"tariff_id": str(seeded["tariff"])}, from_page="/chargers/CP2"
    )
    assert r.status_code == 303
    async with portal.env.engine.connect() as conn:
        tariff_id = (
            await conn.execute(select(chargers.c.tariff_id).where(chargers.c.id == "CP2"))
        ).scalar_one()
        actors = (
            (
                await conn.execute(
                    select(audit_log.c.actor).where(audit_log.c.action == "charger.tariff")
                )
            )
            .scalars()
            .all()
        )
    assert tariff_id == seeded["tariff"] and actors == ["portal:2 (s1@example.no)"]
    page = await portal.client.get("/chargers/CP2")
    assert f'value="{seeded["tariff"]}" selected' in page.text
    await portal.post("/sign-out", {}, from_page="/chargers/CP2")
    await portal.sign_in("viewer")
    page = await portal.client.get("/chargers/CP2")
    # no tariff form for a viewer (the nav's link to the tariffs page is not one)
    assert 'action="/chargers/CP2/tariff"' not in page.text and "Standard" in page.text
    r = await portal.post("/chargers/CP2/tariff", {"tariff_id": ""}, from_page="/chargers/CP2")
    assert r.status_code == 403 and "read only" in r.text


async def test_the_dashboard_counts_overdue_and_paid_invoices_apart(portal: Portal) -> None:
    from sqlalchemy import update

    from store.billing_schema import invoices

    seeded = await seed_billing(portal.env)
    await portal.sign_in("admin")

    async def tiles() -> dict[str, str]:
        import re

        text = (await portal.client.get("/sites/S1")).text
        found = re.findall(
            r'tile tile-([a-z_]+)[^"]*"><div class="tile-label">[^<]*</div>'
            r'<div class="tile-value">([^<]*)<',
            text,
        )
        return dict(found)

    assert (await tiles())["overdue"] == "NOK0.00"
    async with portal.env.engine.begin() as conn:
        await conn.execute(
            update(invoices)
            .where(invoices.c.number_text == seeded["invoice"])
            .values(state="overdue", paid_amount=1000)
        )
    now = await tiles()
    assert now["overdue"] == now["outstanding"] == "NOK21.25"  # 31.25 less 10.00 paid
    async with portal.env.engine.begin() as conn:
        await conn.execute(
            update(invoices)
            .where(invoices.c.number_text == seeded["invoice"])
            .values(state="paid", paid_amount=3125)
        )
    now = await tiles()
    assert now["overdue"] == now["outstanding"] == "NOK0.00"
