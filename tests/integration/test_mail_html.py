"""HTML mails as they arrive at a real SMTP server (aiosmtpd): each kind carries a text part
and an HTML part (multipart/alternative) with the same words, in the subscriber's language,
its links as links, its values escaped, the PDFs still attached; one rendered in Chromium."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from email.message import EmailMessage
from html import unescape
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning import daily
from billing.run import run_billing
from services import portal_auth
from services.billing import record_offline_payment
from services.context import CLI
from store import billing_store as bs
from store.billing_schema import invoices
from tests.integration.test_mail import (
    OCT,
    Clock,
    _close_senders,
    clock,
    invite,
    sender_for,
    smtp,
)
from tests.support.smtp import SmtpServer
from tests.unit.billing.billing_testkit import World, local, rows

__all__ = ["_close_senders", "clock", "smtp"]
CHROMIUM = "/usr/bin/chromium"


def visible(html: str) -> str:
    """What a reader of the HTML part sees, as one line of words."""
    text = re.sub(r"<(head|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The text and HTML parts (an alternative of each other), checked to say the same."""
    body = msg.get_body(("related", "html", "plain"))
    assert body is not None
    alternative = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
    kinds = [p.get_content_type() for p in alternative.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    plain_part, html_part = alternative.iter_parts()
    text, html = plain_part.get_content(), html_part.get_content()
    seen = visible(html)
    for line in text.splitlines():
        words = re.sub(r"\s+", " ", line).strip().rstrip(":")
        assert words in seen, (words, seen)
    return text, html


async def test_an_invitation_and_a_sign_in_link_have_html_parts_with_their_links(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock, tmp_path: Path
) -> None:
    created = await invite(engine)  # Ada, in Norwegian
    async with engine.begin() as conn:
        sub = await bs.get_subscriber(conn, int(created["subscriber_id"]))
        assert sub is not None
        url = await portal_auth.issue_sign_in_link(conn, CLI, sub, "https://charge.test")
    sender = sender_for(engine, smtp.port, clock)
    assert await sender.drain_once() == 2
    by_subject = {m["Subject"]: m for m in smtp.messages}
    invitation = by_subject["Din invitasjon til å lade hos Fjord"]
    text, html = parts(invitation)
    assert text.startswith("Hei Ada,") and '<html lang="nb">' in html
    link = created["link"]
    assert html.count(f'href="{link}"') == 2  # the button and the address under it
    sign_in = next(m for s, m in by_subject.items() if s != invitation["Subject"])
    text, html = parts(sign_in)
    assert url in text and html.count(f'href="{url}"') == 2
    if os.path.exists(CHROMIUM):
        shots = Path(os.environ.get("EVGATE_TEST_PNG_DIR") or tmp_path)
        await photograph(parts(invitation)[1], shots / "mail-invitation.png")


async def photograph(html: str, path: Path) -> None:
    """The HTML part as a mail client without images would draw it (Chromium, 640 px)."""
    from playwright.async_api import async_playwright

    path.parent.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 640, "height": 480})
            await page.set_content(html, wait_until="load")
            await page.screenshot(path=str(path), full_page=True)
            button = page.locator("a", has_text="Godta invitasjonen her")
            assert await button.count() == 1
        finally:
            await browser.close()


async def test_billing_mails_have_html_parts_in_the_subscribers_language(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    w = await World(engine).setup()
    await w.subscriber("A", language="fr")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    await daily(engine, inv["due_at"] + timedelta(days=15))
    async with engine.begin() as conn:
        await record_offline_payment(
            conn, "OSL-000001", "50.00", date(2026, 12, 30), "<b>bank</b>", actor="cli"
        )
    clock.at = max(clock.at, inv["due_at"] + timedelta(days=16))
    assert await sender_for(engine, smtp.port, clock).drain_once() == 3
    by_subject = {m["Subject"]: m for m in smtp.messages}
    issued = by_subject["Facture OSL-000001 de OSLO"]
    text, html = parts(issued)
    assert '<html lang="fr">' in html and "112,50" in visible(html)
    assert f">{inv['kid']}</td>" in html  # "Référence de paiement (KID) : ..." as a table row
    (pdf,) = list(issued.iter_attachments())
    assert pdf.get_filename() == "OSL-000001.pdf" and pdf.get_content().startswith(b"%PDF-")
    reminder = by_subject["Relance 1 : la facture OSL-000001 est impayée"]
    parts(reminder)
    (pdf,) = list(reminder.iter_attachments())
    assert pdf.get_filename() == "OSL-000001-reminder-1.pdf"
    receipt = by_subject["Paiement reçu pour la facture OSL-000001"]
    text, html = parts(receipt)
    assert "50,00" in visible(html) and not list(receipt.iter_attachments())


async def test_a_declined_card_mail_escapes_the_banks_words(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    from billing.stripe_payments import record_outcome

    w = await World(engine).setup()
    await w.subscriber("A", language="da", payment_method="stripe")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    async with engine.begin() as conn:
        pid = await bs.insert_payment(
            conn,
            {
                "invoice_id": inv["id"],
                "method": "stripe",
                "status": "pending",
                "amount": inv["total"],
                "currency": "NOK",
                "attempt": 1,
                "idempotency_key": "k-1",
                "created_at": inv["issued_at"],
                "updated_at": inv["issued_at"],
            },
        )
    await record_outcome(engine, pid, "failed", "Card <script>alert(1)</script> declined", "pi_1")
    assert await sender_for(engine, smtp.port, clock).drain_once() == 2
    declined = next(m for m in smtp.messages if m["Subject"].startswith("Dit kort blev afvist"))
    text, html = parts(declined)
    assert "<script>" in text and "<script>" not in html
    assert "Card &lt;script&gt;alert(1)&lt;/script&gt; declined" in html
