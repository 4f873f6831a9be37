"""The mails' words in five languages and the message built from a stored mail."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from string import Formatter

import pytest

from mail.message import attachment_name, build, message_id
from mail.texts import KINDS, LANGUAGES, TEMPLATES, fields_of, language_of, render

PARAMS = {
    "name": "Kari",
    "site_name": "Fjord",
    "link": "https://charge.test/x",
    "expires": "31.12.2026",
    "minutes": 15,
    "number": "OSL-000012",
    "period": "oktober 2026",
    "total": "112,50 kr",
    "due": "20.12.2026",
    "kid": "0000120000127",
    "amount": "50,00 kr",
    "paid_on": "30.12.2026",
    "amount_due": "62,50 kr",
    "n": 1,
    "fee": "35,00 kr",
    "reason": "insufficient funds",
}


def names(text: str) -> set[str]:
    return {f for _, f, _, _ in Formatter().parse(text) if f}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_every_language_with_the_same_fields(kind: str) -> None:
    assert set(TEMPLATES[kind]) == set(LANGUAGES)
    english = names("".join(TEMPLATES[kind]["en"]))
    for language in LANGUAGES:
        subject, body = TEMPLATES[kind][language]
        assert names(subject + body) == english, (kind, language)
        out = render(kind, language, PARAMS)
        assert out.language == language
        assert "{" not in out.text and "}" not in out.text
        assert "Fjord" in out.text and out.text.startswith(("Hello Kari", "Hej Kari", "Hei Kari",
                                                             "Bonjour Kari"))  # fmt: skip
        for field in english:
            assert str(PARAMS[field]) in out.subject + out.text, (kind, language, field)


def test_language_falls_back_in_order_then_to_english() -> None:
    assert language_of("nb-NO") == "nb" and language_of("no") == "nb"
    assert language_of(None, "sv") == "sv" and language_of("de", "da") == "da"
    assert language_of("de") == "en" and render("invitation", "de", PARAMS).language == "en"
    assert render("invitation", "nb", {**PARAMS, "name": ""}).text.startswith("Hei,\n")


def test_a_missing_field_or_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="needs link"):
        render("invitation", "en", {k: v for k, v in PARAMS.items() if k != "link"})
    with pytest.raises(ValueError, match="no mail kind"):
        render("newsletter", "en", PARAMS)
    assert fields_of("invitation") == {"name", "site_name", "link", "expires"}


def test_message_id_is_the_dedup_keys_and_the_domains() -> None:
    one = message_id("invoice_issued:S1:OSL-000012", "mail.example.com")
    assert one == message_id("invoice_issued:S1:OSL-000012", "mail.example.com")
    assert one != message_id("invoice_issued:S1:OSL-000013", "mail.example.com")
    assert one.startswith("<") and one.endswith("@mail.example.com>") and len(one) == 1 + 32 + 18


def test_the_built_message_parses_back_with_its_attachment() -> None:
    mail = {
        "recipient": "kari@example.no",
        "subject": "Faktura OSL-000012 fra Fjord",
        "message_id": message_id("k", "evgate.test"),
        "language": "nb",
        "text_body": "Hei Kari,\n\nvedlagt.\n",
        "html_body": None,
    }
    ref = {"invoice_number": "OSL-000012", "reminder": 2}
    assert attachment_name(ref) == "OSL-000012-reminder-2.pdf"
    assert attachment_name({"invoice_number": "OSL-000012"}) == "OSL-000012.pdf"
    msg = build(mail, "Fjord <billing@evgate.test>", datetime(2026, 12, 3, tzinfo=UTC),
                [(attachment_name(ref), b"%PDF-1.7 fake")])  # fmt: skip
    back = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert back["Message-ID"] == mail["message_id"] and back["Content-Language"] == "nb"
    assert back["Subject"] == "Faktura OSL-000012 fra Fjord"
    assert back.get_body(("plain",)).get_content() == mail["text_body"]
    (att,) = list(back.iter_attachments())
    assert att.get_filename() == "OSL-000012-reminder-2.pdf"
    assert att.get_content() == b"%PDF-1.7 fake"
