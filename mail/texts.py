"""The words of every mail, in English, Swedish, Norwegian (bokmål), Danish and French.

``render(kind, language, params)`` gives the subject, the plain-text body and the same words
as HTML (mail/html.py). Templates are
``str.format`` strings over named parameters the caller formats first (money, dates in the
reader's own forms: billing.local_forms), so this module only puts words around them.
A language evgate has no words for falls back to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any

from mail.html import render_html

KINDS = (
    "invitation",
    "sign_in_link",
    "invoice_issued",
    "payment_received",
    "reminder",
    "card_declined",
)
LANGUAGES = ("en", "sv", "nb", "da", "fr")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    language: str
    html: str = ""  # the same words as HTML (mail/html.py)


_GREETING = {
    "en": ("Hello {name},", "Hello,"),
    "sv": ("Hej {name},", "Hej,"),
    "nb": ("Hei {name},", "Hei,"),
    "da": ("Hej {name},", "Hej,"),
    "fr": ("Bonjour {name},", "Bonjour,"),
}

_SIGNATURE = {
    "en": "Kind regards,\n{site_name}",
    "sv": "Vänliga hälsningar,\n{site_name}",
    "nb": "Vennlig hilsen\n{site_name}",
    "da": "Venlig hilsen\n{site_name}",
    "fr": "Cordialement,\n{site_name}",
}

# kind -> language -> (subject, body between greeting and signature)
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "invitation": {
        "en": (
            "Your invitation to charge at {site_name}",
            "You are invited to charge at {site_name} and pay monthly.\n\n"
            "Accept the invitation here:\n{link}\n\n"
            "The link works once and expires on {expires}.",
        ),
        "sv": (
            "Din inbjudan att ladda hos {site_name}",
            "Du är inbjuden att ladda hos {site_name} och betala månadsvis.\n\n"
            "Tacka ja till inbjudan här:\n{link}\n\n"
            "Länken fungerar en gång och upphör att gälla {expires}.",
        ),
        "nb": (
            "Din invitasjon til å lade hos {site_name}",
            "Du er invitert til å lade hos {site_name} og betale månedlig.\n\n"
            "Godta invitasjonen her:\n{link}\n\n"
            "Lenken virker én gang og utløper {expires}.",
        ),
        "da": (
            "Din invitation til at oplade hos {site_name}",
            "Du er inviteret til at oplade hos {site_name} og betale månedligt.\n\n"
            "Accepter invitationen her:\n{link}\n\n"
            "Linket virker én gang og udløber {expires}.",
        ),
        "fr": (
            "Votre invitation à recharger chez {site_name}",
            "Vous êtes invité(e) à recharger chez {site_name} et à payer chaque mois.\n\n"
            "Acceptez l'invitation ici :\n{link}\n\n"
            "Le lien ne fonctionne qu'une fois et expire le {expires}.",
        ),
    },
    "sign_in_link": {
        "en": (
            "Sign in to {site_name}",
            "Sign in with this link:\n{link}\n\n"
            "It works once, for {minutes} minutes. If you did not ask for it, ignore this mail.",
        ),
        "sv": (
            "Logga in hos {site_name}",
            "Logga in med den här länken:\n{link}\n\n"
            "Den fungerar en gång, i {minutes} minuter. Har du inte bett om den, "
            "bortse från det här mejlet.",
        ),
        "nb": (
            "Logg inn hos {site_name}",
            "Logg inn med denne lenken:\n{link}\n\n"
            "Den virker én gang, i {minutes} minutter. Har du ikke bedt om den, "
            "kan du se bort fra denne e-posten.",
        ),
        "da": (
            "Log ind hos {site_name}",
            "Log ind med dette link:\n{link}\n\n"
            "Det virker én gang, i {minutes} minutter. Har du ikke bedt om det, "
            "kan du se bort fra denne mail.",
        ),
        "fr": (
            "Connexion à {site_name}",
            "Connectez-vous avec ce lien :\n{link}\n\n"
            "Il ne fonctionne qu'une fois, pendant {minutes} minutes. Si vous ne l'avez pas "
            "demandé, ignorez ce message.",
        ),
    },
    "invoice_issued": {
        "en": (
            "Invoice {number} from {site_name}",
            "Your invoice {number} for {period} is attached.\n\n"
            "Amount: {total}\nDue date: {due}\nPayment reference (KID): {kid}",
        ),
        "sv": (
            "Faktura {number} från {site_name}",
            "Din faktura {number} för {period} finns bifogad.\n\n"
            "Belopp: {total}\nFörfallodatum: {due}\nBetalningsreferens (KID): {kid}",
        ),
        "nb": (
            "Faktura {number} fra {site_name}",
            "Vedlagt er fakturaen din {number} for {period}.\n\n"
            "Beløp: {total}\nForfallsdato: {due}\nKID: {kid}",
        ),
        "da": (
            "Faktura {number} fra {site_name}",
            "Din faktura {number} for {period} er vedhæftet.\n\n"
            "Beløb: {total}\nForfaldsdato: {due}\nBetalingsreference (KID): {kid}",
        ),
        "fr": (
            "Facture {number} de {site_name}",
            "Vous trouverez ci-joint votre facture {number} pour {period}.\n\n"
            "Montant : {total}\nDate d'échéance : {due}\nRéférence de paiement (KID) : {kid}",
        ),
    },
    "payment_received": {
        "en": (
            "Payment received for invoice {number}",
            "We received your payment of {amount} for invoice {number} on {paid_on}.\n\n"
            "Still to pay: {amount_due}",
        ),
        "sv": (
            "Betalning mottagen för faktura {number}",
            "Vi har tagit emot din betalning på {amount} för faktura {number} den {paid_on}.\n\n"
            "Kvar att betala: {amount_due}",
        ),
        "nb": (
            "Betaling mottatt for faktura {number}",
            "Vi har mottatt betalingen din på {amount} for faktura {number} den {paid_on}.\n\n"
            "Gjenstående å betale: {amount_due}",
        ),
        "da": (
            "Betaling modtaget for faktura {number}",
            "Vi har modtaget din betaling på {amount} for faktura {number} den {paid_on}.\n\n"
            "Resterende beløb: {amount_due}",
        ),
        "fr": (
            "Paiement reçu pour la facture {number}",
            "Nous avons reçu votre paiement de {amount} pour la facture {number} "
            "le {paid_on}.\n\nReste à payer : {amount_due}",
        ),
    },
    "reminder": {
        "en": (
            "Reminder {n}: invoice {number} is unpaid",
            "Invoice {number} is past its due date. Reminder {n} is attached.\n\n"
            "Amount due: {amount_due}\nReminder fee: {fee}\nNew due date: {due}\n"
            "Payment reference (KID): {kid}",
        ),
        "sv": (
            "Påminnelse {n}: faktura {number} är obetald",
            "Faktura {number} har passerat förfallodagen. Påminnelse {n} finns bifogad.\n\n"
            "Att betala: {amount_due}\nPåminnelseavgift: {fee}\nNytt förfallodatum: {due}\n"
            "Betalningsreferens (KID): {kid}",
        ),
        "nb": (
            "Purring {n}: faktura {number} er ikke betalt",
            "Faktura {number} har passert forfallsdatoen. Purring {n} er vedlagt.\n\n"
            "Å betale: {amount_due}\nPurregebyr: {fee}\nNy forfallsdato: {due}\nKID: {kid}",
        ),
        "da": (
            "Rykker {n}: faktura {number} er ikke betalt",
            "Faktura {number} har overskredet forfaldsdatoen. Rykker {n} er vedhæftet.\n\n"
            "Skyldigt beløb: {amount_due}\nRykkergebyr: {fee}\nNy forfaldsdato: {due}\n"
            "Betalingsreference (KID): {kid}",
        ),
        "fr": (
            "Relance {n} : la facture {number} est impayée",
            "La facture {number} a dépassé sa date d'échéance. La relance {n} est jointe.\n\n"
            "Montant dû : {amount_due}\nFrais de relance : {fee}\n"
            "Nouvelle date d'échéance : {due}\nRéférence de paiement (KID) : {kid}",
        ),
    },
    "card_declined": {
        "en": (
            "Your card was declined for invoice {number}",
            "We could not charge {amount} for invoice {number} to your card: {reason}.\n\n"
            "Please update your card or pay the invoice another way.",
        ),
        "sv": (
            "Ditt kort nekades för faktura {number}",
            "Vi kunde inte dra {amount} för faktura {number} från ditt kort: {reason}.\n\n"
            "Uppdatera ditt kort eller betala fakturan på annat sätt.",
        ),
        "nb": (
            "Kortet ditt ble avvist for faktura {number}",
            "Vi kunne ikke belaste kortet ditt med {amount} for faktura {number}: {reason}.\n\n"
            "Oppdater kortet ditt eller betal fakturaen på en annen måte.",
        ),
        "da": (
            "Dit kort blev afvist for faktura {number}",
            "Vi kunne ikke trække {amount} for faktura {number} på dit kort: {reason}.\n\n"
            "Opdater dit kort, eller betal fakturaen på en anden måde.",
        ),
        "fr": (
            "Votre carte a été refusée pour la facture {number}",
            "Nous n'avons pas pu débiter {amount} pour la facture {number} sur votre carte : "
            "{reason}.\n\nMettez votre carte à jour ou réglez la facture autrement.",
        ),
    },
}


def language_of(*choices: str | None) -> str:
    """The first of ``choices`` evgate has words for (the subscriber's, the site's), else en."""
    for choice in choices:
        if choice:
            short = choice.split("-")[0].split("_")[0].lower()
            if short == "no":  # Norwegian without a written form: bokmål
                short = "nb"
            if short in LANGUAGES:
                return short
    return DEFAULT_LANGUAGE


def fields_of(kind: str) -> set[str]:
    """The parameters a kind's templates use (every language uses the same ones)."""
    subject, body = TEMPLATES[kind][DEFAULT_LANGUAGE]
    names = {f for _, f, _, _ in Formatter().parse(subject + body) if f}
    return names | {"name", "site_name"}


def render(kind: str, language: str | None, params: Mapping[str, Any]) -> Rendered:
    """Subject and text body of a ``kind`` mail in ``language`` (or English)."""
    if kind not in TEMPLATES:
        raise ValueError(f"no mail kind {kind!r}: one of {', '.join(KINDS)}")
    lang = language_of(language)
    missing = fields_of(kind) - set(params)
    if missing:
        raise ValueError(f"a {kind} mail needs {', '.join(sorted(missing))}")
    values = {k: "" if v is None else str(v) for k, v in params.items()}
    subject, body = TEMPLATES[kind][lang]
    named, anonymous = _GREETING[lang]
    greeting = named.format(name=values["name"]) if values["name"] else anonymous
    text = "\n\n".join((greeting, body.format(**values), _SIGNATURE[lang].format(**values)))
    title = subject.format(**values)[:300]
    html = render_html(lang, title, greeting, body, _SIGNATURE[lang], values)
    return Rendered(title, text + "\n", lang, html)
