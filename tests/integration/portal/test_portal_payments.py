"""The payment pages through the application (httpx): an OCR Giro file (built by netsgiro)
uploaded and summed up, the same file again recording nothing; unmatched payments assigned
and refunded by a super-admin only; the reports as tables and CSV; an invoice's page with a
payment recorded by hand and a credit note."""

from __future__ import annotations

import csv
import io
import re

import httpx
from sqlalchemy import select

from store import billing_store as bs
from store.payments_schema import unmatched_payments
from store.schema import audit_log
from tests.integration.portal.conftest import Portal, seed_billing
from tests.support.ocr_files import ocr_file


async def upload(portal: Portal, site: str, data: bytes) -> httpx.Response:
    csrf = await portal.csrf(f"/sites/{site}/payments")
    return await portal.client.post(
        f"/sites/{site}/payments/ocr",
        data={"csrf": csrf},
        files={"file": ("ocr.txt", data, "text/plain")},
    )


def cells(html: str, testid: str) -> list[str]:
    row = re.search(rf'<tr data-testid="{testid}">(.*?)</tr>', html, re.S)
    assert row, html
    found = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]
    return found[1:]  # after the label


async def invoice_of(portal: Portal, number: str) -> dict[str, object]:
    async with portal.env.engine.connect() as conn:
        inv = await bs.get_invoice(conn, number)
    assert inv is not None
    return inv


async def test_an_ocr_file_is_imported_once_and_summed_up(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    inv = await invoice_of(portal, seeded["invoice"])
    await portal.sign_in("admin")
    data = ocr_file([(str(inv["kid"]), 3125), ("9999999999995", 1000)])
    r = await upload(portal, "S1", data)
    assert r.status_code == 200, r.text
    assert "File imported: transmission 1701001, 2 transactions." in r.text
    assert cells(r.text, "ocr-matched") == ["1", "NOK31.25"]
    assert cells(r.text, "ocr-unmatched") == ["1", "NOK10.00"]
    assert (await invoice_of(portal, seeded["invoice"]))["state"] == "paid"
    again = await upload(portal, "S1", data)
    assert "imported before (transmission 1701001): nothing new was recorded" in again.text
    assert cells(again.text, "ocr-matched") == ["0", "NOK0.00"]
    assert cells(again.text, "ocr-duplicates") == ["2", ""]
    async with portal.env.engine.connect() as conn:
        assert len((await conn.execute(select(unmatched_payments))).all()) == 1
        actors = (
            (
                await conn.execute(
                    select(audit_log.c.actor).where(audit_log.c.action == "payments.import_ocr")
                )
            )
            .scalars()
            .all()
        )
    assert actors == ["portal:2 (s1@example.no)"]
    # no file, a bad file, another site's admin, a viewer
    r = await upload(portal, "S1", b"")
    assert r.status_code == 422 and "Choose a file to import." in r.text
    r = await upload(portal, "S1", b"not an OCR file\r\n")
    assert r.status_code == 422
    r = await upload(portal, "S2", data)
    assert r.status_code == 403


async def test_a_post_without_csrf_imports_nothing(portal: Portal) -> None:
    await portal.sign_in("admin")
    r = await portal.client.post(
        "/sites/S1/payments/ocr", files={"file": ("ocr.txt", ocr_file([("1", 100)]))}
    )
    assert r.status_code == 403 and "did not come from this site" in r.text


async def test_unmatched_payments_are_assigned_or_refunded_by_a_super_admin(
    portal: Portal,
) -> None:
    seeded = await seed_billing(portal.env)
    await portal.sign_in("super")
    await upload(portal, "S1", ocr_file([("9999999999995", 3125), ("9999999999987", 500)]))
    page = await portal.client.get("/sites/S1/payments/unmatched")
    assert page.text.count("No invoice has this KID") == 2
    ids = [int(i) for i in re.findall(r'data-testid="unmatched-(\d+)"', page.text)]
    first, second = sorted(ids)
    r = await portal.post(
        f"/payments/unmatched/{first}/assign",
        {"invoice_number": seeded["invoice"], "next": "/sites/S1/payments/unmatched"},
        from_page="/sites/S1/payments/unmatched",
    )
    assert r.status_code == 303, r.text
    assert (await invoice_of(portal, seeded["invoice"]))["state"] == "paid"
    r = await portal.post(
        f"/payments/unmatched/{second}/refund",
        {"next": "/sites/S1/payments/unmatched"},
        from_page="/sites/S1/payments/unmatched",
    )
    assert r.status_code == 303
    page = await portal.client.get(r.headers["location"])
    assert f"Paid invoice {seeded['invoice']}" in page.text and "To be refunded" in page.text
    assert 'action="/payments/unmatched/' not in page.text  # nothing left open
    # a wrong invoice number is a readable 404 page
    await upload(portal, "S1", ocr_file([("9999999999979", 100)], transmission="1701002"))
    page = await portal.client.get("/sites/S1/payments/unmatched")
    (third,) = set(int(i) for i in re.findall(r'data-testid="unmatched-(\d+)"', page.text)) - {
        first,
        second,
    }
    r = await portal.post(
        f"/payments/unmatched/{third}/assign",
        {"invoice_number": "NOPE-1"},
        from_page="/sites/S1/payments/unmatched",
    )
    assert r.status_code == 404 and "NOPE-1" in r.text


async def test_a_site_admin_may_not_assign(portal: Portal) -> None:
    await seed_billing(portal.env)
    await portal.sign_in("admin")
    await upload(portal, "S1", ocr_file([("9999999999995", 3125)]))
    page = await portal.client.get("/sites/S1/payments/unmatched")
    assert "Only a super-admin may assign or refund a payment." in page.text
    (uid,) = re.findall(r'data-testid="unmatched-(\d+)"', page.text)
    assert 'action="/payments/unmatched/' not in page.text
    r = await portal.post(
        f"/payments/unmatched/{uid}/refund", {}, from_page="/sites/S1/payments/unmatched"
    )
    assert r.status_code == 403
    async with portal.env.engine.connect() as conn:
        state = (await conn.execute(select(unmatched_payments.c.state))).scalar_one()
    assert state == "open"


async def test_reports_render_as_tables_and_csv(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    inv = await invoice_of(portal, seeded["invoice"])
    await portal.sign_in("super")
    await upload(portal, "S1", ocr_file([(str(inv["kid"]), 1000), ("9999999999995", 700)]))
    page = await portal.client.get("/sites/S1/payments/reports")
    assert page.status_code == 200
    assert "2026-11" in page.text and "Bank giro (OCR)" in page.text and "NOK10.00" in page.text
    assert "NOK21.25" in page.text  # still owed on the invoice
    rows = list(
        csv.reader(
            io.StringIO((await portal.client.get("/sites/S1/payments/reports/payments.csv")).text)
        )
    )
    assert rows == [
        ["period", "method", "currency", "count", "amount"],
        ["2026-11", "ocr_giro", "NOK", "1", "10.00"],
    ]
    aging = await portal.client.get("/sites/S1/payments/reports/aging.csv")
    assert aging.headers["content-type"].startswith("text/csv")
    (head, row) = list(csv.reader(io.StringIO(aging.text)))
    assert dict(zip(head, row, strict=True))["amount_due"] == "21.25"
    r = await portal.client.get("/sites/S1/payments/reports?from=2026-12-01")
    assert "2026-11" not in r.text.split('data-testid="report-payments"')[1].split("</section>")[0]
    r = await portal.client.get("/sites/S1/payments/reports?from=yesterday")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    assert (await portal.client.get("/sites/S1/payments/reports/secrets.csv")).status_code == 404


async def test_an_invoice_takes_a_payment_and_a_credit_note(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    number = seeded["invoice"]
    await portal.sign_in("admin")
    page = await portal.client.get("/sites/S1/invoices")
    assert f'href="/invoices/{number}"' in page.text
    page = await portal.client.get(f"/invoices/{number}")
    assert 'name="amount" inputmode="decimal" required value="31.25"' in page.text
    r = await portal.post(
        f"/invoices/{number}/payments",
        {"amount": "11,25", "paid_on": "2026-11-19", "reference": "cash at the desk"},
        from_page=f"/invoices/{number}",
    )
    assert r.status_code == 303, r.text
    page = await portal.client.get(r.headers["location"])
    assert "Payment recorded." in page.text and "cash at the desk" in page.text
    assert re.search(r'data-testid="amount-due"><strong>NOK20.00', page.text)
    r = await portal.post(
        f"/invoices/{number}/credit-notes",
        {"amount": "", "reason": "charger fault"},
        from_page=f"/invoices/{number}",
    )
    assert r.status_code == 303, r.text
    page = await portal.client.get(r.headers["location"])
    assert re.search(r"Credit note \S+ issued\.", page.text) and "charger fault" in page.text
    # "all that is left" of a partly paid invoice: its total, the payment becomes a balance
    assert ": NOK31.25 (charger fault)</li>" in page.text
    assert (await invoice_of(portal, number))["state"] == "credited"
    r = await portal.post(
        f"/invoices/{number}/payments", {"amount": "-3"}, from_page=f"/invoices/{number}"
    )
    assert r.status_code == 422 and "positive" in r.text


async def test_a_viewer_sees_an_invoice_without_its_forms(portal: Portal) -> None:
    seeded = await seed_billing(portal.env)
    await portal.sign_in("viewer")
    page = await portal.client.get(f"/invoices/{seeded['invoice']}")
    assert page.status_code == 200 and "Record a payment" not in page.text
    r = await portal.post(
        f"/invoices/{seeded['invoice']}/payments",
        {"amount": "1"},
        from_page=f"/invoices/{seeded['invoice']}",
    )
    assert r.status_code == 403
