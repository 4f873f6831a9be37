"""One error vocabulary (store/errors.py), mapped once to HTTP and once to the CLI; and the
composition root building Stripe from Settings alone."""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from billing.errors import BillingError, NotFoundError
from billing.months import PeriodError
from billing.stripe_payments import StripeSettings
from config import compose
from config.api import errors
from config.cli import _is_user_error, main
from config.commands.common import USER_ERRORS
from config.settings import Settings, SettingsError
from gateway.auth import PasswordError
from gateway.connection import CommandError
from store.admin import Conflict, NotFound, ValidationError
from store.db import StoreError, create_engine
from store.errors import EvgateError, Forbidden, Gone, Invalid
from store.subscribers import InvitationExpired
from tariffs import TariffError

CASES: list[tuple[Exception, int]] = [
    (ValidationError("bad id"), 422),
    (PasswordError("short"), 422),
    (SettingsError("bad port"), 422),
    (BillingError("already credited"), 422),
    (PeriodError("not YYYY-MM"), 422),
    (TariffError("elements[0].price", "is negative"), 422),
    (NotFound("no site 'X'"), 404),
    (NotFoundError("no invoice 'OSL-1'"), 404),
    (Conflict("exists already"), 409),
    (InvitationExpired("expired"), 410),
    (Forbidden("read only"), 403),
    (CommandError("offline", "not connected"), 409),
    (CommandError("timeout", "no answer"), 504),
    (CommandError("rejected", "CallError"), 502),
]


def test_domain_errors_are_kinds() -> None:
    assert issubclass(BillingError, Invalid) and issubclass(BillingError, ValueError)
    assert issubclass(NotFoundError, NotFound) and issubclass(NotFoundError, LookupError)
    assert issubclass(InvitationExpired, Gone) and issubclass(Gone, Conflict)
    for kind in (PeriodError, PasswordError, SettingsError, ValidationError):
        assert issubclass(kind, Invalid)
    assert issubclass(StoreError, EvgateError)
    assert issubclass(TariffError, ValueError) and not issubclass(TariffError, EvgateError)


@pytest.mark.parametrize(("exc", "status"), CASES, ids=[type(e).__name__ for e, _ in CASES])
async def test_one_http_mapping(exc: Exception, status: int) -> None:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == status
    body = response.json()
    assert body["detail"] == str(exc)
    assert body.get("field") == ("elements[0].price" if isinstance(exc, TariffError) else None)


@pytest.mark.parametrize(("exc", "status"), CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_one_cli_mapping(exc: Exception, status: int) -> None:
    args = argparse.Namespace(user_errors=USER_ERRORS)  # what add_database_flag sets
    assert _is_user_error(exc, args) is not isinstance(exc, CommandError)  # no command from CLI
    assert not _is_user_error(RuntimeError("a bug keeps its traceback"), args)


def test_cli_prints_a_store_error_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/e.db"
    site = ("--tz", "Moon/Base", "--currency", "NOK", "--vat", "25", "--database-url", url)
    assert main(["sites", "add", "X", *site]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evgate: unknown time zone 'Moon/Base'")


def test_stripe_is_built_from_settings_alone() -> None:
    env = {
        "EVGATE_STRIPE_API_KEY": "sk_test_x",
        "EVGATE_STRIPE_WEBHOOK_SECRET": "whsec_x",
        "EVGATE_STRIPE_API_BASE": "http://127.0.0.1:8420",
    }
    settings = Settings.load(env=env)
    assert compose.stripe_settings(settings) == StripeSettings(
        "sk_test_x", "whsec_x", "http://127.0.0.1:8420"
    )
    assert compose.payer(settings) is not None
    assert "sk_test_x" not in repr(settings) and "whsec_x" not in repr(settings)
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    app = compose.api_app(settings, engine)
    assert app.state.billing_stripe == compose.stripe_settings(settings)

    none = Settings.load(env={"EVGATE_STRIPE_API_KEY": ""})
    assert compose.stripe_settings(none) is None and compose.payer(none) is None
    assert compose.api_app(none, engine).state.billing_stripe is None
