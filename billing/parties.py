"""Who sells and who buys (pure): a site's seller details and a subscriber's buyer details,
checked and normalized by country (python-stdnum), and their local printed forms.

Stored forms are compact: an organisation number as digits ("923609016", "5560360793",
"13585628"), a VAT number with its country prefix as EN 16931 wants it ("NO923609016MVA",
"SE556036079301", "DK13585628"), a Norwegian account as 11 digits, an IBAN without spaces.
Printed forms follow the seller's country: "Org.nr 923 609 016 MVA" and "Foretaksregisteret"
(Norway), "Org.nr 556036-0793", "Momsreg.nr SE556036079301" and "Godkänd för F-skatt"
(Sweden), "CVR 13585628" (Denmark).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from stdnum import bic, iban
from stdnum.dk import cvr
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.no import kontonr, mva
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr
from stdnum.se import vat as se_vat

from billing.errors import BillingError

Row = Mapping[str, Any]

SELLER_FIELDS = (
    "legal_name",
    "street",
    "postcode",
    "city",
    "country",
    "orgnr",
    "vat_number",
    "foretaksregisteret",
    "f_skatt",
    "bank_account",
    "iban",
    "bic",
    "invoice_email",
)
BUYER_FIELDS = (
    "street",
    "postcode",
    "city",
    "country",
    "orgnr",
    "vat_number",
    "buyer_reference",
    "document_format",
)
DOCUMENT_FORMATS = ("pdf", "ehf")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY_NAMES = {"NO": "Norwegian", "SE": "Swedish", "DK": "Danish"}


class PartyError(BillingError):
    """A seller or buyer value that cannot be accepted; ``field`` names it (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def _why(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "its check digit is wrong (a typing error?)"
    if isinstance(exc, InvalidLength):
        return "it has the wrong number of digits"
    if isinstance(exc, InvalidComponent):
        return "a part of it is not valid (e.g. its country or bank code)"
    if isinstance(exc, InvalidFormat):
        return "it has characters that do not belong in it"
    return str(exc)


def _checked(field: str, value: str, what: str, validate: Callable[[str], str]) -> str:
    try:
        return validate(value)
    except ValidationError as exc:
        raise PartyError(field, f"{value!r} is not a valid {what}: {_why(exc)}") from None


def _text(field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise PartyError(field, "must be text")
    text = " ".join(value.split())
    if len(text) > limit:
        raise PartyError(field, f"is longer than {limit} characters")
    return text


def check_orgnr(field: str, value: str, country: str) -> str:
    """An organisation number by its country's rules, compact; other countries: as given."""
    if country == "NO":
        return _checked(field, value, "Norwegian organisation number", no_orgnr.validate)
    if country == "SE":
        return _checked(field, value, "Swedish organisation number", se_orgnr.validate)
    if country == "DK":
        return _checked(field, value, "Danish CVR number", cvr.validate)
    return _text(field, value, 32).replace(" ", "")


def check_vat(field: str, value: str, country: str, orgnr: str | None) -> str:
    """A VAT number with its country prefix (NO...MVA, SE...01, DK...)."""
    compact = value.strip().upper().replace(" ", "").replace(".", "").replace("-", "")
    if country == "NO":
        digits = _checked(field, compact, "Norwegian VAT number (9 digits and MVA)", mva.validate)
        out = "NO" + digits.removeprefix("NO")
        if not out.endswith("MVA"):
            raise PartyError(field, f"{value!r} is not a Norwegian VAT number: it ends in MVA")
    elif country == "SE":
        out = "SE" + _checked(field, compact, "Swedish VAT number", se_vat.validate)
    elif country == "DK":
        out = "DK" + _checked(field, compact.removeprefix("DK"), "Danish VAT number", cvr.validate)
    else:
        out = _text(field, compact, 32)
        if not out.startswith(country):
            out = country + out
    if orgnr and country in ("NO", "DK") and orgnr not in out:
        raise PartyError(field, f"{value!r} is not the VAT number of organisation {orgnr}")
    if orgnr and country == "SE" and out[2:12] != orgnr:
        raise PartyError(field, f"{value!r} is not the VAT number of organisation {orgnr}")
    return out


def check_account(field: str, value: str) -> tuple[str | None, str | None]:
    """A bank account: a Norwegian 11-digit kontonr, or an IBAN. -> (kontonr, iban)."""
    compact = value.strip().replace(" ", "").replace(".", "").upper()
    if compact[:2].isalpha():
        return None, _checked(field, compact, "IBAN", iban.validate)
    return _checked(field, compact, "Norwegian account number (11 digits)", kontonr.validate), None


def _country(field: str, value: Any) -> str:
    code = _text(field, value, 64).upper()
    if not _COUNTRY.match(code):
        raise PartyError(field, f"{value!r} is not a two-letter country code such as NO, SE, DK")
    return code


def check_seller(values: Mapping[str, Any], before: Row | None = None) -> dict[str, Any]:
    """A site's seller details after a change (``values`` over ``before``), checked and
    compact. ``vat_number`` None: not VAT registered."""
    out: dict[str, Any] = {k: (before or {}).get(k) for k in SELLER_FIELDS}
    unknown = set(values) - set(SELLER_FIELDS) - {"account"}
    if unknown:
        raise PartyError(sorted(unknown)[0], "is not a seller field")
    out.update({k: v for k, v in values.items() if k != "account"})
    out["country"] = _country("country", out.get("country") or "NO")
    country = out["country"]
    for key, limit in (("legal_name", 200), ("street", 200), ("postcode", 16), ("city", 100)):
        if out.get(key) is not None:
            out[key] = _text(key, out[key], limit) or None
    if "account" in values and values["account"] is not None:
        out["bank_account"], out["iban"] = check_account("account", str(values["account"]))
    if out.get("bank_account"):
        out["bank_account"] = check_account("bank_account", str(out["bank_account"]))[0]
    if out.get("iban"):
        out["iban"] = _checked("iban", str(out["iban"]), "IBAN", iban.validate)
    if out.get("bic"):
        out["bic"] = _checked("bic", str(out["bic"]).upper(), "BIC", bic.validate)
    if out.get("orgnr"):
        out["orgnr"] = check_orgnr("orgnr", str(out["orgnr"]), country)
    if out.get("vat_number"):
        out["vat_number"] = check_vat("vat_number", str(out["vat_number"]), country, out["orgnr"])
    else:
        out["vat_number"] = None
    if out.get("invoice_email"):
        email = _text("invoice_email", out["invoice_email"], 254)
        if not _EMAIL.match(email):
            raise PartyError("invoice_email", f"{email!r} is not an e-mail address")
        out["invoice_email"] = email
    for flag in ("foretaksregisteret", "f_skatt"):
        out[flag] = bool(out.get(flag))
    if out["foretaksregisteret"] and country != "NO":
        raise PartyError("foretaksregisteret", "only a Norwegian seller is in Foretaksregisteret")
    if out["f_skatt"] and country != "SE":
        raise PartyError("f_skatt", "only a Swedish seller is approved for F-skatt")
    return out


def check_buyer(values: Mapping[str, Any], before: Row | None = None) -> dict[str, Any]:
    """A subscriber's buyer details after a change, checked and compact."""
    out: dict[str, Any] = {k: (before or {}).get(k) for k in BUYER_FIELDS}
    unknown = set(values) - set(BUYER_FIELDS)
    if unknown:
        raise PartyError(sorted(unknown)[0], "is not a buyer field")
    out.update(values)
    out["country"] = _country("country", out.get("country") or "NO")
    for key, limit in (("street", 200), ("postcode", 16), ("city", 100), ("buyer_reference", 100)):
        if out.get(key) is not None:
            out[key] = _text(key, out[key], limit) or None
    if out.get("orgnr"):
        out["orgnr"] = check_orgnr("orgnr", str(out["orgnr"]), out["country"])
    else:
        out["orgnr"] = None
    if out.get("vat_number"):
        out["vat_number"] = check_vat(
            "vat_number", str(out["vat_number"]), out["country"], out["orgnr"]
        )
    else:
        out["vat_number"] = None
    fmt = out.get("document_format")
    if fmt is not None and fmt not in DOCUMENT_FORMATS:
        raise PartyError("document_format", f"{fmt!r} is not one of pdf, ehf")
    return out


LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 4000


def check_logo(data: bytes) -> str:
    """A seller's logo: PNG or JPEG, at most 512 KiB and 4000 px a side, readable. -> "png"
    or "jpeg"."""
    import io

    from PIL import Image, UnidentifiedImageError

    if len(data) > LOGO_MAX_BYTES:
        raise PartyError("logo", f"is {len(data)} bytes: at most {LOGO_MAX_BYTES} bytes")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "jpeg"
    else:
        raise PartyError("logo", "is neither a PNG nor a JPEG image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PartyError("logo", f"is not a readable {kind.upper()} image") from None
    if max(width, height) > LOGO_MAX_PIXELS or min(width, height) < 1:
        raise PartyError("logo", f"is {width}x{height} pixels: at most {LOGO_MAX_PIXELS} a side")
    return kind


def logo_info(data: bytes | None) -> dict[str, Any] | None:
    """What the JSON says about a stored logo (never its bytes)."""
    if not data:
        return None
    return {"type": "png" if data.startswith(b"\x89PNG") else "jpeg", "bytes": len(data)}


def document_format(buyer: Row | None) -> str:
    """What the buyer gets: its own choice, else EHF for a company (an org number), else PDF."""
    if not buyer:
        return "pdf"
    if buyer.get("document_format"):
        return str(buyer["document_format"])
    return "ehf" if buyer.get("orgnr") else "pdf"


# --- printed forms -----------------------------------------------------------------------


def orgnr_text(orgnr: str, country: str) -> str:
    if country == "NO":
        return no_orgnr.format(orgnr)
    if country == "SE":
        return se_orgnr.format(orgnr)
    return orgnr


def account_text(party: Row) -> list[tuple[str, str]]:
    """("Kontonr"/"IBAN"/"BIC", the account in its printed form), in that order."""
    out = []
    if party.get("bank_account"):
        out.append(("account", kontonr.format(party["bank_account"])))
    if party.get("iban"):
        out.append(("iban", iban.format(party["iban"])))
    if party.get("bic"):
        out.append(("bic", str(party["bic"])))
    return out


def registration_lines(party: Row) -> list[str]:
    """The seller's legal lines in its country's own words."""
    country = party.get("country") or "NO"
    orgnr, vat = party.get("orgnr"), party.get("vat_number")
    lines: list[str] = []
    if country == "NO":
        if orgnr:
            lines.append(f"Org.nr {orgnr_text(orgnr, 'NO')}" + (" MVA" if vat else ""))
        if party.get("foretaksregisteret"):
            lines.append("Foretaksregisteret")
    elif country == "SE":
        if orgnr:
            lines.append(f"Org.nr {orgnr_text(orgnr, 'SE')}")
        if vat:
            lines.append(f"Momsreg.nr {vat}")
        if party.get("f_skatt"):
            lines.append("Godkänd för F-skatt")
    elif country == "DK":
        if orgnr:
            lines.append(f"CVR {orgnr}")
        if vat and (not orgnr or vat != f"DK{orgnr}"):
            lines.append(f"Moms {vat}")
    else:
        if orgnr:
            lines.append(f"Reg. no. {orgnr}")
        if vat:
            lines.append(f"VAT {vat}")
    return lines


def address_lines(party: Row) -> list[str]:
    lines = [str(party["street"])] if party.get("street") else []
    city = " ".join(str(party[k]) for k in ("postcode", "city") if party.get(k))
    if city:
        lines.append(city)
    return lines


def buyer_registration_lines(buyer: Row, t: Mapping[str, str]) -> list[str]:
    country = buyer.get("country") or "NO"
    lines = []
    if buyer.get("orgnr"):
        label = "CVR" if country == "DK" else "Org.nr"
        lines.append(f"{label} {orgnr_text(buyer['orgnr'], country)}")
    if buyer.get("vat_number") and country != "NO":
        lines.append(f"{t['vat']} {buyer['vat_number']}")
    if buyer.get("buyer_reference"):
        lines.append(f"{t['your_ref']}: {buyer['buyer_reference']}")
    return lines


def seller_country_name(country: str) -> str:
    return _COUNTRY_NAMES.get(country, country)


# --- what an invoice keeps of them at issue ------------------------------------------------


def seller_snapshot(seller: Row | None) -> dict[str, Any] | None:
    """The seller as an issued invoice keeps it (None: the site has no seller details)."""
    if not seller:
        return None
    return {k: seller.get(k) for k in SELLER_FIELDS}


def buyer_snapshot(subscriber: Row, buyer: Row | None) -> dict[str, Any]:
    """The buyer as an issued invoice keeps it: name and e-mail, and the buyer details."""
    out: dict[str, Any] = {"name": subscriber.get("name") or "", "email": subscriber.get("email")}
    if buyer:
        out.update({k: buyer.get(k) for k in BUYER_FIELDS})
        out["document_format"] = document_format(buyer)
    return out


def seller_of(invoice: Row, site: Row, seller: Row | None) -> dict[str, Any]:
    """The seller a document prints: the invoice's own snapshot, else the site's seller now,
    else only the site's name."""
    kept = invoice.get("seller") or seller_snapshot(seller) or {}
    return {
        "legal_name": site.get("name") or site.get("id") or "",
        **{k: v for k, v in kept.items() if v is not None},
    }


def buyer_of(invoice: Row, subscriber: Row, buyer: Row | None) -> dict[str, Any]:
    kept = invoice.get("buyer") or buyer_snapshot(subscriber, buyer)
    return dict(kept)
