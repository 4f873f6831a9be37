"""The mail room against a real SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL:
mails queued with their events, sent once, retried while the server is away, failed when
refused, never sent again once sent."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pypdfium2
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning import daily
from billing.run import RunOptions, run_billing
from mail.message import message_id
from services import mail as mail_service
from services import subscribers as subscriber_service
from services.billing import record_offline_payment
from services.context import CLI
from services.mail_sender import MailSender, SmtpSettings
from store import admin
from store import billing_store as bs
from store.billing_schema import invoices
from store.errors import Conflict
from store.mail_schema import mail_outbox
from tests.support.server_process import evgate_command
from tests.support.smtp import SmtpServer
from tests.unit.billing.billing_testkit import NOW, World, local, rows

DOMAIN = "mail.evgate.test"
OCT = RunOptions("2026-10", now=NOW)


class Clock:
    """The sender's clock, moved by the test (backoffs without waiting for them)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC) + timedelta(seconds=1))


_SENDERS: list[MailSender] = []


def sender_for(engine: AsyncEngine, port: int, clock: Clock, **kw: Any) -> MailSender:
    settings = SmtpSettings(
        host="127.0.0.1", port=port, security="none", sender="billing@evgate.test", domain=DOMAIN
    )
    sender = MailSender(engine, settings, backoff=60, clock=clock, **kw)
    _SENDERS.append(sender)
    return sender


@pytest.fixture(autouse=True)
async def _close_senders() -> AsyncIterator[None]:
    """Every sender a test made is closed (its task, its PDF process) when the test ends."""
    yield
    while _SENDERS:
        await _SENDERS.pop().close()


async def mails(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(mail_outbox).order_by(mail_outbox.c.id))
        return [dict(r) for r in result.mappings()]


async def invite(engine: AsyncEngine, email: str = "ada@example.no", language: str = "nb") -> dict:
    async with engine.begin() as conn:
        if not await bs.get_site(conn, "S1"):
            await admin.add_site(
                conn, admin.SiteInput("S1", "Europe/Oslo", "NOK", 2500, "business", name="Fjord")
            )
        return await subscriber_service.invite(
            conn, CLI, "S1", email, name="Ada", language=language, link_base="https://charge.test"
        )


def pdf_pages(data: bytes) -> int:
    assert data.startswith(b"%PDF-")
    doc = pypdfium2.PdfDocument(data)
    try:
        return len(doc)
    finally:
        doc.close()


async def test_an_invitation_mail_arrives_once_with_its_link(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    created = await invite(engine)
    assert created["link"] == f"https://charge.test/invite/{created['token']}"
    sender = sender_for(engine, smtp.port, clock)
    assert await sender.drain_once() == 1
    assert await sender.drain_once() == 0
    (msg,) = smtp.messages
    assert msg["To"] == "ada@example.no" and msg["From"] == "billing@evgate.test"
    assert msg["Subject"] == "Din invitasjon til å lade hos Fjord"
    assert msg["Content-Language"] == "nb"
    body = msg.get_body(("plain",)).get_content()  # the text part (an HTML one beside it)
    assert created["link"] in body and body.startswith("Hei Ada,")
    key = f"invitation:S1:{created['subscriber_id']}"
    assert msg["Message-ID"] == message_id(key, DOMAIN)
    (row,) = await mails(engine)
    assert (row["state"], row["attempts"], row["dedup_key"]) == ("sent", 1, key)
    assert row["sent_at"] is not None and row["last_error"] is None


async def test_an_issued_invoice_mail_carries_its_pdf_and_a_rerun_queues_nothing(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    w = await World(engine).setup()
    await w.subscriber("A", language="sv")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)  # 112.50 NOK with VAT
    await run_billing(engine, OCT)
    (queued,) = await mails(engine)
    assert queued["kind"] == "invoice_issued" and queued["state"] == "pending"
    assert queued["dedup_key"] == "invoice_issued:OSLO:OSL-000001"
    assert queued["attachments"] == [{"invoice_number": "OSL-000001"}]
    sender = sender_for(engine, smtp.port, clock)
    assert await sender.drain_once() == 1
    (msg,) = smtp.messages
    assert msg["To"] == "a@example.no" and msg["Subject"] == "Faktura OSL-000001 från OSLO"
    text = msg.get_body(("plain",)).get_content()
    assert "oktober 2026" in text and "112,50" in text
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "OSL-000001.pdf"
    assert pdf_pages(attachment.get_content()) >= 1
    # the same month again: no invoice, no mail
    report = await run_billing(engine, OCT)
    assert report.invoices == 0
    assert len(await mails(engine)) == 1
    assert await sender.drain_once() == 0 and len(smtp.messages) == 1


async def test_a_rolled_back_event_queues_no_mail(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await admin.add_site(conn, admin.SiteInput("S1", "Europe/Oslo", "NOK", 2500, "basic"))
            await subscriber_service.invite(
                conn, CLI, "S1", "bo@example.no", link_base="https://charge.test"
            )
            raise RuntimeError("the request failed after the invitation")
    assert await mails(engine) == []


async def test_reminder_and_payment_mails(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    w = await World(engine).setup()
    await w.subscriber("A", language="fr")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    due = inv["due_at"]
    await daily(engine, due + timedelta(days=15))
    await daily(engine, due + timedelta(days=15, hours=1))  # the same day again: nothing new
    async with engine.begin() as conn:
        await record_offline_payment(
            conn, "OSL-000001", "50.00", date(2026, 12, 30), "bank", actor="cli"
        )
    kinds = [(m["kind"], m["dedup_key"]) for m in await mails(engine)]
    assert kinds[:2] == [
        ("invoice_issued", "invoice_issued:OSLO:OSL-000001"),
        ("reminder", "reminder:OSLO:OSL-000001:1"),
    ]
    assert kinds[2][0] == "payment_received" and len(kinds) == 3
    clock.at = max(clock.at, due + timedelta(days=16))  # a mail is due from its event's time
    sender = sender_for(engine, smtp.port, clock)
    assert await sender.drain_once() == 3
    by_subject = {m["Subject"]: m for m in smtp.messages}
    invoice_mail = by_subject["Facture OSL-000001 de OSLO"]
    reminder = by_subject["Relance 1 : la facture OSL-000001 est impayée"]
    receipt = by_subject["Paiement reçu pour la facture OSL-000001"]
    (pdf,) = list(reminder.iter_attachments())
    assert pdf.get_filename() == "OSL-000001-reminder-1.pdf"
    assert pdf_pages(pdf.get_content()) >= 1
    assert pdf.get_content() != next(invoice_mail.iter_attachments()).get_content()
    assert "50,00" in receipt.get_body(("plain",)).get_content() and not list(
        receipt.iter_attachments()
    )


async def test_a_restarted_sender_never_resends_a_sent_mail(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    await invite(engine, "one@example.no")
    await sender_for(engine, smtp.port, clock).drain_once()
    assert len(smtp.messages) == 1
    # a sender that died after claiming a mail and before the server heard of it
    await invite(engine, "two@example.no")
    dying = sender_for(engine, smtp.port, clock)
    (claimed,) = [m for m in await mails(engine) if m["state"] == "pending"]
    assert await dying._claim(claimed, clock())
    restarted = sender_for(engine, smtp.port, clock)
    assert await restarted.drain_once() == 0  # sent mail: never again; claimed one: not yet due
    assert len(smtp.messages) == 1
    clock.advance(seconds=61)  # the claim's backoff is over: the second mail goes, once
    assert await restarted.drain_once() == 1
    assert await sender_for(engine, smtp.port, clock).drain_once() == 0
    first, second = smtp.messages
    assert (first["To"], second["To"]) == ("one@example.no", "two@example.no")
    rows_ = await mails(engine)
    assert [(m["state"], m["attempts"]) for m in rows_] == [("sent", 1), ("sent", 2)]
    assert second["Message-ID"] == rows_[1]["message_id"]


async def test_smtp_down_is_retried_later_and_delivered_once(
    engine: AsyncEngine, clock: Clock
) -> None:
    server = SmtpServer()  # a port nothing listens on yet
    await invite(engine)
    sender = sender_for(engine, server.port, clock)
    assert await sender.drain_once() == 1
    (row,) = await mails(engine)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert f"127.0.0.1:{server.port}" in row["last_error"]
    clock.advance(seconds=30)
    assert await sender.drain_once() == 0  # waits its backoff (60 s after the first attempt)
    server.start()
    try:
        clock.advance(seconds=31)
        assert await sender.drain_once() == 1
        assert await sender.drain_once() == 0
        clock.advance(hours=5)
        assert await sender.drain_once() == 0
        assert len(server.messages) == 1
        (row,) = await mails(engine)
        assert (row["state"], row["attempts"]) == ("sent", 2)
    finally:
        server.stop()


async def test_a_refused_recipient_fails_with_its_error(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    smtp.inbox.refuse["nobody@example.no"] = "550 5.1.1 <nobody@example.no>: no such user"
    smtp.inbox.refuse["busy@example.no"] = "451 4.3.0 mailbox busy, try later"
    await invite(engine, "nobody@example.no")
    await invite(engine, "busy@example.no")
    await invite(engine, "fine@example.no")
    sender = sender_for(engine, smtp.port, clock, max_attempts=3)
    for _ in range(5):
        await sender.drain_once()
        clock.advance(hours=1)
    nobody, busy, fine = await mails(engine)
    # a permanent refusal (5xx) fails at once; a transient one after max_attempts
    assert (nobody["state"], nobody["attempts"]) == ("failed", 1)
    assert "550" in nobody["last_error"] and "no such user" in nobody["last_error"]
    assert (busy["state"], busy["attempts"]) == ("failed", 3)
    assert "451" in busy["last_error"]
    assert fine["state"] == "sent"
    assert [m["To"] for m in smtp.messages] == ["fine@example.no"]
    # the operator fixes it and retries: delivered once; a sent mail cannot be retried
    del smtp.inbox.refuse["busy@example.no"]
    async with engine.begin() as conn:
        again = await mail_service.retry(conn, CLI, busy["id"])
        assert (again["state"], again["attempts"]) == ("pending", 0)
        with pytest.raises(Conflict):
            await mail_service.retry(conn, CLI, fine["id"])
    assert await sender.drain_once() == 1
    assert [m["To"] for m in smtp.messages] == ["fine@example.no", "busy@example.no"]


async def test_the_cli_lists_and_retries(engine: AsyncEngine, db_url: str) -> None:
    await invite(engine, "x@example.no")
    async with engine.begin() as conn:
        await conn.execute(update(mail_outbox).values(state="failed", last_error="550 gone"))
    (row,) = await mails(engine)

    async def cli(*args: str) -> Any:
        return await asyncio.to_thread(
            subprocess.run,
            [*evgate_command(), "mail", *args],
            env={**os.environ, "EVGATE_DATABASE_URL": db_url},
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = await cli("list", "--state", "failed")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{row['id']}\tfailed\tinvitation\tS1\tx@example.no")
    assert "550 gone" in listed.stdout
    assert (await cli("list", "--state", "sent")).stdout == ""
    retried = await cli("retry", str(row["id"]))
    assert retried.returncode == 0 and "pending again" in retried.stdout
    (row,) = await mails(engine)
    assert (row["state"], row["attempts"]) == ("pending", 0)
    missing = await cli("retry", "999")
    assert missing.returncode != 0 and missing.stderr.strip().endswith(
        "no mail 999: see `evgate mail list`"
    )
    assert len(missing.stderr.strip().splitlines()) == 1


async def test_the_sender_works_one_instance_at_a_time(
    engine: AsyncEngine, smtp: SmtpServer, clock: Clock
) -> None:
    """Two senders on one database (two instances): every mail arrives once."""
    for i in range(6):
        await invite(engine, f"m{i}@example.no")
    a = sender_for(engine, smtp.port, clock, idle_poll=0.05)
    b = sender_for(engine, smtp.port, clock, idle_poll=0.05)
    a.start()
    b.start()
    try:
        for _ in range(200):
            if len(smtp.messages) >= 6:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await a.close()
        await b.close()
    assert sorted(m["To"] for m in smtp.messages) == [f"m{i}@example.no" for i in range(6)]
    assert {m["state"] for m in await mails(engine)} == {"sent"}


async def test_a_declined_card_and_a_card_payment_each_queue_their_mail(
    engine: AsyncEngine,
) -> None:
    from billing.stripe_payments import record_outcome

    w = await World(engine).setup()
    await w.subscriber("A", language="da", payment_method="stripe")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    ids = []
    async with engine.begin() as conn:
        for attempt in (1, 2):
            ids.append(
                await bs.insert_payment(
                    conn,
                    {
                        "invoice_id": inv["id"],
                        "method": "stripe",
                        "status": "pending",
                        "amount": inv["total"],
                        "currency": "NOK",
                        "attempt": attempt,
                        "idempotency_key": f"invoice-{inv['id']}-attempt-{attempt}",
                        "created_at": NOW,
                        "updated_at": NOW,
                    },
                )
            )
    await record_outcome(engine, ids[0], "failed", "Your card was declined.", "pi_1")
    await record_outcome(engine, ids[0], "failed", "Your card was declined.", "pi_1")  # again
    await record_outcome(engine, ids[1], "succeeded", None, "pi_2")
    queued = {m["kind"]: m for m in await mails(engine)}
    assert set(queued) == {"invoice_issued", "card_declined", "payment_received"}
    declined = queued["card_declined"]
    assert declined["dedup_key"] == f"card_declined:OSLO:{ids[0]}"
    assert declined["subject"] == "Dit kort blev afvist for faktura OSL-000001"
    assert "Your card was declined." in declined["text_body"] and "112,50" in declined["text_body"]
    receipt = queued["payment_received"]
    assert receipt["dedup_key"] == f"payment_received:OSLO:{ids[1]}"
    assert "Resterende beløb: 0,00" in receipt["text_body"]
