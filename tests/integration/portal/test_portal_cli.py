"""`evgate portal add-user` (password from stdin, never a flag) and `portal sign-in-link`."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from sqlalchemy import select

from config.cli import main
from gateway.auth import verify_secret
from store import migrate
from store.db import create_engine
from store.portal_schema import portal_sign_in_links, portal_users
from store.schema import audit_log


def cli(url: str, monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*args, "--database-url", url])


async def _rows(url: str, table: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(select(table))).mappings()]
    finally:
        await engine.dispose()


def rows(url: str, table: Any) -> list[dict[str, Any]]:
    return asyncio.run(_rows(url, table))


def test_add_user_reads_the_password_from_stdin_and_refuses_bad_input(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = "a-long-enough-password\n"
    assert (
        main(
            [
                "sites",
                "add",
                "S1",
                "--tz",
                "Europe/Oslo",
                "--currency",
                "NOK",
                "--vat",
                "25",
                "--plan",
                "business",
                "--database-url",
                db_url,
            ]
        )
        == 0
    )
    args = ("portal", "add-user", "Ann@Example.no", "--role", "admin", "--site", "S1")
    assert cli(db_url, monkeypatch, pw, *args, "--password-stdin", "--language", "nb") == 0
    assert "portal user 1: ann@example.no, admin of site S1" in capsys.readouterr().out
    (user,) = rows(db_url, portal_users)
    assert (user["email"], user["role"], user["site_id"], user["language"]) == (
        "ann@example.no",
        "admin",
        "S1",
        "nb",
    )
    assert verify_secret("a-long-enough-password", user["password_hash"])
    actions = [r["action"] for r in rows(db_url, audit_log)]
    assert "portal_user.create" in actions
    # each refusal: exit 2 and one line naming the problem
    cases = [
        ((*args, "--password-stdin"), pw, "exists already"),
        (
            ("portal", "add-user", "b@example.no", "--role", "admin", "--password-stdin"),
            pw,
            "needs a site",
        ),
        (
            (
                "portal",
                "add-user",
                "b@example.no",
                "--role",
                "admin",
                "--site",
                "S1",
                "--password-stdin",
            ),
            "short\n",
            "12 to 200 characters",
        ),
        (
            ("portal", "add-user", "not-an-email", "--role", "super-admin", "--password-stdin"),
            pw,
            "is not an e-mail address",
        ),
        (
            (
                "portal",
                "add-user",
                "b@example.no",
                "--role",
                "admin",
                "--site",
                "S9",
                "--password-stdin",
            ),
            pw,
            "no site 'S9'",
        ),
        (("portal", "add-user", "b@example.no", "--role", "super-admin"), "", "--password-stdin"),
    ]
    for argv, stdin, words in cases:
        assert cli(db_url, monkeypatch, stdin, *argv) == 2, argv
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    assert len(rows(db_url, portal_users)) == 1


def test_sign_in_link_prints_a_one_time_url(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.api.conftest import add_subscriber

    async def seed() -> int:
        engine = create_engine(db_url)
        try:
            await migrate.upgrade(engine)
            from store import admin

            async with engine.begin() as conn:
                await admin.add_site(
                    conn, admin.SiteInput("S1", "Europe/Oslo", "NOK", 2500, "business")
                )
                return await add_subscriber(conn, "S1", "TAG1")
        finally:
            await engine.dispose()

    sid = asyncio.run(seed())
    monkeypatch.setenv("EVGATE_PUBLIC_URL", "https://portal.example.no/")
    assert cli(db_url, monkeypatch, "", "portal", "sign-in-link", str(sid)) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://portal.example.no/s/sl_") and len(url) > 60
    (link,) = rows(db_url, portal_sign_in_links)
    assert link["subscriber_id"] == sid and link["used_at"] is None
    assert url.rsplit("/", 1)[1] not in str(link)  # only its hash is stored
    assert cli(db_url, monkeypatch, "", "portal", "sign-in-link", "999") == 2
    assert "no subscriber 999" in capsys.readouterr().err
