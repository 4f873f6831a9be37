"""Who sells and who buys, end to end: set by the API and the CLI (checked, audited), kept
on each invoice at issue with the unit prices of each line, printed on its PDF."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import RunOptions, run_billing
from config.api import create_app
from config.cli import main
from store import api_tokens, migrate
from store import billing_store as bs
from store.billing_schema import invoice_lines, invoices
from store.db import create_engine
from store.schema import audit_log
from tests.unit.billing.billing_testkit import NOW, World, local, rows
from tests.unit.billing.test_document_pages import pdf_text

OCT = RunOptions("2026-10", now=NOW)
SELLER = {
    "legal_name": "Sjøsiden Lading AS",
    "street": "Strandveien 1",
    "postcode": "0150",
    "city": "Oslo",
    "orgnr": "923 609 016",
    "vat_number": "923609016 MVA",
    "foretaksregisteret": True,
    "account": "8601.11.17947",
    "invoice_email": "faktura@sjosiden.no",
}


async def _tokens(engine: AsyncEngine, site: str) -> tuple[dict[str, str], dict[str, str]]:
    async with engine.begin() as conn:
        admin = (await api_tokens.create_token(conn, "admin", site, "oslo"))[1]
        viewer = (await api_tokens.create_token(conn, "viewer", site, "ro"))[1]
    return {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {viewer}"}


async def test_seller_and_buyer_over_the_api_then_kept_on_the_invoice(
    engine: AsyncEngine,
) -> None:
    w = await World(engine).setup()
    company = await w.subscriber("A", language="nb")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000, parking_min=30)
    # 16:30-17:30 crosses the 17:00 window: both energy prices priced it
    await w.session("A", local("2026-10-06 16:30"), 60, 8_000, tariff="peak")
    as_admin, as_viewer = await _tokens(engine, w.site)
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        url = f"/api/v1/sites/{w.site}/seller"
        r = await http.patch(url, json={**SELLER, "orgnr": "923609017"}, headers=as_admin)
        assert r.status_code == 422 and r.json()["field"] == "orgnr"
        assert "check digit" in r.json()["detail"]
        r = await http.patch(url, json={"account": "1234"}, headers=as_admin)
        assert r.status_code == 422 and r.json()["field"] == "account"
        r = await http.patch(url, json={"bank": "x"}, headers=as_admin)
        assert r.status_code == 422
        assert (await http.patch(url, json=SELLER, headers=as_viewer)).status_code == 403
        r = await http.patch(url, json=SELLER, headers=as_admin)
        assert r.status_code == 200, r.text
        seller = r.json()
        assert seller["orgnr"] == "923609016" and seller["vat_number"] == "NO923609016MVA"
        assert seller["bank_account"] == "86011117947" and seller["country"] == "NO"
        assert (await http.get(url, headers=as_viewer)).json() == seller

        burl = f"/api/v1/subscribers/{company}/buyer"
        r = await http.patch(burl, json={"orgnr": "974760674"}, headers=as_admin)
        assert r.status_code == 422 and r.json()["field"] == "orgnr"
        sub = (await http.get(f"/api/v1/subscribers/{company}", headers=as_viewer)).json()
        assert sub["document_format"] == "pdf"
        body = {
            "street": "Kundegata 9",
            "postcode": "5003",
            "city": "Bergen",
            "orgnr": "974 760 673",
            "buyer_reference": "Prosjekt 77",
        }
        r = await http.patch(burl, json=body, headers=as_admin)
        assert r.status_code == 200, r.text
        assert r.json()["orgnr"] == "974760673" and r.json()["document_format"] == "ehf"
        sub = (await http.get(f"/api/v1/subscribers/{company}", headers=as_viewer)).json()
        assert sub["document_format"] == "ehf"
        listed = (await http.get("/api/v1/subscribers", headers=as_viewer)).json()
        assert [s["document_format"] for s in listed] == ["ehf"]

        await run_billing(engine, OCT)
        (inv,) = await rows(engine, invoices)
        assert inv["seller"]["legal_name"] == "Sjøsiden Lading AS"
        assert inv["seller"]["vat_number"] == "NO923609016MVA"
        assert inv["buyer"]["orgnr"] == "974760673" and inv["buyer"]["name"] == "Subscriber A"
        prices = [ln["unit_prices"] for ln in await rows(engine, invoice_lines)]
        assert prices == ["E=2.50;T=60.00;P=12.00;F=5.00", "E=1.00/4.00"]

        # a later change of the seller does not change the issued invoice's PDF
        r = await http.patch(url, json={"legal_name": "Nytt Navn AS"}, headers=as_admin)
        assert r.status_code == 200 and r.json()["orgnr"] == "923609016"
        pdf = await http.get("/api/v1/invoices/OSL-000001/pdf", headers=as_viewer)
        one = (await http.get("/api/v1/invoices/OSL-000001", headers=as_viewer)).json()
    text = pdf_text(pdf.content).replace("\u00a0", " ").replace("\u202f", " ")
    assert "Sjøsiden Lading AS" in text and "Nytt Navn AS" not in text
    for expected in ("Org.nr 923 609 016 MVA", "Foretaksregisteret", "8601.11.17947"):
        assert expected in text
    assert "Deres referanse: Prosjekt 77" in text and "30 dager netto" in text
    assert "2,50 kr/kWh" in text and "1,00 kr / 4,00 kr/kWh" in text
    assert one["seller"]["legal_name"] == "Sjøsiden Lading AS"
    assert [ln["unit_prices"] for ln in one["lines"]] == prices
    log = [e for e in await rows(engine, audit_log, audit_log.c.id)]
    actions = [e["action"] for e in log if e["action"] in ("seller.update", "buyer.update")]
    assert actions == ["seller.update", "buyer.update", "seller.update"]
    async with engine.connect() as conn:
        assert (await bs.get_seller(conn, w.site))["legal_name"] == "Nytt Navn AS"


def _cli(url: str, *args: str) -> int:
    return main([*args, "--database-url", url])


async def _seller(url: str, site: str) -> dict[str, Any] | None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            return await bs.get_seller(conn, site)
    finally:
        await engine.dispose()


def test_the_cli_sets_the_seller_and_refuses_a_bad_number_in_one_line(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25", "--plan", "business")
    assert _cli(db_url, "sites", "add", "OSLO", *args) == 0
    capsys.readouterr()
    assert _cli(db_url, "sites", "seller", "OSLO", "--orgnr", "923609017") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "orgnr" in err and "check digit" in err
    assert asyncio.run(_seller(db_url, "OSLO")) is None
    flags = ["--legal-name", "Sjøsiden Lading AS", "--orgnr", "923609016"]
    flags += ["--vat", "NO923609016MVA", "--foretaksregisteret", "yes"]
    flags += ["--account", "86011117947", "--invoice-email", "faktura@sjosiden.no"]
    assert _cli(db_url, "sites", "seller", "OSLO", *flags) == 0
    stored = asyncio.run(_seller(db_url, "OSLO"))
    assert stored is not None and stored["vat_number"] == "NO923609016MVA"
    assert stored["foretaksregisteret"] is True and stored["bank_account"] == "86011117947"
    assert _cli(db_url, "sites", "seller", "OSLO", "--vat", "none") == 0
    assert asyncio.run(_seller(db_url, "OSLO"))["vat_number"] is None  # type: ignore[index]
    # a buyer: a missing subscriber is a one-line error too
    assert _cli(db_url, "subscribers", "buyer", "999", "--orgnr", "974760673") == 2
    assert "no subscriber 999" in capsys.readouterr().err


async def test_an_issued_invoice_and_its_credit_note_as_ehf(
    engine: AsyncEngine, db_url: str, tmp_path: Any
) -> None:
    from lxml import etree
    from peppol import validate_xsd

    from tests.unit.billing.ubl_rules import NS, findings

    w = await World(engine).setup()
    company = await w.subscriber("A", language="nb")
    await w.subscriber("B")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000, parking_min=30)
    await w.session("A", local("2026-10-06 16:30"), 60, 8_000, tariff="peak")
    await w.session("B", local("2026-10-07 08:00"), 30, 5_000)
    as_admin, as_viewer = await _tokens(engine, w.site)
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        body = {"orgnr": "974760673", "buyer_reference": "Prosjekt 77"}
        r = await http.patch(f"/api/v1/subscribers/{company}/buyer", json=body, headers=as_admin)
        assert r.status_code == 200
        await run_billing(engine, OCT)
        # no seller details yet: the EHF cannot name its seller
        r = await http.get("/api/v1/invoices/OSL-000001/ubl", headers=as_viewer)
        assert r.status_code == 422 and "organisation number" in r.json()["detail"]
        # an invoice issued before its site had seller details takes the seller as it is now
        r = await http.patch(f"/api/v1/sites/{w.site}/seller", json=SELLER, headers=as_admin)
        assert r.status_code == 200
        r = await http.get("/api/v1/invoices/OSL-000001/ubl", headers=as_viewer)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
        invoice_xml = r.content
        # the consumer B: an e-mail endpoint, its id as buyer reference
        consumer = (await http.get("/api/v1/invoices/OSL-000002/ubl", headers=as_viewer)).content
        r = await http.post(
            "/api/v1/invoices/OSL-000001/credit-notes",
            json={"amount": "10.00", "reason": "Feil tariff"},
            headers=as_admin,
        )
        assert r.status_code == 200, r.text
        note_xml = (
            await http.get(f"/api/v1/invoices/{r.json()['number']}/ubl", headers=as_viewer)
        ).content
        one = (await http.get("/api/v1/invoices/OSL-000001", headers=as_viewer)).json()
    for xml in (invoice_xml, consumer, note_xml):
        ok, errors = validate_xsd(xml)
        assert ok, errors
        assert findings(xml, warnings=True) == []
    root = etree.fromstring(invoice_xml)
    assert root.findtext("cbc:ID", namespaces=NS) == "OSL-000001"
    assert root.findtext("cac:PaymentMeans/cbc:PaymentID", namespaces=NS) == one["kid"]
    total = root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS)
    assert total == f"{one['total'] // 100}.{one['total'] % 100:02d}"
    lines = root.findall("cac:InvoiceLine", NS)
    assert [ln.findtext("cbc:InvoicedQuantity", namespaces=NS) for ln in lines] == [
        "10.000",
        "8.000",
    ]
    buyer = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (buyer.get("schemeID"), buyer.text) == ("0192", "974760673")
    other = etree.fromstring(consumer)
    assert (
        other.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS).get("schemeID")
        == "EM"
    )
    note = etree.fromstring(note_xml)
    assert (
        note.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS)
        == "OSL-000001"
    )
    assert note.findtext("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", namespaces=NS) == "10.00"
    # the CLI writes the same document
    out = tmp_path / "OSL-000001.xml"
    await engine.dispose()
    assert (
        await asyncio.to_thread(_cli, db_url, "invoices", "ubl", "OSL-000001", "--out", str(out))
        == 0
    )
    assert out.read_bytes() == invoice_xml


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 100), (200, 20, 20)).save(out, format="PNG")
    return out.getvalue()


async def test_the_sellers_logo_over_the_api_is_on_its_pdfs(engine: AsyncEngine) -> None:
    import pypdfium2 as pdfium

    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    as_admin, as_viewer = await _tokens(engine, w.site)
    await run_billing(engine, OCT)
    url = f"/api/v1/sites/{w.site}/seller/logo"
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        png = {"Content-Type": "image/png"}
        r = await http.put(
            url, content=b"GIF89a", headers={**as_admin, "Content-Type": "image/gif"}
        )
        assert r.status_code == 415
        r = await http.put(url, content=b"not a png", headers={**as_admin, **png})
        assert r.status_code == 422 and r.json()["field"] == "logo"
        assert (
            await http.put(url, content=_png(), headers={**as_viewer, **png})
        ).status_code == 403
        r = await http.put(url, content=_png(), headers={**as_admin, **png})
        assert r.status_code == 200, r.text
        assert r.json()["logo"] == {"type": "png", "bytes": len(_png())}
        seller = (await http.get(f"/api/v1/sites/{w.site}/seller", headers=as_viewer)).json()
        assert seller["logo"]["type"] == "png" and "logo" not in str(seller["legal_name"])
        pdf = (await http.get("/api/v1/invoices/OSL-000001/pdf", headers=as_viewer)).content
        r = await http.delete(url, headers=as_admin)
        assert r.status_code == 200 and r.json()["logo"] is None
        plain = (await http.get("/api/v1/invoices/OSL-000001/pdf", headers=as_viewer)).content
    mm = 72 / 25.4
    spot = (int(20 * mm), int(20 * mm))
    page = pdfium.PdfDocument(pdf)[0].render(scale=1).to_pil().convert("RGB")
    assert page.getpixel(spot) == (200, 20, 20)
    page = pdfium.PdfDocument(plain)[0].render(scale=1).to_pil().convert("RGB")
    assert page.getpixel(spot) != (200, 20, 20)
    log = [e["action"] for e in await rows(engine, audit_log, audit_log.c.id)]
    assert log.count("seller.logo") == 2


def test_the_cli_sets_the_logo_from_a_file(
    db_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25", "--plan", "business")
    assert _cli(db_url, "sites", "add", "OSLO", *args) == 0
    logo = tmp_path / "logo.png"
    logo.write_bytes(_png())
    assert _cli(db_url, "sites", "seller", "OSLO", "--logo", str(logo)) == 0
    stored = asyncio.run(_seller(db_url, "OSLO"))
    assert stored is not None and stored["logo"] == _png()
    logo.write_bytes(b"junk")
    capsys.readouterr()
    assert _cli(db_url, "sites", "seller", "OSLO", "--logo", str(logo)) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert _cli(db_url, "sites", "seller", "OSLO", "--logo", str(tmp_path / "missing.png")) == 2
    assert _cli(db_url, "sites", "seller", "OSLO", "--no-logo") == 0
    assert asyncio.run(_seller(db_url, "OSLO"))["logo"] is None  # type: ignore[index]
