"""`evgate serve` sends the mail outbox over SMTP: a real server process, a real SMTP server on
loopback, SIGKILL and a restart in between; and without an SMTP host it says so once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pypdfium2
import pytest

from store import migrate
from store.db import create_engine
from tests.support.server_process import ServeProcess, add_business_site, run_cli
from tests.support.smtp import SmtpServer
from tests.unit.billing.billing_testkit import World, local


def wait_for_api(base: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the config API did not come up")


def sent_mails(db_url: str) -> list[str]:
    return run_cli("mail", "list", "--state", "sent", db_url=db_url).stdout.splitlines()


def wait_until_sent(db_url: str, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(sent_mails(db_url)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"not {count} mails marked sent: {sent_mails(db_url)}")
        time.sleep(0.1)


def invite(server: ServeProcess, token: str, email: str) -> dict:
    response = httpx.post(
        f"http://127.0.0.1:{server.api_port}/api/v1/sites/S1/invitations",
        json={"email": email, "language": "da"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def smtp_env(monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> None:
    for name, value in {
        "EVGATE_SMTP_HOST": "127.0.0.1",
        "EVGATE_SMTP_PORT": str(smtp.port),
        "EVGATE_SMTP_TLS": "none",
        "EVGATE_MAIL_FROM": "noreply@charge.test",
        "EVGATE_PUBLIC_URL": "https://charge.test",
    }.items():
        monkeypatch.setenv(name, value)


async def test_serve_sends_each_mail_once_across_a_kill(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = SmtpServer().start()
    smtp_env(monkeypatch, smtp)
    add_business_site(db_url)
    token = run_cli("admin", "create-token", "--role", "super-admin", db_url=db_url).stdout.strip()
    server = ServeProcess(db_url, tmp_path / "serve.log")
    server.start()
    try:
        await asyncio.to_thread(wait_for_api, f"http://127.0.0.1:{server.api_port}")
        first = await asyncio.to_thread(invite, server, token, "first@example.dk")
        (msg,) = await asyncio.to_thread(smtp.wait_for, 1)
        assert msg["To"] == "first@example.dk" and msg["From"] == "noreply@charge.test"
        assert msg["Message-ID"].endswith("@charge.test>")
        body = msg.get_body(("plain",)).get_content()  # the text part (an HTML one beside it)
        assert f"https://charge.test/invite/{first['token']}" in body
        assert body.startswith("Hej,")  # Danish, no name given
        # killed once the mail is marked sent (the mail accepted but not yet marked is the
        # one window in which it goes again, with its Message-ID: services.mail_sender)
        await asyncio.to_thread(wait_until_sent, db_url, 1)
        server.kill(signal.SIGKILL)
        server.start()  # the same ports and database
        await asyncio.to_thread(wait_for_api, f"http://127.0.0.1:{server.api_port}")
        await asyncio.to_thread(invite, server, token, "second@example.dk")
        arrived = await asyncio.to_thread(smtp.wait_for, 2)
        await asyncio.sleep(6)  # longer than the sender's idle poll: a resend would be here
        assert [m["To"] for m in arrived] == ["first@example.dk", "second@example.dk"]
        assert [m["To"] for m in smtp.messages] == ["first@example.dk", "second@example.dk"]
        await asyncio.to_thread(wait_until_sent, db_url, 2)
        assert len(sent_mails(db_url)) == 2
    finally:
        server.stop()
        smtp.stop()


async def test_serve_without_an_smtp_host_queues_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVGATE_SMTP_HOST", raising=False)
    db = f"sqlite+aiosqlite:///{tmp_path}/evgate.db"
    add_business_site(db)
    token = run_cli("admin", "create-token", "--role", "super-admin", db_url=db).stdout.strip()
    server = ServeProcess(db, tmp_path / "serve.log")
    server.start()
    try:
        await asyncio.to_thread(wait_for_api, f"http://127.0.0.1:{server.api_port}")
        await asyncio.to_thread(invite, server, token, "waits@example.dk")
    finally:
        assert server.stop() == 0
    log = (tmp_path / "serve.log").read_text()
    assert log.count("no EVGATE_SMTP_HOST set") == 1, log[-2000:]
    (row,) = run_cli("mail", "list", db_url=db).stdout.splitlines()
    assert "\tpending\tinvitation\tS1\twaits@example.dk\tattempts 0" in row


async def test_an_invoice_of_the_billing_command_is_mailed_by_serve_with_its_pdf(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`evgate bill` (a process of its own) queues; `evgate serve` draws the PDF and sends."""
    engine = create_engine(db_url)
    try:
        await migrate.upgrade(engine)
        w = await World(engine).setup()
        await w.subscriber("A", language="nb")
        await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    finally:
        await engine.dispose()
    run_cli("bill", "--month", "2026-10", db_url=db_url)
    run_cli("bill", "--month", "2026-10", db_url=db_url)  # again: nothing new to mail
    smtp = SmtpServer().start()
    smtp_env(monkeypatch, smtp)
    server = ServeProcess(db_url, tmp_path / "serve.log")
    server.start()
    try:
        (msg,) = await asyncio.to_thread(smtp.wait_for, 1, 60)
        await asyncio.sleep(6)
        assert len(smtp.messages) == 1
    finally:
        code = server.stop()
        smtp.stop()
    assert code == 0  # and the PDF process went with it
    assert msg["To"] == "a@example.no" and msg["Subject"] == "Faktura OSL-000001 fra OSLO"
    (pdf,) = list(msg.iter_attachments())
    data = pdf.get_content()
    assert pdf.get_filename() == "OSL-000001.pdf" and data.startswith(b"%PDF-")
    doc = pypdfium2.PdfDocument(data)
    try:
        assert "OSL-000001" in doc[0].get_textpage().get_text_range()
    finally:
        doc.close()
