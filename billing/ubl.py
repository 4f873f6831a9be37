"""EHF / Peppol BIS Billing 3.0: an invoice or a credit note as UBL 2.1 XML (pure).

Input is what the PDF is made from (the invoice row with the seller and buyer it was issued
with, its lines, the site); output is the XML bytes. Amounts are the stored integers written
as exact decimals, so every sum EN 16931 checks (BR-CO-10..17) holds exactly:

- one ``InvoiceLine`` per session: ``InvoicedQuantity`` in kWh (``KWH``), ``PriceAmount``
  the tariff's energy price per kWh as the line kept it; what the session cost beyond its
  energy (charging and parking time, a session fee) is a line charge, so that quantity x
  price + charges = the line's net (PEPPOL-EN16931-R120); a fixed fee is a line of one
  (``C62``); a discount is a document-level allowance at its VAT rate;
- ``TaxTotal`` with one ``TaxSubtotal`` per VAT rate, as stored (rounded once per rate);
- ``PaymentMeans`` 30 (credit transfer) with the KID as ``PaymentID`` and the seller's
  account (Norwegian account number, or IBAN with the BIC);
- the seller's and buyer's ``EndpointID`` by their organisation number: scheme 0192
  (Norway), 0007 (Sweden), 0184 (Denmark, ``DK`` + CVR); a buyer without one by e-mail
  (``EM``); a Norwegian VAT-registered seller's VAT number ``NO...MVA`` (NO-R-001) and
  ``Foretaksregisteret`` as its ``TAX`` scheme registration (NO-R-002); a Swedish seller's
  ``Godkänd för F-skatt`` likewise (SE-R-005);
- a credit note is a ``CreditNote`` (type 381) referring to its invoice
  (``BillingReference``), one line per VAT rate it credits.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from billing import local_forms as lf
from billing import parties, unit_prices
from billing.documents import unit_prices_text
from billing.errors import BillingError
from billing.labels import labels
from billing.money import format_amount, minor_units

Row = Mapping[str, Any]

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ET.register_namespace("cac", CAC)
ET.register_namespace("cbc", CBC)

# the Peppol electronic address scheme (EAS) of an organisation number, by country
ENDPOINT_SCHEMES = {"NO": "0192", "SE": "0007", "DK": "0184"}
CREDIT_TRANSFER = "30"
INVOICE_TYPE, CREDIT_NOTE_TYPE = "380", "381"
_KWH = Decimal("0.001")


class UblError(BillingError):
    """What an EHF document needs and the stored invoice lacks (e.g. the seller's org nr)."""


def _el(parent: ET.Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        child.text = text
    return child


def _cbc(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    return _el(parent, CBC, tag, text, **attrs)


def _cac(parent: ET.Element, tag: str) -> ET.Element:
    return _el(parent, CAC, tag)


def _day(dt: datetime | None, tz: str) -> str:
    if dt is None:
        raise UblError("the invoice has no issue date: only issued invoices go out as EHF")
    return dt.astimezone(ZoneInfo(tz)).date().isoformat()


def _percent(vat_bp: int) -> str:
    return f"{Decimal(vat_bp).scaleb(-2).normalize():f}"


def endpoint(party: Row) -> tuple[str, str] | None:
    """(scheme, identifier) of a party's organisation number, None without one."""
    country, orgnr = party.get("country") or "NO", party.get("orgnr")
    scheme = ENDPOINT_SCHEMES.get(country)
    if not orgnr or scheme is None:
        return None
    return scheme, f"DK{orgnr}" if country == "DK" else str(orgnr)


class _Doc:
    def __init__(self, currency: str, vat_registered: bool) -> None:
        self.cur = currency
        self.vat_registered = vat_registered

    def amount(self, parent: ET.Element, tag: str, minor: int) -> None:
        _cbc(parent, tag, format_amount(minor, self.cur), currencyID=self.cur)

    def category(self, parent: ET.Element, tag: str, vat_bp: int) -> None:
        """The VAT category: S (standard) at a rate, Z at 0 %; O (not subject to VAT) when the
        seller is not VAT registered, which then charges none."""
        cat = _cac(parent, tag)
        if not self.vat_registered:
            if vat_bp:
                raise UblError(
                    "the invoice charges VAT but its seller has no VAT number: set it with "
                    "`evgate sites seller SITE --vat ...` (or the site's VAT rate to 0)"
                )
            _cbc(cat, "ID", "O")
            if tag == "TaxCategory" and parent.tag.endswith("TaxSubtotal"):
                _cbc(cat, "TaxExemptionReason", "Not subject to VAT")
        else:
            _cbc(cat, "ID", "S" if vat_bp else "Z")
            _cbc(cat, "Percent", _percent(vat_bp))
        _cbc(_cac(cat, "TaxScheme"), "ID", "VAT")


def _address(parent: ET.Element, party: Row) -> None:
    addr = _cac(parent, "PostalAddress")
    if party.get("street"):
        _cbc(addr, "StreetName", str(party["street"]))
    if party.get("city"):
        _cbc(addr, "CityName", str(party["city"]))
    if party.get("postcode"):
        _cbc(addr, "PostalZone", str(party["postcode"]))
    _cbc(_cac(addr, "Country"), "IdentificationCode", str(party.get("country") or "NO"))


def _tax_scheme(parent: ET.Element, company_id: str, scheme: str) -> None:
    pts = _cac(parent, "PartyTaxScheme")
    _cbc(pts, "CompanyID", company_id)
    _cbc(_cac(pts, "TaxScheme"), "ID", scheme)


def _seller(root: ET.Element, seller: Row) -> None:
    if not seller.get("orgnr") or not seller.get("legal_name"):
        raise UblError(
            "the seller has no legal name or organisation number: set them with "
            "`evgate sites seller SITE --legal-name ... --orgnr ...`"
        )
    party = _cac(_cac(root, "AccountingSupplierParty"), "Party")
    found = endpoint(seller)
    scheme, ident = found if found else ("0192", str(seller["orgnr"]))
    _cbc(party, "EndpointID", ident, schemeID=scheme)
    _cbc(_cac(party, "PartyName"), "Name", str(seller["legal_name"]))
    _address(party, seller)
    if seller.get("vat_number"):
        _tax_scheme(party, str(seller["vat_number"]), "VAT")
    if seller.get("foretaksregisteret"):
        _tax_scheme(party, "Foretaksregisteret", "TAX")
    if seller.get("f_skatt"):
        _tax_scheme(party, "Godkänd för F-skatt", "TAX")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", str(seller["legal_name"]))
    if found:
        _cbc(legal, "CompanyID", ident, schemeID=scheme)
    else:
        _cbc(legal, "CompanyID", str(seller["orgnr"]))
    if seller.get("foretaksregisteret"):
        _cbc(legal, "CompanyLegalForm", "Foretaksregisteret")
    if seller.get("invoice_email"):
        _cbc(_cac(party, "Contact"), "ElectronicMail", str(seller["invoice_email"]))


def _buyer(root: ET.Element, buyer: Row) -> None:
    party = _cac(_cac(root, "AccountingCustomerParty"), "Party")
    found = endpoint(buyer)
    if found:
        _cbc(party, "EndpointID", found[1], schemeID=found[0])
    elif buyer.get("email"):
        _cbc(party, "EndpointID", str(buyer["email"]), schemeID="EM")
    else:
        raise UblError("the buyer has neither an organisation number nor an e-mail address")
    name = str(buyer.get("name") or buyer.get("email") or "Customer")
    _cbc(_cac(party, "PartyName"), "Name", name)
    _address(party, buyer)
    if buyer.get("vat_number"):
        _tax_scheme(party, str(buyer["vat_number"]), "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    if found:
        _cbc(legal, "CompanyID", found[1], schemeID=found[0])
    if buyer.get("email"):
        _cbc(_cac(party, "Contact"), "ElectronicMail", str(buyer["email"]))


def _payment_means(root: ET.Element, seller: Row, kid: str | None) -> None:
    account = seller.get("iban") or seller.get("bank_account")
    if not account and not kid:
        return
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", CREDIT_TRANSFER)
    if kid:
        _cbc(means, "PaymentID", str(kid))
    if account:
        fin = _cac(means, "PayeeFinancialAccount")
        _cbc(fin, "ID", str(account))
        if seller.get("bic") and seller.get("iban"):
            _cbc(_cac(fin, "FinancialInstitutionBranch"), "ID", str(seller["bic"]))


def _tax_total(doc: _Doc, root: ET.Element, groups: Sequence[Row], vat: int) -> None:
    total = _cac(root, "TaxTotal")
    doc.amount(total, "TaxAmount", vat)
    for g in groups:
        sub = _cac(total, "TaxSubtotal")
        doc.amount(sub, "TaxableAmount", int(g["net"]))
        doc.amount(sub, "TaxAmount", int(g["vat"]))
        doc.category(sub, "TaxCategory", int(g["vat_bp"]))


def _totals(doc: _Doc, root: ET.Element, lines_net: int, allowances: int, row: Row) -> None:
    m = _cac(root, "LegalMonetaryTotal")
    doc.amount(m, "LineExtensionAmount", lines_net)
    doc.amount(m, "TaxExclusiveAmount", int(row["net"]))
    doc.amount(m, "TaxInclusiveAmount", int(row["total"]))
    if allowances:
        doc.amount(m, "AllowanceTotalAmount", allowances)
    doc.amount(m, "PayableAmount", int(row["total"]))


def _head(root: ET.Element, number: str, issued: str) -> None:
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", number)
    _cbc(root, "IssueDate", issued)


def _session_line(
    doc: _Doc, root: ET.Element, ln: Row, t: Mapping[str, str], tz: str, lang: str
) -> None:
    line = _cac(root, "InvoiceLine")
    _cbc(line, "ID", str(ln["position"]))
    kwh = (Decimal(int(ln.get("energy_wh") or 0)) * _KWH).quantize(_KWH)
    _cbc(line, "InvoicedQuantity", f"{kwh:f}", unitCode="KWH")
    net = int(ln["net"])
    doc.amount(line, "LineExtensionAmount", net)
    price = unit_prices.single_energy_price(ln.get("unit_prices")) or Decimal(0)
    scale = Decimal(10) ** minor_units(doc.cur)
    energy = int((kwh * price * scale).quantize(Decimal(1), ROUND_HALF_UP))
    rest = net - energy  # charging and parking time, a session fee, a price limit
    if rest:
        ac = _cac(line, "AllowanceCharge")
        _cbc(ac, "ChargeIndicator", "true" if rest > 0 else "false")
        reason = "Charging time, parking and session fee" if rest > 0 else "Price limit"
        _cbc(ac, "AllowanceChargeReason", reason)
        doc.amount(ac, "Amount", abs(rest))
    item = _cac(line, "Item")
    started = lf.date_time(ln.get("started_at"), tz, lang)
    described = unit_prices_text(ln.get("unit_prices"), doc.cur, lang, t)
    if described:
        _cbc(item, "Description", described)
    name = f"{t['session']} #{ln['session_id']} {ln.get('charger_id') or ''} {started}"
    _cbc(item, "Name", " ".join(name.split()))
    doc.category(item, "ClassifiedTaxCategory", int(ln["vat_bp"]))
    _cbc(_cac(line, "Price"), "PriceAmount", f"{price:f}", currencyID=doc.cur)


def _one_line(
    doc: _Doc, root: ET.Element, tag: str, qty_tag: str, ident: str, name: str, net: int, bp: int
) -> None:
    line = _cac(root, tag)
    _cbc(line, "ID", ident)
    _cbc(line, qty_tag, "1", unitCode="C62")
    doc.amount(line, "LineExtensionAmount", net)
    item = _cac(line, "Item")
    _cbc(item, "Name", name)
    doc.category(item, "ClassifiedTaxCategory", bp)
    _cbc(_cac(line, "Price"), "PriceAmount", format_amount(net, doc.cur), currencyID=doc.cur)


def _item_line(doc: _Doc, root: ET.Element, ln: Row) -> None:
    """A manual invoice's line: its quantity (``C62``, one) and unit price as typed, so that
    quantity x price is its net within the rounding of one line (PEPPOL-EN16931-R120)."""
    line = _cac(root, "InvoiceLine")
    _cbc(line, "ID", str(ln["position"]))
    qty = (Decimal(int(ln["quantity_milli"])) / 1000).normalize()
    _cbc(line, "InvoicedQuantity", f"{qty:f}", unitCode="C62")
    doc.amount(line, "LineExtensionAmount", int(ln["net"]))
    item = _cac(line, "Item")
    _cbc(item, "Name", str(ln.get("description") or ""))
    doc.category(item, "ClassifiedTaxCategory", int(ln["vat_bp"]))
    price = format_amount(int(ln["unit_price"]), doc.cur)
    _cbc(_cac(line, "Price"), "PriceAmount", price, currencyID=doc.cur)


def _root(name: str, ns: str) -> ET.Element:
    """The document element in its namespace as the default one (ElementTree's own
    ``default_namespace`` refuses the unqualified attributes UBL uses, e.g. currencyID)."""
    return ET.Element(name, {"xmlns": ns})


def _serialize(root: ET.Element) -> bytes:
    body = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8")


def invoice_ubl(
    invoice: Row,
    lines: Sequence[Row],
    subscriber: Row,
    site: Row,
    seller: Row | None = None,
    buyer: Row | None = None,
) -> bytes:
    """An issued invoice as a Peppol BIS Billing 3.0 UBL Invoice."""
    sold_by = parties.seller_of(invoice, site, seller)
    bought_by = parties.buyer_of(invoice, subscriber, buyer)
    lang = invoice.get("language") or subscriber.get("language") or "en"
    t, tz, cur = labels(lang), site.get("tz") or "UTC", str(invoice["currency"])
    if not invoice.get("number_text"):
        raise UblError("the invoice has no number: only issued invoices go out as EHF")
    doc = _Doc(cur, bool(sold_by.get("vat_number")))
    root = _root("Invoice", INVOICE_NS)
    _head(root, str(invoice["number_text"]), _day(invoice.get("issued_at"), tz))
    due = _day(invoice["due_at"], tz) if invoice.get("due_at") else None
    if due:
        _cbc(root, "DueDate", due)
    _cbc(root, "InvoiceTypeCode", INVOICE_TYPE)
    _cbc(root, "DocumentCurrencyCode", cur)
    _cbc(root, "BuyerReference", str(bought_by.get("buyer_reference") or invoice["subscriber_id"]))
    _seller(root, sold_by)
    _buyer(root, bought_by)
    _payment_means(root, sold_by, invoice.get("kid"))
    terms = subscriber.get("payment_terms_days")
    terms = site.get("payment_terms_days") if terms is None else terms
    if terms is not None:
        _cbc(_cac(root, "PaymentTerms"), "Note", t["terms_net"].format(n=terms))
    discounts = [ln for ln in lines if ln["kind"] == "discount"]
    for ln in discounts:
        ac = _cac(root, "AllowanceCharge")
        _cbc(ac, "ChargeIndicator", "false")
        _cbc(ac, "AllowanceChargeReason", str(ln.get("description") or t["discount"]))
        doc.amount(ac, "Amount", -int(ln["net"]))
        doc.category(ac, "TaxCategory", int(ln["vat_bp"]))
    _tax_total(doc, root, invoice.get("vat_breakdown") or [], int(invoice["vat"]))
    billed = [ln for ln in lines if ln["kind"] != "discount"]
    allowances = -sum(int(ln["net"]) for ln in discounts)
    _totals(doc, root, sum(int(ln["net"]) for ln in billed), allowances, invoice)
    for ln in billed:
        if ln["kind"] == "session":
            _session_line(doc, root, ln, t, tz, lang)
        elif ln["kind"] == "item" and ln.get("quantity_milli") is not None:
            _item_line(doc, root, ln)
        else:
            name = f"{t['fee']}: {ln.get('description') or ''}".strip()
            _one_line(
                doc,
                root,
                "InvoiceLine",
                "InvoicedQuantity",
                str(ln["position"]),
                name,
                int(ln["net"]),
                int(ln["vat_bp"]),
            )
    return _serialize(root)


def credit_note_ubl(
    note: Row,
    invoice: Row,
    subscriber: Row,
    site: Row,
    seller: Row | None = None,
    buyer: Row | None = None,
) -> bytes:
    """A credit note as a Peppol BIS Billing 3.0 UBL CreditNote referring to its invoice."""
    sold_by = parties.seller_of(invoice, site, seller)
    bought_by = parties.buyer_of(invoice, subscriber, buyer)
    lang = invoice.get("language") or subscriber.get("language") or "en"
    t, tz, cur = labels(lang), site.get("tz") or "UTC", str(invoice["currency"])
    doc = _Doc(cur, bool(sold_by.get("vat_number")))
    root = _root("CreditNote", CREDIT_NOTE_NS)
    _head(root, str(note["number_text"]), _day(note.get("issued_at"), tz))
    _cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE)
    if note.get("reason"):
        _cbc(root, "Note", str(note["reason"]))
    _cbc(root, "DocumentCurrencyCode", cur)
    _cbc(root, "BuyerReference", str(bought_by.get("buyer_reference") or invoice["subscriber_id"]))
    ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
    _cbc(ref, "ID", str(invoice["number_text"]))
    if invoice.get("issued_at"):
        _cbc(ref, "IssueDate", _day(invoice["issued_at"], tz))
    _seller(root, sold_by)
    _buyer(root, bought_by)
    groups = note.get("vat_breakdown") or []
    _tax_total(doc, root, groups, int(note["vat"]))
    _totals(doc, root, sum(int(g["net"]) for g in groups), 0, note)
    for i, g in enumerate(groups, 1):
        name = f"{t['credits']} {invoice['number_text']}"
        _one_line(
            doc,
            root,
            "CreditNoteLine",
            "CreditedQuantity",
            str(i),
            name,
            int(g["net"]),
            int(g["vat_bp"]),
        )
    return _serialize(root)
