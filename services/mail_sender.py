"""The mail sender inside `evgate serve`: claim due mails, send them over SMTP, mark them sent.

One sender works across instances (store.locks, PostgreSQL advisory lock, as the outbox
publisher and the billing scheduler). Each mail is claimed before it is sent, in a
transaction of its own: one attempt more, its next attempt pushed out by the backoff, its
Message-ID fixed. Then the message is built (PDF attachments rendered from their references
through billing.views.pdf_of), handed to the SMTP server, and marked sent once the server
accepted it (250). A mail marked sent is never sent again.

The one window: the server accepted the mail and the process died before the commit that
marks it sent. The claim has pushed its next attempt out, so it is sent again then, with the
same Message-ID (mail.message.message_id: the dedup key and the mail domain). A server or
network that is down counts an attempt for each due mail and retries with exponential backoff;
a permanent refusal (5xx to the recipient or the message) fails the mail at once; after
``max_attempts`` a mail is ``failed`` with its last error, and `evgate mail retry ID` (or the
API) makes it due again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.views import PdfInputs, pdf_inputs, render_pdf
from mail.message import attachment_name, build, message_id
from store import locks, mail_store

log = logging.getLogger("evgate.mail")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 0  # 0: 465 with implicit TLS, 587 with STARTTLS, 25 without
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"  # starttls | tls | none
    sender: str = "evgate@localhost"  # the From: address
    domain: str = "localhost"  # the right side of every Message-ID
    timeout: float = 30.0

    @property
    def server_port(self) -> int:
        if self.port:
            return self.port
        return {"tls": 465, "starttls": 587}.get(self.security, 25)


def _now() -> datetime:
    return datetime.now(UTC)


class Permanent(Exception):
    """This mail cannot be sent as it is (refused recipient, missing invoice): fail it now."""


def _is_permanent(exc: BaseException) -> bool:
    """RFC 5321: a 5yz reply to the recipient or to the message itself will not change."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return 500 <= exc.code < 600
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class MailSender:
    def __init__(
        self,
        engine: AsyncEngine,
        smtp: SmtpSettings,
        *,
        batch: int = 50,
        idle_poll: float = 5.0,
        max_attempts: int = 12,
        backoff: float = 30.0,
        backoff_cap: float = 3600.0,
        clock: Callable[[], datetime] = _now,
        pdf_process: bool = True,
    ) -> None:
        self.engine, self.smtp = engine, smtp
        self.batch, self.idle_poll = batch, idle_poll
        self.max_attempts = max_attempts
        self.backoff, self.backoff_cap = backoff, backoff_cap
        self.clock = clock
        # a PDF costs about a quarter of a second of CPU: drawn in a process of its own, as a
        # billing run is, so neither the API's loop nor the OCPP loop's share of the
        # interpreter waits for it (False: in this process, in a thread)
        self.pdf_process = pdf_process
        self._pool: ProcessPoolExecutor | None = None
        self.sent = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="evgate-mail-sender")

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _draw(self, inputs: PdfInputs) -> bytes:
        loop = asyncio.get_running_loop()
        if not self.pdf_process:
            return await asyncio.to_thread(render_pdf, inputs)
        if self._pool is None:  # spawned, not forked: `evgate serve` runs threads
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await loop.run_in_executor(self._pool, render_pdf, inputs)
        except BrokenProcessPool:  # the drawing process died: a new one next time
            self._pool = None
            raise

    def delay(self, attempts: int) -> timedelta:
        """How long after attempt ``attempts`` (1, 2, ...) the next one is due."""
        seconds = min(self.backoff * 2 ** max(attempts - 1, 0), self.backoff_cap)
        return timedelta(seconds=seconds)

    async def _run(self) -> None:
        pause = 1.0
        while True:
            try:
                async with locks.held(self.engine, locks.MAIL_SENDER) as mine:
                    if not mine:  # another instance sends
                        await asyncio.sleep(5)
                        continue
                    pause = 1.0
                    while True:
                        if await self.drain_once() < self.batch:
                            self._wake.clear()
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._wake.wait(), self.idle_poll)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: mails wait in the outbox
                log.warning("mail sender paused", extra={"reason": str(exc), "retry_s": pause})
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60)

    def _client(self) -> aiosmtplib.SMTP:
        s = self.smtp
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.server_port,
            username=s.user or None,
            password=s.password or None,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            timeout=s.timeout,
        )

    async def drain_once(self) -> int:
        """One pass over the due mails (at most ``batch``); how many were due."""
        now = self.clock()
        async with self.engine.connect() as conn:
            due = await mail_store.due(conn, now, self.batch)
        if not due:
            return 0
        client = self._client()
        try:
            await client.connect()
        except (OSError, aiosmtplib.SMTPException) as exc:
            reason = f"SMTP server {self.smtp.host}:{self.smtp.server_port}: {_describe(exc)}"
            log.warning("mail server unreachable", extra={"reason": reason, "due": len(due)})
            for mail in due:  # each counts an attempt and waits its backoff
                if await self._claim(mail, now):
                    await self._failed(mail, reason, now, permanent=False)
            return len(due)
        try:
            for mail in due:
                if not await self._claim(mail, now):
                    continue
                try:
                    message = await self._message(mail, now)
                except Exception as exc:  # noqa: BLE001 - recorded: the attempts cap applies
                    permanent = isinstance(exc, Permanent)
                    if not permanent:
                        log.exception("mail %s could not be built", mail["id"])
                    await self._failed(mail, _describe(exc), now, permanent=permanent)
                    continue
                try:
                    await client.send_message(message)
                except (OSError, aiosmtplib.SMTPException) as exc:
                    permanent = _is_permanent(exc)
                    await self._failed(mail, _describe(exc), now, permanent=permanent)
                    if not permanent and not client.is_connected:
                        break  # the rest wait for the next pass
                    continue
                async with self.engine.begin() as conn:
                    await mail_store.mark_sent(conn, mail["id"], self.clock())
                self.sent += 1
                log.info(
                    "mail sent",
                    extra={"mail_id": mail["id"], "kind": mail["kind"], "site": mail["site_id"]},
                )
        finally:
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()
        return len(due)

    async def _claim(self, mail: dict[str, Any], now: datetime) -> bool:
        """One attempt more, committed before the server hears of it (see the module doc)."""
        mail["attempts"] = int(mail["attempts"]) + 1
        mail["message_id"] = mail["message_id"] or message_id(mail["dedup_key"], self.smtp.domain)
        until = now + self.delay(mail["attempts"])
        async with self.engine.begin() as conn:
            return await mail_store.claim(conn, mail["id"], now, until, mail["message_id"])

    async def _failed(
        self, mail: dict[str, Any], error: str, now: datetime, *, permanent: bool
    ) -> None:
        attempts = int(mail["attempts"])
        give_up = permanent or attempts >= self.max_attempts
        retry_at = None if give_up else now + self.delay(attempts)
        async with self.engine.begin() as conn:
            await mail_store.mark_attempt_failed(conn, mail["id"], error, retry_at)
        log.warning(
            "mail failed" if give_up else "mail not sent, will retry",
            extra={"mail_id": mail["id"], "attempts": attempts, "reason": error},
        )

    async def _message(self, mail: dict[str, Any], now: datetime) -> EmailMessage:
        files: list[tuple[str, bytes]] = []
        for ref in mail["attachments"] or []:
            try:
                async with self.engine.connect() as conn:
                    inputs = await pdf_inputs(conn, str(ref["invoice_number"]), ref.get("reminder"))
            except LookupError as exc:  # the invoice is gone: no later attempt finds it
                raise Permanent(f"attachment {attachment_name(ref)}: {exc}") from exc
            files.append((attachment_name(ref), await self._draw(inputs)))
        return build(mail, self.smtp.sender, now, files)
