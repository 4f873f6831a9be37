"""The composition root: what `evgate serve`, the CLI and the config API are built from.

Everything here is made from one ``Settings`` (flags over EVGATE_* variables over defaults),
so a part never reads the environment itself and each is built the same way wherever it is
used: the engine, the Stripe client and payer (or None), the API application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.settings import Settings, SettingsError
from store.db import create_engine

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from billing.run import Payer
    from billing.stripe_payments import StripePayments, StripeSettings
    from config.api.context import CommandSender
    from gateway.connection import ConnectionRegistry
    from gateway.csr_signing import CsrSigner
    from services.mail_sender import MailSender

# billing/ and the API are imported where they are built, so `evgate sites add` stays quick


def engine(settings: Settings) -> AsyncEngine:
    """The database engine of ``settings.database_url`` (SQLite or PostgreSQL)."""
    return create_engine(settings.database_url)


def stripe_settings(settings: Settings) -> StripeSettings | None:
    """Stripe's key, webhook secret and API base; None when no key is set (no autopay)."""
    from billing.stripe_payments import StripeSettings

    if not settings.stripe_api_key:
        return None
    return StripeSettings(
        settings.stripe_api_key,
        settings.stripe_webhook_secret,
        settings.stripe_api_base or None,
        settings.stripe_publishable_key,
    )


def stripe_payments(settings: Settings) -> StripePayments | None:
    """The Stripe client (customers, cards, PaymentIntents); None without a key."""
    from billing.stripe_payments import StripePayments

    stripe = stripe_settings(settings)
    return StripePayments(stripe) if stripe is not None else None


def payer(settings: Settings) -> Payer | None:
    """What charges a period's autopay invoices through Stripe; None without a key."""
    payments = stripe_payments(settings)
    return payments.charge_period if payments is not None else None


def api_app(
    settings: Settings,
    engine: AsyncEngine,
    registry: ConnectionRegistry | None = None,
    *,
    command_sender: CommandSender | None = None,
) -> FastAPI:
    """The config API over ``engine``, with Stripe configured from ``settings``, and the
    web portal (portal/) served beside it."""
    from config.api import create_app  # FastAPI only for the commands that serve it
    from portal.app import install

    app = create_app(
        engine,
        registry,
        command_sender=command_sender,
        stripe=stripe_settings(settings),
        max_body=settings.api_max_body,
        public_url=settings.public_base,
        diagnostics_dir=settings.diagnostics_path,
        diagnostics_max_bytes=settings.diagnostics_max_bytes,
        invitation_base_url=settings.public_url,  # None: the address the API was called at
    )
    install(app, public_url=settings.public_url)  # the web portal at /, on the same port
    return app


def mail_sender(settings: Settings, engine: AsyncEngine) -> MailSender | None:
    """What sends the queued mails over SMTP; None without an SMTP host (they stay queued)."""
    if not settings.smtp_host:
        return None
    from services.mail_sender import MailSender, SmtpSettings

    smtp = SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
        security=settings.smtp_tls,
        sender=settings.sender_address,
        domain=settings.message_domain,
    )
    return MailSender(engine, smtp)


def csr_signer(settings: Settings) -> CsrSigner | None:
    """What signs 2.0.1 chargers' certificate renewals; None without a CA key configured."""
    if not settings.csms_ca_key:
        return None
    from gateway.csr_signing import CsrSigner

    assert settings.csms_ca_cert is not None  # Settings.check: both or neither
    try:
        return CsrSigner.load(settings.csms_ca_cert, settings.csms_ca_key, settings.csms_cert_days)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
