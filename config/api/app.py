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
    chargers,
    commands,
    invitations,
    sessions,
    sites,
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
) -> FastAPI:
    """The API over ``engine``; ``registry`` is the in-process gateway's (None: no gateway).

    ``stripe``: the webhook secret and autopay client settings (config.compose builds them
    from Settings); None: no autopay, and webhooks are refused. ``max_body``: the most a
    request body may hold (config.api.guard: larger is 413, and a route that needs a token
    refuses a caller without one before reading any of it).
    """
    app = FastAPI(title="evgate config API", version="1.0.0", description=DESCRIPTION)
    ctx = ApiContext(
        engine=engine,
        registry=registry if registry is not None else ConnectionRegistry(),
        command_timeout=command_timeout,
        invitation_base_url=invitation_base_url,
        commands=command_sender,
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
        tariffs,
        subscribers,
        invitations,
        sessions,
        audit_log,
        api_tokens,
        activity,
    ):
        app.include_router(module.router)
    app.include_router(billing_routes.router)
    app.add_middleware(RequestGuard, api=app, max_body=max_body)
    return app
