"""The config API application: routers, error bodies, metrics, OpenAPI at /docs."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.stripe_payments import StripeSettings
from config.api import billing_routes, errors, metrics
from config.api.context import ApiContext, CommandSender
from config.api.guard import DEFAULT_MAX_BODY, RequestGuard
from config.api.routers import (
    activity,
    api_tokens,
    audit_log,
    avtalegiro,
    balances,
    cards,
    chargers,
    commands,
    firmware,
    invitations,
    local_list,
    mail,
    manual_invoices,
    payments,
    plans,
    sessions,
    sites,
    smart_charging,
    subscribers,
    tariffs,
)
from config.billing_jobs import BillingJobs
from gateway.connection import ConnectionRegistry

DESCRIPTION = """\
How a site's super-admin runs evgate: sites, chargers (live state, approval, passwords,
tariffs, **monthly-payment mode**), versioned OCPI 2.2.1 tariffs, subscribers and their
invitations, sessions with their price, and remote commands to connected chargers.

Authenticate with `Authorization: Bearer <token>`; the first token comes from
`evgate admin create-token --role super-admin`. Errors are `{"detail": "<one sentence>"}`
(with `field` on a 422): 422 invalid input, 404 not found, 409 conflict with what is stored,
410 an expired invitation, 403 not allowed for this token, 401 no or an unknown token.
"""


def create_app(
    engine: AsyncEngine,
    registry: ConnectionRegistry | None = None,
    *,
    command_timeout: float = 30.0,
    invitation_base_url: str | None = None,
    command_sender: CommandSender | None = None,
    stripe: StripeSettings | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    public_url: str | None = None,
    diagnostics_dir: str = "var/diagnostics",
    diagnostics_max_bytes: int = 20 * 1024 * 1024,
) -> FastAPI:
    """The API over ``engine``; ``registry`` is the in-process gateway's (None: no gateway).

    ``stripe``: the webhook secret and autopay client settings (config.compose builds them
    from Settings); None: no autopay, and webhooks are refused. ``max_body``: the most a
    request body may hold (config.api.guard: larger is 413, and a route that needs a token
    refuses a caller without one before reading any of it). ``public_url``: where chargers
    reach this API, for the diagnostics upload URL (None: the request's own base URL);
    uploads are kept under ``diagnostics_dir``, at most ``diagnostics_max_bytes`` each.
    """
    app = FastAPI(title="evgate config API", version="1.0.0", description=DESCRIPTION)
    ctx = ApiContext(
        engine=engine,
        registry=registry if registry is not None else ConnectionRegistry(),
        command_timeout=command_timeout,
        invitation_base_url=invitation_base_url,
        commands=command_sender,
        public_url=public_url,
        diagnostics_dir=diagnostics_dir,
        diagnostics_max_bytes=diagnostics_max_bytes,
    )
    app.state.evgate = ctx
    app.state.billing_stripe = stripe
    # billing runs in processes of their own (config.billing_jobs), on this database
    app.state.billing_jobs = BillingJobs(engine, engine.url.render_as_string(hide_password=False))
    metrics.install(app.state, ctx)
    errors.install(app)
    app.include_router(metrics.router)
    for module in (
        sites,
        chargers,
        commands,
        firmware,
        smart_charging,
        local_list,
        tariffs,
        subscribers,
        invitations,
        plans,
        manual_invoices,
        balances,
        sessions,
        audit_log,
        api_tokens,
        payments,
        avtalegiro,
        cards,
        mail,
        activity,
    ):
        app.include_router(module.router)
    app.include_router(billing_routes.router)
    app.include_router(firmware.uploads)
    app.add_middleware(RequestGuard, api=app, max_body=max_body)
    return app
