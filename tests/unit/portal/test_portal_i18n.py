"""The portal's catalog: five languages, every key in each with the same placeholders, and
the product's own words for its key terms."""

from __future__ import annotations

import string

import pytest

from portal import i18n


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    assert tuple(i18n.CATALOG) == ("en", "sv", "nb", "da", "fr")
    english = i18n.CATALOG["en"]
    for lang, words in i18n.CATALOG.items():
        assert words.keys() == english.keys(), lang
        for key, text in words.items():
            assert text.strip(), (lang, key)
            assert placeholders(text) == placeholders(english[key]), (lang, key)


@pytest.mark.parametrize(
    ("lang", "monthly", "estimate"),
    [
        ("en", "Monthly payment", "Estimated next invoice"),
        ("sv", "Månadsbetalning", "Beräknad nästa faktura"),
        ("nb", "Månedlig betaling", "Estimert neste faktura"),
        ("da", "Månedlig betaling", "Estimeret næste faktura"),
        ("fr", "Paiement mensuel", "Prochaine facture estimée"),
    ],
)
def test_the_key_terms_are_the_products_words(lang: str, monthly: str, estimate: str) -> None:
    assert i18n.text(lang, "monthly_payment") == monthly
    assert i18n.text(lang, "estimated_next") == estimate


def test_languages_fall_back_and_placeholders_fill() -> None:
    assert i18n.language_of("nb-NO") == i18n.language_of("no") == "nb"
    assert i18n.language_of("de") == i18n.language_of(None) == "en"
    assert i18n.text("xx", "sign_in") == "Sign in"
    assert i18n.text("en", "confirm_on", charger="CP1", subscribers=3, tokens=4).startswith(
        "Switch to monthly payment? Only subscribers of this site will be able to charge at CP1"
    )
    assert "(active subscribers: 3, their cards: 4)" in i18n.text(
        "en", "confirm_on", charger="CP1", subscribers=3, tokens=4
    )
