"""`evgate serve` sends the mail outbox over SMTP: a real server process, a real SMTP server on
loopback, SIGKILL and a restart in between; and without an SMTP host it says so once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server_process import ServeProcess, add_business_site, run_cli
from tests.support.smtp import SmtpServer


def wait_for_api(base: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the config API did not come up")


def invite(server: ServeProcess, token: str, email: str) -> dict:
    response = httpx.post(
        f"http://127.0.0.1:{server.api_port}/api/v1/sites/S1/invitations",
        json={"email": email, "language": "da"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_serve_sends_each_mail_once_across_a_kill(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = SmtpServer().start()
    for name, value in {
        "EVGATE_SMTP_HOST": "127.0.0.1",
        "EVGATE_SMTP_PORT": str(smtp.port),
        "EVGATE_SMTP_TLS": "none",
        "EVGATE_MAIL_FROM": "noreply@charge.test",
        "EVGATE_PUBLIC_URL": "https://charge.test",
    }.items():
        monkeypatch.setenv(name, value)
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
        assert f"https://charge.test/api/v1/invitations/{first['token']}" in msg.get_content()
        assert msg.get_content().startswith("Hej,")  # Danish, no name given
        server.kill(signal.SIGKILL)
        server.start()  # the same ports and database
        await asyncio.to_thread(wait_for_api, f"http://127.0.0.1:{server.api_port}")
        await asyncio.to_thread(invite, server, token, "second@example.dk")
        arrived = await asyncio.to_thread(smtp.wait_for, 2)
        await asyncio.sleep(6)  # longer than the sender's idle poll: a resend would be here
        assert [m["To"] for m in arrived] == ["first@example.dk", "second@example.dk"]
        assert [m["To"] for m in smtp.messages] == ["first@example.dk", "second@example.dk"]
        listed = run_cli("mail", "list", "--state", "sent", db_url=db_url).stdout.splitlines()
        assert len(listed) == 2
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
