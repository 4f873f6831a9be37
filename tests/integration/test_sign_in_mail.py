"""A subscriber's one-time sign-in link is queued as a mail in the link's own transaction,
once per link, in the subscriber's language."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.context import CLI
from services.portal_auth import issue_sign_in_link
from store import subscribers
from store.mail_schema import mail_outbox
from tests.unit.billing.billing_testkit import World, rows


async def test_a_sign_in_link_is_mailed_once_per_link(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    sid = await w.subscriber("A", language="nb")
    async with engine.begin() as conn:
        sub = await subscribers.get_subscriber(conn, sid)
        first = await issue_sign_in_link(conn, CLI, sub, "https://portal.example.no")
        second = await issue_sign_in_link(conn, CLI, sub, "https://portal.example.no")
    mails = await rows(engine, mail_outbox, mail_outbox.c.id)
    assert [m["kind"] for m in mails] == ["sign_in_link", "sign_in_link"]
    assert [m["recipient"] for m in mails] == ["a@example.no"] * 2
    assert first in mails[0]["text_body"] and second in mails[1]["text_body"]
    assert mails[0]["language"] == "nb" and mails[0]["subject"].startswith("Logg inn")
    async with engine.begin() as conn:  # a rolled-back link leaves no mail behind
        await issue_sign_in_link(conn, CLI, sub, "https://portal.example.no")
        await conn.rollback()
    assert len(await rows(engine, mail_outbox)) == 2
