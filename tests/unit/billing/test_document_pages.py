"""The PDFs as a reader sees them: rendered to PNG (pdfium) and their text read back.

The text checks fail on the old documents: core fonts printed "Łukasz" as "?ukasz", amounts
were "1234567.89" in every language, a credit note's total read "Å betale".
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from billing import local_forms as lf
from billing.documents import credit_note_pdf, invoice_pdf
from billing.labels import LABELS, labels
from billing.reminder_pdf import NEW_DUE_DAYS, reminder_pdf
from tests.unit.billing.test_dunning_documents import INVOICE, LINES

SITE = {
    "id": "OSLO",
    "name": "Borettslaget Sjøsiden",
    "tz": "Europe/Oslo",
    "payment_terms_days": 30,
}
SUBSCRIBER = {"name": "Łukasz Żółć", "email": "lukasz@example.no"}
BIG = {**INVOICE, "net": 98765432, "vat": 24691358, "total": 123456790}
NOTE = {
    "number_text": "CN-OSL-000001",
    "net": 16433,
    "vat": 4108,
    "total": 20541,
    "vat_breakdown": INVOICE["vat_breakdown"],
    "issued_at": INVOICE["issued_at"],
    "reason": "Dobbel belastning",
}


def _pages(pdf: bytes, name: str, out: Path) -> list[str]:
    """Each page's text; each page also written as PNG (and checked to be not blank)."""
    doc = pdfium.PdfDocument(pdf)
    texts = []
    for i, page in enumerate(doc):
        image = page.render(scale=1.5).to_pil()
        low, high = image.convert("L").getextrema()
        assert high - low > 100, f"{name} page {i + 1} looks blank"
        image.save(out / f"{name}-{i + 1}.png")
        texts.append(page.get_textpage().get_text_range())
    return texts


def pdf_text(pdf: bytes) -> str:
    """Every page's text (what a reader's PDF viewer would let them copy)."""
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(pdf))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where the PNGs go: EVGATE_TEST_PNG_DIR to keep them for a look, else a temp dir."""
    target = Path(os.environ.get("EVGATE_TEST_PNG_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.mark.parametrize("language", sorted(LABELS))
def test_invoice_page_prints_every_letter_and_local_forms(language: str, out: Path) -> None:
    inv = {**BIG, "language": language, "state": "issued"}
    text = "\n".join(_pages(invoice_pdf(inv, LINES, SUBSCRIBER, SITE), f"invoice-{language}", out))
    assert "Łukasz Żółć" in text and "Borettslaget Sjøsiden" in text
    grouped = {"en": "1,234,567.90", "da": "1.234.567,90"}.get(language, "1\u00a0234\u00a0567,90")
    assert grouped.replace("\u00a0", " ") in text.replace("\u00a0", " ").replace("\u202f", " ")
    assert "1234567.90" not in text
    assert labels(language)["mark_paid"] not in text  # an issued invoice has no mark


@pytest.mark.parametrize("state", ["paid", "overdue", "credited"])
def test_paid_overdue_and_credited_invoices_carry_their_mark(state: str, out: Path) -> None:
    inv = {**INVOICE, "language": "nb", "state": state, "kid": "0000007000004211", "buyer": BUYER}
    pdf = invoice_pdf(inv, PRICED, SUBSCRIBER, SITE, SELLER_NO)
    text = _pages(pdf, f"invoice-nb-{state}", out)[0]
    assert labels("nb")[f"mark_{state}"] in text


@pytest.mark.parametrize("language", sorted(LABELS))
def test_credit_note_never_asks_for_payment(language: str, out: Path) -> None:
    inv = {**INVOICE, "language": language, "state": "credited"}
    pdf = credit_note_pdf(NOTE, inv, SUBSCRIBER, SITE)
    text = _pages(pdf, f"credit-note-{language}", out)[0]
    t = labels(language)
    assert t["credited_total"] in text and INVOICE["number_text"] in text
    total = lf.money(NOTE["total"], "NOK", language)
    last = [ln for ln in text.splitlines() if ln.endswith(total)][-1]
    assert last.removesuffix(total).strip() == t["credited_total"]
    assert t["total"] != t["credited_total"]  # not "Å betale", "Att betala", "Total TTC"


def test_a_long_invoice_runs_over_pages_with_page_numbers(out: Path) -> None:
    lines = [{**LINES[0], "session_id": 100 + i, "late": False} for i in range(80)]
    texts = _pages(invoice_pdf({**INVOICE, "language": "en"}, lines, SUBSCRIBER, SITE), "long", out)
    assert len(texts) >= 2
    assert f"Page 1 / {len(texts)}" in texts[0] and f"Page {len(texts)} / {len(texts)}" in texts[-1]
    assert all(f"#{100 + i}" in "\n".join(texts) for i in range(80))


@pytest.mark.parametrize("language", sorted(LABELS))
def test_reminder_names_its_invoice_fee_and_new_due_date(language: str, out: Path) -> None:
    sent = INVOICE["due_at"] + timedelta(days=14)
    reminders = [
        {"n": 1, "fee": 3500, "sent_at": sent},
        {"n": 2, "fee": 3500, "sent_at": sent + timedelta(days=14)},
    ]
    inv = {**INVOICE, "language": language, "state": "overdue", "paid_amount": 541}
    inv["credited_amount"] = 0
    pdf = reminder_pdf(inv, reminders[0], reminders, SUBSCRIBER, SITE)
    text = _pages(pdf, f"reminder-{language}", out)[0]
    t = labels(language)
    assert t["reminder"] in text and INVOICE["number_text"] in text
    assert lf.money(20000, "NOK", language) in text  # 205.41 owed less 5.41 paid
    assert lf.money(23500, "NOK", language) in text  # plus reminder 1's fee, not reminder 2's
    assert lf.date(sent + timedelta(days=NEW_DUE_DAYS), "Europe/Oslo", language) in text
    second = reminder_pdf(inv, reminders[1], reminders, SUBSCRIBER, SITE)
    assert lf.money(27000, "NOK", language) in _pages(second, f"reminder2-{language}", out)[0]


@pytest.mark.parametrize("language", sorted(LABELS))
def test_the_invoice_pdf_prints_the_kid_in_each_language(language: str) -> None:
    sub = {"name": "A", "email": "a@example.no", "language": language}
    kid = "0000042000000707"
    text = pdf_text(
        invoice_pdf(
            {**INVOICE, "language": language, "kid": kid}, LINES, sub, {"tz": "Europe/Oslo"}
        )
    )
    assert f"{LABELS[language]['kid']} {kid}" in text
    assert kid not in pdf_text(
        invoice_pdf({**INVOICE, "kid": None}, LINES, sub, {"tz": "Europe/Oslo"})
    )


SELLER_NO = {
    "legal_name": "Sjøsiden Lading AS",
    "street": "Strandveien 1",
    "postcode": "0150",
    "city": "Oslo",
    "country": "NO",
    "orgnr": "923609016",
    "vat_number": "NO923609016MVA",
    "foretaksregisteret": True,
    "bank_account": "86011117947",
    "invoice_email": "faktura@sjosiden.no",
}
SELLER_SE = {
    "legal_name": "Laddbolaget AB",
    "street": "Storgatan 2",
    "postcode": "111 22",
    "city": "Stockholm",
    "country": "SE",
    "orgnr": "5560360793",
    "vat_number": "SE556036079301",
    "f_skatt": True,
    "iban": "SE4550000000058398257466",
    "bic": "ESSESESS",
}
BUYER = {
    "name": "Łukasz Żółć",
    "email": "lukasz@example.no",
    "street": "Kundegata 9",
    "postcode": "5003",
    "city": "Bergen",
    "country": "NO",
    "orgnr": "974760673",
    "buyer_reference": "Prosjekt 77",
}
PRICED = [{**LINES[0], "unit_prices": "E=2.50;T=60.00;P=12.00;F=5.00"}, *LINES[1:]]


def _flat(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize("language", sorted(LABELS))
def test_invoice_names_seller_buyer_terms_unit_prices_and_how_to_pay(
    language: str, out: Path
) -> None:
    t = labels(language)
    inv = {**INVOICE, "language": language, "kid": "0000007000004211", "buyer": BUYER}
    pdf = invoice_pdf(inv, PRICED, SUBSCRIBER, SITE, SELLER_NO)
    text = _flat("\n".join(_pages(pdf, f"invoice-parties-{language}", out)))
    for expected in (
        "Sjøsiden Lading AS",
        "Strandveien 1",
        "0150 Oslo",
        "Org.nr 923 609 016 MVA",
        "Foretaksregisteret",
        "faktura@sjosiden.no",
        "Kundegata 9",
        "5003 Bergen",
        "Org.nr 974 760 673",
        f"{t['your_ref']}: Prosjekt 77",
        t["terms_net"].format(n=30),
        t["how_to_pay"],
        "8601.11.17947",
        "0000007000004211",
    ):
        assert expected in text, (expected, language)
    assert _flat(lf.unit_money(Decimal("2.50"), "NOK", language)) + "/kWh" in text
    hourly = _flat(lf.unit_money(Decimal("60.00"), "NOK", language)) + "/" + t["hour"]
    assert f"{t['charging']} {hourly}" in text
    assert f"{_flat(lf.unit_money(Decimal('5.00'), 'NOK', language))} {t['per_session']}" in text
    assert "Borettslaget Sjøsiden" not in text  # the legal name replaces the site's name


def test_a_swedish_seller_prints_momsreg_and_f_skatt(out: Path) -> None:
    inv = {**INVOICE, "currency": "SEK", "language": "sv", "state": "overdue"}
    pdf = invoice_pdf(inv, PRICED, SUBSCRIBER, {**SITE, "tz": "Europe/Stockholm"}, SELLER_SE)
    text = _flat(_pages(pdf, "invoice-sv-parties", out)[0])
    for expected in (
        "Org.nr 556036-0793",
        "Momsreg.nr SE556036079301",
        "Godkänd för F-skatt",
        "SE45 5000 0000 0583 9825 7466",
        "ESSESESS",
        "30 dagar netto",
    ):
        assert expected in text, expected
    assert "Foretaksregisteret" not in text


def test_the_invoice_keeps_the_seller_it_was_issued_with() -> None:
    inv = {**INVOICE, "seller": SELLER_NO}
    now = {**SELLER_NO, "legal_name": "Nytt Navn AS", "bank_account": "12345678903"}
    text = pdf_text(invoice_pdf(inv, LINES, SUBSCRIBER, SITE, now))
    assert "Sjøsiden Lading AS" in text and "Nytt Navn AS" not in text
    assert "8601.11.17947" in text and "1234.56.78903" not in text
    # an invoice issued before its seller was kept prints the site's seller as it is now
    text = pdf_text(invoice_pdf(INVOICE, LINES, SUBSCRIBER, SITE, now))
    assert "Nytt Navn AS" in text and "1234.56.78903" in text


def test_a_credit_note_has_no_payment_block() -> None:
    inv = {**INVOICE, "language": "nb", "kid": "0000007000004211", "seller": SELLER_NO}
    text = pdf_text(credit_note_pdf(NOTE, inv, SUBSCRIBER, SITE))
    assert "Org.nr 923 609 016 MVA" in text
    assert labels("nb")["how_to_pay"] not in text and "8601.11.17947" not in text


def test_the_sellers_logo_is_printed_above_its_name(out: Path) -> None:
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (300, 100), (200, 20, 20)).save(png, format="PNG")
    seller = {**SELLER_NO, "logo": png.getvalue()}
    pdf = invoice_pdf({**INVOICE, "language": "nb"}, LINES, SUBSCRIBER, SITE, seller)
    _pages(pdf, "invoice-nb-logo", out)
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=1).to_pil().convert("RGB")
    # 15 mm from the left and top edges, 14 mm high: red at (20 mm, 20 mm), in points
    mm = 72 / 25.4
    assert image.getpixel((int(20 * mm), int(20 * mm))) == (200, 20, 20)
    text = page.get_textpage().get_text_range()
    assert "Sjøsiden Lading AS" in text
    without = pdfium.PdfDocument(invoice_pdf(INVOICE, LINES, SUBSCRIBER, SITE, SELLER_NO))[0]
    assert without.render(scale=1).to_pil().convert("RGB").getpixel(
        (int(20 * mm), int(20 * mm))
    ) != (200, 20, 20)
