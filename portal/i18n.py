"""The portal's words in its five languages (pure: no I/O), like billing/labels.py.

``text(language, key, **values)`` fills ``{name}`` placeholders; an unknown language falls
back to English. Every language has every key with the same placeholders (a unit test holds
this), and the key terms are the product's own: "Monthly payment", "Estimated next invoice".
"""

from __future__ import annotations

from portal import owner_words
from portal.payment_words import ROWS as PAYMENT_ROWS

LANGUAGES = ("en", "sv", "nb", "da", "fr")
NAMES = {"en": "English", "sv": "Svenska", "nb": "Norsk bokmål", "da": "Dansk", "fr": "Français"}

_ROWS: dict[str, tuple[str, str, str, str, str]] = {
    # key: (en, sv, nb, da, fr)
    "sign_in": ("Sign in", "Logga in", "Logg inn", "Log ind", "Se connecter"),
    "sign_out": ("Sign out", "Logga ut", "Logg ut", "Log ud", "Se déconnecter"),
    "email": ("E-mail", "E-post", "E-post", "E-mail", "Adresse e-mail"),
    "password": ("Password", "Lösenord", "Passord", "Adgangskode", "Mot de passe"),
    "wrong_login": (
        "E-mail or password is wrong.",
        "Fel e-post eller lösenord.",
        "Feil e-post eller passord.",
        "Forkert e-mail eller adgangskode.",
        "Adresse e-mail ou mot de passe incorrect.",
    ),
    "throttled": (
        "Too many failed sign-ins. Try again in {seconds} s.",
        "För många misslyckade inloggningar. Försök igen om {seconds} s.",
        "For mange mislykkede innlogginger. Prøv igjen om {seconds} s.",
        "For mange mislykkede logins. Prøv igen om {seconds} s.",
        "Trop de connexions échouées. Réessayez dans {seconds} s.",
    ),
    "csrf_refused": (
        "This form has expired or did not come from this site. Go back, reload the page and "
        "try again.",
        "Formuläret har gått ut eller kom inte från denna webbplats. Gå tillbaka, ladda om "
        "sidan och försök igen.",
        "Skjemaet er utløpt eller kom ikke fra dette nettstedet. Gå tilbake, last inn siden "
        "på nytt og prøv igjen.",
        "Formularen er udløbet eller kom ikke fra dette websted. Gå tilbage, genindlæs siden "
        "og prøv igen.",
        "Ce formulaire a expiré ou ne vient pas de ce site. Revenez en arrière, rechargez la "
        "page et réessayez.",
    ),
    "error": (
        "Something went wrong",
        "Något gick fel",
        "Noe gikk galt",
        "Noget gik galt",
        "Une erreur est survenue",
    ),
    "not_allowed": (
        "You may not do this.",
        "Du får inte göra detta.",
        "Du har ikke lov til dette.",
        "Du må ikke gøre dette.",
        "Vous n’êtes pas autorisé à faire cela.",
    ),
    "not_found": ("Not found.", "Hittades inte.", "Ikke funnet.", "Ikke fundet.", "Introuvable."),
    "back": ("Back", "Tillbaka", "Tilbake", "Tilbage", "Retour"),
    "sites": ("Sites", "Platser", "Steder", "Steder", "Sites"),
    "dashboard": ("Dashboard", "Översikt", "Oversikt", "Oversigt", "Tableau de bord"),
    "chargers": ("Chargers", "Laddare", "Ladere", "Ladere", "Bornes"),
    "charger": ("Charger", "Laddare", "Lader", "Lader", "Borne"),
    "invoices": ("Invoices", "Fakturor", "Fakturaer", "Fakturaer", "Factures"),
    "online": ("Online", "Ansluten", "Tilkoblet", "Forbundet", "En ligne"),
    "offline": ("Offline", "Frånkopplad", "Frakoblet", "Afbrudt", "Hors ligne"),
    "sessions_running": (
        "Sessions running",
        "Pågående laddningar",
        "Pågående ladinger",
        "Igangværende opladninger",
        "Recharges en cours",
    ),
    "energy_month": (
        "kWh this month",
        "kWh denna månad",
        "kWh denne måneden",
        "kWh denne måned",
        "kWh ce mois-ci",
    ),
    "amount_month": (
        "Amount this month (estimated)",
        "Belopp denna månad (beräknat)",
        "Beløp denne måneden (estimert)",
        "Beløb denne måned (estimeret)",
        "Montant ce mois-ci (estimé)",
    ),
    "outstanding": ("Outstanding", "Obetalt", "Utestående", "Udestående", "Impayé"),
    "overdue": ("Overdue", "Förfallet", "Forfalt", "Forfaldent", "En retard"),
    "monthly_payment": (
        "Monthly payment",
        "Månadsbetalning",
        "Månedlig betaling",
        "Månedlig betaling",
        "Paiement mensuel",
    ),
    "on": ("On", "På", "På", "Til", "Activé"),
    "off": ("Off", "Av", "Av", "Fra", "Désactivé"),
    "switch_on": ("Switch on", "Slå på", "Slå på", "Slå til", "Activer"),
    "switch_off": ("Switch off", "Stäng av", "Slå av", "Slå fra", "Désactiver"),
    "confirm_on": (
        "Switch to monthly payment? Only subscribers of this site will be able to charge at "
        "{charger} (active subscribers: {subscribers}, their cards: {tokens}). Any other card "
        "is refused.",
        "Byta till månadsbetalning? Endast abonnenter på denna plats kommer att kunna ladda "
        "vid {charger} (aktiva abonnenter: {subscribers}, deras kort: {tokens}). Alla andra "
        "kort nekas.",
        "Bytte til månedlig betaling? Bare abonnenter på dette stedet vil kunne lade ved "
        "{charger} (aktive abonnenter: {subscribers}, kortene deres: {tokens}). Alle andre "
        "kort avvises.",
        "Skift til månedlig betaling? Kun abonnenter på dette sted vil kunne lade ved "
        "{charger} (aktive abonnenter: {subscribers}, deres kort: {tokens}). Alle andre kort "
        "afvises.",
        "Passer au paiement mensuel ? Seuls les abonnés de ce site pourront recharger à "
        "{charger} (abonnés actifs : {subscribers}, leurs badges : {tokens}). Tout autre "
        "badge sera refusé.",
    ),
    "confirm_off": (
        "Switch monthly payment off? Any card of the site that is not blocked will be able to "
        "charge at {charger}, and its sessions are not billed monthly.",
        "Stänga av månadsbetalning? Alla kort på platsen som inte är spärrade kommer att kunna "
        "ladda vid {charger}, och laddningarna faktureras inte månadsvis.",
        "Slå av månedlig betaling? Alle kort på stedet som ikke er sperret vil kunne lade ved "
        "{charger}, og ladingene faktureres ikke månedlig.",
        "Slå månedlig betaling fra? Alle kort på stedet, der ikke er spærret, vil kunne lade "
        "ved {charger}, og opladningerne faktureres ikke månedligt.",
        "Désactiver le paiement mensuel ? Tout badge non bloqué du site pourra recharger à "
        "{charger}, et ses recharges ne seront pas facturées mensuellement.",
    ),
    "running_keep": (
        "Sessions already running keep the mode they started with ({count} now).",
        "Laddningar som redan pågår behåller läget de startade med ({count} nu).",
        "Ladinger som allerede pågår beholder modusen de startet med ({count} nå).",
        "Opladninger, der allerede er i gang, beholder den tilstand, de startede med ({count} nu).",
        "Les recharges en cours gardent le mode avec lequel elles ont commencé ({count} "
        "actuellement).",
    ),
    "who_on": (
        "Only subscribers of this site may charge here; sessions are billed monthly.",
        "Endast abonnenter på denna plats kan ladda här; laddningar faktureras månadsvis.",
        "Bare abonnenter på dette stedet kan lade her; ladinger faktureres månedlig.",
        "Kun abonnenter på dette sted kan lade her; opladninger faktureres månedligt.",
        "Seuls les abonnés de ce site peuvent recharger ici ; les recharges sont facturées "
        "mensuellement.",
    ),
    "who_off": (
        "Any card of the site that is not blocked may charge here; sessions are not billed "
        "monthly.",
        "Alla kort på platsen som inte är spärrade kan ladda här; laddningar faktureras inte "
        "månadsvis.",
        "Alle kort på stedet som ikke er sperret kan lade her; ladinger faktureres ikke månedlig.",
        "Alle kort på stedet, der ikke er spærret, kan lade her; opladninger faktureres ikke "
        "månedligt.",
        "Tout badge non bloqué du site peut recharger ici ; les recharges ne sont pas "
        "facturées mensuellement.",
    ),
    "only_super": (
        "Only a super-admin may change monthly payment.",
        "Endast en superadministratör kan ändra månadsbetalning.",
        "Bare en superadministrator kan endre månedlig betaling.",
        "Kun en superadministrator kan ændre månedlig betaling.",
        "Seul un super-administrateur peut modifier le paiement mensuel.",
    ),
    "only_business": (
        "Monthly payment needs a site on the business plan.",
        "Månadsbetalning kräver en plats med företagsabonnemang.",
        "Månedlig betaling krever et sted med bedriftsabonnement.",
        "Månedlig betaling kræver et sted med erhvervsabonnement.",
        "Le paiement mensuel nécessite un site avec l’offre entreprise.",
    ),
    "confirm": ("Confirm", "Bekräfta", "Bekreft", "Bekræft", "Confirmer"),
    "cancel": ("Cancel", "Avbryt", "Avbryt", "Annuller", "Annuler"),
    "saved": ("Saved.", "Sparat.", "Lagret.", "Gemt.", "Enregistré."),
    "save": ("Save", "Spara", "Lagre", "Gem", "Enregistrer"),
    "settings": ("Settings", "Inställningar", "Innstillinger", "Indstillinger", "Paramètres"),
    "tariff": ("Tariff", "Taxa", "Tariff", "Tarif", "Tarif"),
    "no_tariff": ("No tariff", "Ingen taxa", "Ingen tariff", "Ingen tarif", "Aucun tarif"),
    "connectors": ("Connectors", "Uttag", "Kontakter", "Stik", "Connecteurs"),
    "connector": ("Connector", "Uttag", "Kontakt", "Stik", "Connecteur"),
    "status": ("Status", "Status", "Status", "Status", "État"),
    "number": ("Number", "Nummer", "Nummer", "Nummer", "Numéro"),
    "date": ("Date", "Datum", "Dato", "Dato", "Date"),
    "period": ("Period", "Period", "Periode", "Periode", "Période"),
    "invoice_kind": ("Type", "Typ", "Type", "Type", "Type"),
    "kind_automatic": ("Monthly", "Månadsvis", "Månedlig", "Månedlig", "Mensuelle"),
    "kind_manual": ("Manual", "Manuell", "Manuell", "Manuel", "Manuelle"),
    "total": ("Total", "Summa", "Sum", "I alt", "Total"),
    "state": ("State", "Status", "Status", "Status", "Statut"),
    "download_pdf": ("PDF", "PDF", "PDF", "PDF", "PDF"),
    "no_invoices": (
        "No invoices yet.",
        "Inga fakturor ännu.",
        "Ingen fakturaer ennå.",
        "Ingen fakturaer endnu.",
        "Aucune facture pour l’instant.",
    ),
    "no_chargers": (
        "No chargers on this site yet.",
        "Inga laddare på denna plats ännu.",
        "Ingen ladere på dette stedet ennå.",
        "Ingen ladere på dette sted endnu.",
        "Aucune borne sur ce site pour l’instant.",
    ),
    "state_draft": ("Draft", "Utkast", "Utkast", "Kladde", "Brouillon"),
    "state_issued": ("Issued", "Utfärdad", "Utstedt", "Udstedt", "Émise"),
    "state_overdue": ("Overdue", "Förfallen", "Forfalt", "Forfalden", "En retard"),
    "state_paid": ("Paid", "Betald", "Betalt", "Betalt", "Payée"),
    "state_credited": ("Credited", "Krediterad", "Kreditert", "Krediteret", "Créditée"),
    "estimated_next": (
        "Estimated next invoice",
        "Beräknad nästa faktura",
        "Estimert neste faktura",
        "Estimeret næste faktura",
        "Prochaine facture estimée",
    ),
    "estimate_note": (
        "This month so far ({period}), incl. VAT. Sessions: {sessions} · {kwh} kWh.",
        "Denna månad hittills ({period}), inkl. moms. Laddningar: {sessions} · {kwh} kWh.",
        "Denne måneden så langt ({period}), inkl. mva. Ladinger: {sessions} · {kwh} kWh.",
        "Denne måned indtil nu ({period}), inkl. moms. Opladninger: {sessions} · {kwh} kWh.",
        "Ce mois-ci jusqu’à présent ({period}), TVA comprise. Recharges : {sessions} · {kwh} kWh.",
    ),
    "my_page": ("My page", "Min sida", "Min side", "Min side", "Mon espace"),
    "activity": (
        "Activity per month",
        "Aktivitet per månad",
        "Aktivitet per måned",
        "Aktivitet pr. måned",
        "Activité par mois",
    ),
    "energy": ("Energy", "Energi", "Energi", "Energi", "Énergie"),
    "amount": ("Amount", "Belopp", "Beløp", "Beløb", "Montant"),
    "estimated": ("estimated", "beräknat", "estimert", "estimeret", "estimé"),
    "language": ("Language", "Språk", "Språk", "Sprog", "Langue"),
    "subscriber_sign_in": (
        "Subscriber? Get a sign-in link",
        "Abonnent? Få en inloggningslänk",
        "Abonnent? Få en innloggingslenke",
        "Abonnent? Få et login-link",
        "Abonné ? Recevez un lien de connexion",
    ),
    "send_link": (
        "Send me a sign-in link",
        "Skicka en inloggningslänk",
        "Send meg en innloggingslenke",
        "Send mig et login-link",
        "Envoyez-moi un lien de connexion",
    ),
    "link_sent": (
        "If the address belongs to a subscriber, a sign-in link is on its way. It works once, "
        "for 30 minutes.",
        "Om adressen tillhör en abonnent är en inloggningslänk på väg. Den fungerar en gång, "
        "i 30 minuter.",
        "Hvis adressen tilhører en abonnent, er en innloggingslenke på vei. Den virker én "
        "gang, i 30 minutter.",
        "Hvis adressen tilhører en abonnent, er et login-link på vej. Det virker én gang, "
        "i 30 minutter.",
        "Si l’adresse appartient à un abonné, un lien de connexion est en route. Il "
        "fonctionne une fois, pendant 30 minutes.",
    ),
    "link_continue": (
        "Continue to my page",
        "Fortsätt till min sida",
        "Fortsett til min side",
        "Fortsæt til min side",
        "Continuer vers mon espace",
    ),
    "link_gone": (
        "This sign-in link was used or has expired. Ask for a new one.",
        "Denna inloggningslänk har använts eller gått ut. Be om en ny.",
        "Denne innloggingslenken er brukt eller utløpt. Be om en ny.",
        "Dette login-link er brugt eller udløbet. Bed om et nyt.",
        "Ce lien de connexion a déjà servi ou a expiré. Demandez-en un nouveau.",
    ),
    "role_super-admin": (
        "Super-admin",
        "Superadministratör",
        "Superadministrator",
        "Superadministrator",
        "Super-administrateur",
    ),
    "role_admin": (
        "Site admin",
        "Platsadministratör",
        "Stedsadministrator",
        "Stedadministrator",
        "Administrateur du site",
    ),
    "role_viewer": ("Viewer", "Läsare", "Leser", "Læser", "Lecteur"),
    # words both the payment pages and the site owner's pages use
    "month": ("Month", "Månad", "Måned", "Måned", "Mois"),
    "payment_method": (
        "Payment method",
        "Betalningssätt",
        "Betalingsmåte",
        "Betalingsmetode",
        "Moyen de paiement",
    ),
    "reason": ("Reason", "Anledning", "Begrunnelse", "Begrundelse", "Motif"),
    # the invitation page (portal/invite_pages.py) and the sessions on my page
    "invite_title": (
        "Your invitation",
        "Din inbjudan",
        "Invitasjonen din",
        "Din invitation",
        "Votre invitation",
    ),
    "invite_intro": (
        "{site} invites you to charge with Monthly payment: your charging is billed once a "
        "month, on the 1st.",
        "{site} bjuder in dig att ladda med Månadsbetalning: din laddning faktureras en gång i "
        "månaden, den 1:a.",
        "{site} inviterer deg til å lade med Månedlig betaling: ladingen din faktureres én "
        "gang i måneden, den 1.",
        "{site} inviterer dig til at oplade med Månedlig betaling: din opladning faktureres én "
        "gang om måneden, den 1.",
        "{site} vous invite à recharger avec le Paiement mensuel : vos recharges sont "
        "facturées une fois par mois, le 1er.",
    ),
    "invite_pay_note": (
        "You pay each invoice by bank transfer with its KID; on your page you can register a "
        "card instead.",
        "Du betalar varje faktura med banköverföring och dess KID; på din sida kan du i stället "
        "registrera ett kort.",
        "Du betaler hver faktura med bankoverføring og KID; på siden din kan du registrere et "
        "kort i stedet.",
        "Du betaler hver faktura med bankoverførsel og KID; på din side kan du i stedet "
        "registrere et kort.",
        "Vous réglez chaque facture par virement avec son KID ; sur votre espace, vous pouvez "
        "enregistrer une carte à la place.",
    ),
    "invite_accept": (
        "Accept and open my page",
        "Acceptera och öppna min sida",
        "Godta og åpne min side",
        "Accepter og åbn min side",
        "Accepter et ouvrir mon espace",
    ),
    "invite_used": (
        "This invitation was accepted already. Ask for a sign-in link to reach your page.",
        "Denna inbjudan har redan accepterats. Be om en inloggningslänk för att nå din sida.",
        "Denne invitasjonen er allerede godtatt. Be om en innloggingslenke for å komme til "
        "siden din.",
        "Denne invitation er allerede accepteret. Bed om et login-link for at komme til din side.",
        "Cette invitation a déjà été acceptée. Demandez un lien de connexion pour accéder à "
        "votre espace.",
    ),
    "my_sessions": (
        "Sessions this month",
        "Laddningar denna månad",
        "Ladinger denne måneden",
        "Opladninger denne måned",
        "Recharges ce mois-ci",
    ),
    "no_sessions_yet": (
        "No sessions this month yet.",
        "Inga laddningar denna månad ännu.",
        "Ingen ladinger denne måneden ennå.",
        "Ingen opladninger denne måned endnu.",
        "Aucune recharge ce mois-ci pour l’instant.",
    ),
}


def _joined(*parts: dict[str, tuple[str, str, str, str, str]]) -> None:
    """Add each page group's words; a key defined twice is refused, so no word silently
    replaces another (one definition of each word)."""
    for part in parts:
        twice = sorted(_ROWS.keys() & part.keys())
        if twice:
            raise ValueError(f"portal words defined twice: {', '.join(twice)}")
        _ROWS.update(part)


_joined(PAYMENT_ROWS, owner_words.ROWS)  # portal/payment_words.py, portal/owner_words.py
CATALOG: dict[str, dict[str, str]] = {
    lang: {key: row[i] for key, row in _ROWS.items()} for i, lang in enumerate(LANGUAGES)
}


def language_of(value: str | None) -> str:
    """A supported language code for ``value`` ("nb-NO", "no" -> "nb"); else English."""
    code = (value or "en").lower().replace("_", "-").split("-")[0]
    code = {"no": "nb", "nn": "nb"}.get(code, code)
    return code if code in CATALOG else "en"


def text(language: str | None, key: str, **values: object) -> str:
    words = CATALOG[language_of(language)][key]
    return words.format(**values) if values else words
