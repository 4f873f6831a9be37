"""Seller and buyer details: checked by country with python-stdnum, stored compact, printed
in the seller's country's words."""

from __future__ import annotations

import pytest

from billing import parties
from billing.parties import PartyError, check_buyer, check_seller


def test_a_norwegian_seller_is_stored_compact_and_printed_the_norwegian_way() -> None:
    s = check_seller(
        {
            "legal_name": "  Sjøsiden   Lading AS ",
            "orgnr": "923 609 016",
            "vat_number": "NO 923 609 016 MVA",
            "foretaksregisteret": True,
            "account": "8601.11.17947",
        }
    )
    assert s["legal_name"] == "Sjøsiden Lading AS" and s["country"] == "NO"
    assert s["orgnr"] == "923609016" and s["vat_number"] == "NO923609016MVA"
    assert s["bank_account"] == "86011117947" and s["iban"] is None
    assert parties.registration_lines(s) == ["Org.nr 923 609 016 MVA", "Foretaksregisteret"]
    assert parties.account_text(s) == [("account", "8601.11.17947")]
    # not VAT registered: no MVA
    s = check_seller({"vat_number": None}, s)
    assert parties.registration_lines(s)[0] == "Org.nr 923 609 016"


def test_swedish_and_danish_sellers() -> None:
    se = check_seller(
        {
            "country": "se",
            "orgnr": "556036-0793",
            "vat_number": "SE 5560360793 01",
            "f_skatt": True,
            "account": "SE45 5000 0000 0583 9825 7466",
            "bic": "esseseSS",
        }
    )
    assert (se["orgnr"], se["vat_number"]) == ("5560360793", "SE556036079301")
    assert se["iban"] == "SE4550000000058398257466" and se["bic"] == "ESSESESS"
    assert parties.registration_lines(se) == [
        "Org.nr 556036-0793",
        "Momsreg.nr SE556036079301",
        "Godkänd för F-skatt",
    ]
    dk = check_seller({"country": "DK", "orgnr": "13585628", "vat_number": "DK13585628"})
    assert dk["vat_number"] == "DK13585628"
    assert parties.registration_lines(dk) == ["CVR 13585628"]


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"orgnr": "923609017"}, "orgnr", "check digit"),
        ({"orgnr": "92360901"}, "orgnr", "number of digits"),
        ({"vat_number": "NO923609017MVA"}, "vat_number", "check digit"),
        ({"orgnr": "923609016", "vat_number": "NO974760673MVA"}, "vat_number", "923609016"),
        ({"account": "86011117948"}, "account", "check digit"),
        ({"account": "NO9386011117948"}, "account", "IBAN"),
        ({"bic": "DNBANOK"}, "bic", "BIC"),
        ({"country": "SE", "orgnr": "5560360794"}, "orgnr", "Swedish"),
        ({"country": "SE", "vat_number": "SE556036079401"}, "vat_number", "Swedish"),
        ({"country": "DK", "orgnr": "13585627"}, "orgnr", "Danish"),
        ({"country": "Norway"}, "country", "two-letter"),
        ({"invoice_email": "faktura"}, "invoice_email", "e-mail"),
        ({"country": "SE", "foretaksregisteret": True}, "foretaksregisteret", "Norwegian"),
        ({"f_skatt": True}, "f_skatt", "Swedish"),
        ({"logo_colour": "red"}, "logo_colour", "not a seller field"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(
    values: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(PartyError) as caught:
        check_seller(values)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)


def test_a_company_buyer_gets_ehf_unless_it_chose_pdf() -> None:
    person = check_buyer({"street": "Kundegata 9", "postcode": "5003", "city": "Bergen"})
    assert parties.document_format(person) == "pdf" and person["orgnr"] is None
    company = check_buyer({"orgnr": "974 760 673", "buyer_reference": "Prosjekt 77"})
    assert company["orgnr"] == "974760673" and parties.document_format(company) == "ehf"
    chose = check_buyer({"document_format": "pdf"}, company)
    assert parties.document_format(chose) == "pdf"
    with pytest.raises(PartyError, match="^document_format: "):
        check_buyer({"document_format": "xml"})
    with pytest.raises(PartyError, match="^orgnr: "):
        check_buyer({"orgnr": "974760674"})


def _image(kind: str, size: tuple[int, int] = (200, 80)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 20, 20)).save(out, format=kind)
    return out.getvalue()


def test_a_logo_is_a_readable_png_or_jpeg_of_bounded_size() -> None:
    assert parties.check_logo(_image("PNG")) == "png"
    assert parties.check_logo(_image("JPEG")) == "jpeg"
    assert parties.logo_info(_image("PNG")) == {"type": "png", "bytes": len(_image("PNG"))}
    for bad, words in (
        (b"GIF89a....", "neither a PNG nor a JPEG"),
        (_image("PNG")[:40], "not a readable PNG"),
        (b"\xff\xd8\xff" + b"\x00" * (parties.LOGO_MAX_BYTES), "at most"),
        (_image("PNG", (4001, 10)), "4000"),
    ):
        with pytest.raises(PartyError, match="^logo: ") as caught:
            parties.check_logo(bad)
        assert words in str(caught.value)
