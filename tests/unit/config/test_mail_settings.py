"""EVGATE_SMTP_* / EVGATE_MAIL_* / EVGATE_PUBLIC_URL: parsed, checked, and what they default to."""

from __future__ import annotations

import pytest

from config import compose
from config.settings import Settings, SettingsError
from store.db import create_engine


def test_defaults_and_derived_values() -> None:
    s = Settings.load(env={})
    assert (s.smtp_host, s.smtp_tls, s.sender_address, s.message_domain) == (
        None,
        "starttls",
        "evgate@localhost",
        "localhost",
    )
    s = Settings.load(env={"EVGATE_MAIL_FROM": "Fjord <billing@fjord.no>"})
    assert s.message_domain == "fjord.no" and s.sender_address == "Fjord <billing@fjord.no>"
    s = Settings.load(env={"EVGATE_MAIL_FROM": "a@b.no", "EVGATE_MAIL_DOMAIN": "mail.b.no"})
    assert s.message_domain == "mail.b.no"
    assert "hunter2" not in repr(Settings.load(env={"EVGATE_SMTP_PASSWORD": "hunter2"}))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EVGATE_SMTP_TLS": "ssl"}, "starttls, tls or none"),
        ({"EVGATE_SMTP_PORT": "70000"}, "not a TCP port"),
        ({"EVGATE_SMTP_PORT": "smtp"}, "whole number"),
        ({"EVGATE_MAIL_FROM": "billing"}, "must be an address"),
        ({"EVGATE_PUBLIC_URL": "charge.example.com"}, "https://"),
    ],
)
def test_bad_values_are_refused_with_a_reason(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(env=env)


async def test_a_sender_only_with_an_smtp_host(tmp_path: object) -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert compose.mail_sender(Settings.load(env={}), engine) is None
        settings = Settings.load(
            env={"EVGATE_SMTP_HOST": "smtp.fjord.no", "EVGATE_SMTP_TLS": "tls"}
        )
        sender = compose.mail_sender(settings, engine)
        assert sender is not None and sender.smtp.server_port == 465
        assert sender.smtp.host == "smtp.fjord.no" and sender.smtp.domain == "localhost"
    finally:
        await engine.dispose()
