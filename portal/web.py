"""The portal's plumbing: pages, cookies, CSRF, errors as pages.

Everything here is presentation: a page reads through store/ (as the API's GET routes do),
and every change goes through the use case the API calls (services/*), acting as the
signed-in user's ``services.context.Actor``, so roles, audit and events are the same.

Cookies: the session (a random value whose SHA-256 is the portal_sessions row), HttpOnly,
SameSite=Lax, Secure when the portal is reached over TLS (or EVGATE_PUBLIC_URL is https).
CSRF: double submit, a random ``evgate_csrf`` cookie that every form repeats in a hidden
field; a POST whose field is missing or differs is refused with a 403 page.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import local_forms
from portal import i18n
from services import portal_auth
from store.errors import Conflict, EvgateError, Forbidden, Gone, Invalid, NotFound

HERE = Path(__file__).parent
SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE = "evgate_portal", "evgate_csrf", "evgate_lang"
STATIC_PATH = "/static/portal"
MAX_FORM = 64 * 1024
# kinds, most specific first (Gone is a Conflict), as config/api/errors.py maps them
STATUS: tuple[tuple[type[EvgateError], int], ...] = (
    (Invalid, 422),
    (NotFound, 404),
    (Gone, 410),
    (Conflict, 409),
    (Forbidden, 403),
)

ROUTER = APIRouter(include_in_schema=False)


@dataclass
class Portal:
    """What install() leaves on app.state.portal."""

    signin: portal_auth.SignIn
    public_url: str | None
    env: jinja2.Environment = field(
        default_factory=lambda: jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    )


class CsrfRefused(Exception):
    """A POST without the form's CSRF token (or with another one)."""


class SignInNeeded(Exception):
    """A page for signed-in people only, asked for without a (live) session."""

    def __init__(self, where: str = "/sign-in") -> None:
        self.where = where


def state(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def engine(request: Request) -> AsyncEngine:
    eng: AsyncEngine = request.app.state.evgate.engine  # config.api.context.ApiContext
    return eng


def base_url(request: Request) -> str:
    return (state(request).public_url or str(request.base_url)).rstrip("/")


def secure(request: Request) -> bool:
    public = state(request).public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, **kw: Any) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=secure(request), path="/", **kw
    )


async def who(request: Request) -> dict[str, Any] | None:
    """The live session of this browser (with ``user`` or ``subscriber``), or None."""
    if "portal_session" not in request.scope.setdefault("state", {}):
        token = request.cookies.get(SESSION_COOKIE)
        found = None
        if token:
            async with engine(request).connect() as conn:
                found = await portal_auth.session_of(conn, token)
        request.scope["state"]["portal_session"] = found
    session: dict[str, Any] | None = request.scope["state"]["portal_session"]
    return session


async def user(request: Request) -> dict[str, Any]:
    session = await who(request)
    if session is None or session.get("user") is None:
        raise SignInNeeded()
    found: dict[str, Any] = session["user"]
    return found


async def subscriber(request: Request) -> dict[str, Any]:
    session = await who(request)
    if session is None or session.get("subscriber") is None:
        raise SignInNeeded("/my/sign-in")
    found: dict[str, Any] = session["subscriber"]
    return found


def language(request: Request, session: dict[str, Any] | None) -> str:
    if session is not None:
        person = session.get("user") or session.get("subscriber") or {}
        return i18n.language_of(person.get("language"))
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen:
        return i18n.language_of(chosen)
    accept = request.headers.get("accept-language", "")
    return i18n.language_of(accept.split(",")[0].split(";")[0].strip() or None)


async def form(request: Request) -> dict[str, str]:
    """The posted form's fields, after the CSRF check (CsrfRefused when it fails)."""
    body = await request.body()
    fields = {k: v[0] for k, v in parse_qs(body[:MAX_FORM].decode("utf-8", "replace")).items() if v}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = fields.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRefused()
    return fields


async def render(
    request: Request,
    template: str,
    status: int = 200,
    in_language: str | None = None,
    **values: Any,
) -> HTMLResponse:
    """The page in the signed-in person's language (or ``in_language``, or the browser's)."""
    session = await who(request)
    lang = i18n.language_of(in_language) if in_language else language(request, session)
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    html = (
        state(request)
        .env.get_template(template)
        .render(
            t=functools.partial(i18n.text, lang),
            lang=lang,
            languages=i18n.NAMES,
            csrf=csrf,
            me=session,
            path=request.url.path,
            static=STATIC_PATH,
            money=lambda minor, currency: local_forms.money(int(minor), currency, lang),
            kwh=lambda wh: local_forms.kwh(wh, lang),
            day=lambda dt, tz: local_forms.date(dt, tz, lang),
            time=lambda dt, tz: local_forms.time_of_day(dt, tz, lang),
            **values,
        )
    )
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        set_cookie(request, response, CSRF_COOKIE, csrf)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return await render(request, "error.html", status=status, message=message)


def status_of(exc: EvgateError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


Handler = Callable[..., Awaitable[Response]]


def page(handler: Handler) -> Handler:
    """A portal route: refused CSRF, a missing sign-in and the store's error kinds become
    pages (the API's JSON error mapping is not for browsers)."""

    @functools.wraps(handler)
    async def run(request: Request, **kwargs: Any) -> Response:
        try:
            return await handler(request, **kwargs)
        except CsrfRefused:
            lang = language(request, await who(request))
            return await error_page(request, 403, i18n.text(lang, "csrf_refused"))
        except SignInNeeded as need:
            return RedirectResponse(need.where, status_code=303)
        except EvgateError as exc:
            return await error_page(request, status_of(exc), str(exc))

    return run


def redirect(where: str) -> RedirectResponse:
    return RedirectResponse(where, status_code=303)


def subscriber_signed_in(request: Request, cookie: str) -> RedirectResponse:
    """To my page, with the subscriber's new session cookie (a sign-in link, an invitation)."""
    response = redirect("/my")
    ttl = int(portal_auth.SESSION_TTL.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, cookie, max_age=ttl)
    return response


def local_path(value: str | None, default: str = "/") -> str:
    """A same-site path to go back to (never another host)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default
