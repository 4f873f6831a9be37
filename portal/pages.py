"""The portal's pages: sign-in, a site's dashboard, chargers, a charger's settings (the
"Monthly payment" switch, the tariff), invoices; a subscriber's own page by sign-in link."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from billing import local_forms
from billing.months import month_bounds, period_of
from billing.run import estimate
from billing.views import pdf_of, ubl_of
from portal import card_pages, i18n
from portal.chart import activity_svg
from portal.web import (
    LANG_COOKIE,
    ROUTER,
    SESSION_COOKIE,
    base_url,
    engine,
    error_page,
    form,
    local_path,
    page,
    redirect,
    render,
    set_cookie,
    state,
    subscriber,
    subscriber_signed_in,
    user,
    who,
)
from services import activity, chargers, portal_auth
from store import activity_views, admin, charger_admin, charger_views, presence, tariff_store
from store import billing_store as bs
from store.errors import Gone, NotFound

# --- signing in and out ---------------------------------------------------------------------


@ROUTER.get("/")
@page
async def home(request: Request) -> Response:
    session = await who(request)
    if session is None:
        return redirect("/sign-in")
    if session.get("subscriber") is not None:
        return redirect("/my")
    me = session["user"]
    return redirect(f"/sites/{me['site_id']}" if me["site_id"] else "/sites")


@ROUTER.get("/sign-in")
@page
async def sign_in_form(request: Request) -> Response:
    return await render(request, "sign_in.html", error=None, email="")


@ROUTER.post("/sign-in")
@page
async def sign_in(request: Request) -> Response:
    fields = await form(request)
    email, password = fields.get("email", ""), fields.get("password", "")
    address = request.client.host if request.client else "unknown"
    lang = i18n.language_of(request.cookies.get(LANG_COOKIE))
    try:
        found = await state(request).signin.authenticate(engine(request), email, password, address)
    except portal_auth.Throttled as exc:
        seconds = math.ceil(exc.retry_after)
        response = await render(
            request,
            "sign_in.html",
            status=429,
            error=i18n.text(lang, "throttled", seconds=seconds),
            email=email,
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    if found is None:
        return await render(
            request, "sign_in.html", status=401, error=i18n.text(lang, "wrong_login"), email=email
        )
    async with engine(request).begin() as conn:
        token = await portal_auth.open_user_session(conn, found)
    done = redirect("/")
    set_cookie(
        request,
        done,
        SESSION_COOKIE,
        token,
        max_age=int(portal_auth.SESSION_TTL.total_seconds()),
    )
    return done


@ROUTER.post("/sign-out")
@page
async def sign_out(request: Request) -> Response:
    await form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with engine(request).begin() as conn:
            await portal_auth.sign_out(conn, token)
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@ROUTER.post("/language")
@page
async def choose_language(request: Request) -> Response:
    fields = await form(request)
    lang = portal_auth.check_language(fields.get("language", ""))
    session = await who(request)
    if session is not None:
        async with engine(request).begin() as conn:
            await portal_auth.set_language(conn, session, lang)
    response = redirect(local_path(fields.get("next")))
    set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


# --- site users ---------------------------------------------------------------------------


def _lang(me: dict[str, Any]) -> str:
    return i18n.language_of(me.get("language"))


@ROUTER.get("/sites")
@page
async def site_list(request: Request) -> Response:
    me = await user(request)
    actor = portal_auth.actor_of(me)
    async with engine(request).connect() as conn:
        sites = [s for s in await admin.list_sites(conn) if actor.can_read(s["id"])]
    return await render(request, "sites.html", sites=sites)


async def _site(request: Request, site_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    me = await user(request)
    portal_auth.actor_of(me).check_read(site_id)
    async with engine(request).connect() as conn:
        site = await admin.get_site(conn, site_id)
    return me, site


async def _chargers_live(
    request: Request, site_id: str | None, ids: list[str] | None = None
) -> list[dict[str, Any]]:
    registry = request.app.state.evgate.registry  # the in-process gateway's sockets
    async with engine(request).connect() as conn:
        rows = await charger_views.list_chargers(conn, site_id=site_id, ids=ids)
        elsewhere = await presence.online(conn, [r["id"] for r in rows], datetime.now(UTC))
    for r in rows:
        r["online"] = registry.get(r["id"]) is not None or r["id"] in elsewhere
    return rows


@ROUTER.get("/sites/{site_id}")
@page
async def dashboard(request: Request, site_id: str) -> Response:
    me, site = await _site(request, site_id)
    lang = _lang(me)
    now = getattr(request.app.state, "billing_now", None) or datetime.now(UTC)
    rows = await _chargers_live(request, site_id)
    start, end = month_bounds(period_of(now, site["tz"]), site["tz"])
    async with engine(request).connect() as conn:
        summary = await activity_views.site_summary(conn, site_id, now)
        energy = await activity_views.energy_by_month(conn, [("now", start, end)], site_id=site_id)
    amount = await activity.site_month_estimate(engine(request), site_id, now)
    online = sum(1 for r in rows if r["online"] and r["state"] == "approved")
    approved = sum(1 for r in rows if r["state"] == "approved")

    def money(minor: int) -> str:
        return local_forms.money(minor, site["currency"], lang)

    tiles = [
        ("online", str(online), online > 0),
        ("offline", str(approved - online), False),
        ("sessions_running", str(summary["running_sessions"]), False),
        ("energy_month", local_forms.kwh(energy["now"], lang), False),
        ("amount_month", money(amount), False),
        ("outstanding", money(summary["outstanding"]), False),
        ("overdue", money(summary["overdue"]), summary["overdue"] > 0),
    ]
    return await render(request, "dashboard.html", site=site, tiles=tiles, section="dashboard")


@ROUTER.get("/sites/{site_id}/chargers")
@page
async def charger_list(request: Request, site_id: str) -> Response:
    _me, site = await _site(request, site_id)
    rows = await _chargers_live(request, site_id)
    return await render(request, "chargers.html", site=site, chargers=rows, section="chargers")


async def _charger_page(request: Request, charger_id: str, **extra: Any) -> Response:
    me = await user(request)
    actor = portal_auth.actor_of(me)
    rows = await _chargers_live(request, None, [charger_id])
    if not rows:
        raise NotFound(f"no charger {charger_id!r}")
    charger = rows[0]
    actor.check_read(charger["site_id"])
    async with engine(request).connect() as conn:
        site = await admin.get_site(conn, charger["site_id"]) if charger["site_id"] else None
        tariffs = (
            await tariff_store.list_tariffs(conn, charger["site_id"]) if charger["site_id"] else []
        )
    tariffs = [t for t in tariffs if site is None or t["currency"] == site["currency"]]
    return await render(
        request,
        "charger.html",
        site=site,
        charger=charger,
        tariffs=tariffs,
        may_switch=actor.is_super and site is not None and site["plan"] == "business",
        is_business=site is not None and site["plan"] == "business",
        may_write=actor.can_write(charger["site_id"]) and actor.role != "viewer",
        saved=request.query_params.get("saved") == "1",
        section="chargers",
        **extra,
    )


@ROUTER.get("/chargers/{charger_id}")
@page
async def charger_settings(request: Request, charger_id: str) -> Response:
    return await _charger_page(request, charger_id)


@ROUTER.post("/chargers/{charger_id}/monthly-payment")
@page
async def monthly_payment(request: Request, charger_id: str) -> Response:
    fields = await form(request)
    me = await user(request)
    actor = portal_auth.actor_of(me)
    lang = _lang(me)
    enabled = fields.get("enabled") == "1"
    actor.check_super(i18n.text(lang, "only_super"))  # the use case checks again
    if fields.get("confirm") != "yes":  # first the effect on who may charge, then the switch
        async with engine(request).connect() as conn:
            charger = await admin.get_charger(conn, charger_id)
            if charger["site_id"] is None:
                raise NotFound(f"charger {charger_id!r} is on no site yet: approve it first")
            site = await admin.get_site(conn, charger["site_id"])
            counts = await charger_admin.subscriber_counts(conn, charger["site_id"])
            running = await charger_admin.running_sessions(conn, charger_id)
        if enabled and site["plan"] != "business":
            return await error_page(request, 409, i18n.text(lang, "only_business"))
        question = i18n.text(
            lang,
            "confirm_on" if enabled else "confirm_off",
            charger=charger_id,
            subscribers=counts["active_subscribers"],
            tokens=counts["usable_tokens"],
        )
        return await render(
            request,
            "confirm.html",
            site=site,
            charger=charger,
            enabled=enabled,
            question=question,
            running=len(running),
            section="chargers",
        )
    async with engine(request).begin() as conn:
        await chargers.set_monthly_payment(conn, actor, charger_id, enabled)
    return redirect(f"/chargers/{charger_id}?saved=1")


@ROUTER.post("/chargers/{charger_id}/tariff")
@page
async def tariff(request: Request, charger_id: str) -> Response:
    fields = await form(request)
    actor = portal_auth.actor_of(await user(request))
    raw = fields.get("tariff_id", "")
    if raw and not raw.isdigit():
        return await error_page(request, 422, f"tariff_id {raw!r} is not a tariff id")
    async with engine(request).begin() as conn:
        await chargers.assign_tariff(conn, actor, charger_id, int(raw) if raw else None)
    return redirect(f"/chargers/{charger_id}?saved=1")


def _invoice_rows(invoices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in invoices if i["state"] != "draft" and i["number_text"]]


@ROUTER.get("/sites/{site_id}/invoices")
@page
async def site_invoices(request: Request, site_id: str) -> Response:
    _me, site = await _site(request, site_id)
    async with engine(request).connect() as conn:
        invoices = _invoice_rows(await bs.list_invoices(conn, site_id=site_id))
    invoices.sort(key=lambda i: (i["issued_at"] or i["created_at"], i["id"]), reverse=True)
    return await render(
        request,
        "invoices.html",
        site=site,
        invoices=invoices,
        section="invoices",
        pdf_base="/invoices",
    )


def _pdf(data: bytes, number: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'},
    )


async def _site_document(
    request: Request, number: str, draw: Callable[[AsyncConnection, str], Awaitable[bytes]]
) -> bytes:
    """An issued invoice's document for a site user who may read its site."""
    actor = portal_auth.actor_of(await user(request))
    async with engine(request).connect() as conn:
        inv = await bs.get_invoice(conn, number)
        if inv is None or inv["state"] == "draft":
            raise NotFound(f"no invoice {number!r}")
        actor.check_read(inv["site_id"])
        return await draw(conn, number)


@ROUTER.get("/invoices/{number}/pdf")
@page
async def site_invoice_pdf(request: Request, number: str) -> Response:
    return _pdf(await _site_document(request, number, pdf_of), number)


@ROUTER.get("/invoices/{number}/ubl")
@page
async def site_invoice_ubl(request: Request, number: str) -> Response:
    """The invoice as EHF (Peppol BIS Billing 3.0 UBL), as `GET /api/v1/invoices/{n}/ubl`
    gives it; a site without the seller's legal details gets a page saying what is missing."""
    return Response(
        await _site_document(request, number, ubl_of),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{number}.xml"'},
    )


# --- subscribers --------------------------------------------------------------------------


@ROUTER.get("/my/sign-in")
@page
async def my_sign_in_form(request: Request) -> Response:
    return await render(request, "my_sign_in.html", sent=False)


@ROUTER.post("/my/sign-in")
@page
async def my_sign_in(request: Request) -> Response:
    fields = await form(request)
    async with engine(request).begin() as conn:
        await portal_auth.request_sign_in_links(conn, fields.get("email", ""), base_url(request))
    return await render(request, "my_sign_in.html", sent=True)


@ROUTER.get("/s/{token}")
@page
async def link_landing(request: Request, token: str) -> Response:
    # a GET spends nothing (mail scanners follow links): the button below does; the page
    # speaks the language of the subscriber the link was made for
    async with engine(request).connect() as conn:
        sub_language = await portal_auth.language_of_link(conn, token)
    return await render(request, "link.html", in_language=sub_language, token=token)


@ROUTER.post("/s/{token}")
@page
async def link_use(request: Request, token: str) -> Response:
    await form(request)
    try:
        async with engine(request).begin() as conn:
            _sid, cookie = await portal_auth.use_sign_in_link(conn, token)
    except (NotFound, Gone):
        lang = i18n.language_of(request.cookies.get(LANG_COOKIE))
        return await error_page(request, 410, i18n.text(lang, "link_gone"))
    return subscriber_signed_in(request, cookie)


@ROUTER.get("/my")
@page
async def my_page(request: Request) -> Response:
    sub = await subscriber(request)
    lang = i18n.language_of(sub["language"])
    now = getattr(request.app.state, "billing_now", None) or datetime.now(UTC)
    eng = engine(request)
    async with eng.connect() as conn:
        site = await admin.get_site(conn, sub["site_id"])
        invoices = _invoice_rows(await bs.list_invoices(conn, subscriber_id=int(sub["id"])))
    invoices.sort(key=lambda i: (i["period"], i["id"]), reverse=True)
    draft = await estimate(eng, int(sub["id"]), now)
    series = await activity.subscriber_activity(eng, None, int(sub["id"]), now)
    chart = activity_svg(series, lang, i18n.text(lang, "energy"), i18n.text(lang, "amount"))
    sessions = [ln for ln in (draft.lines if draft else []) if ln.kind == "session"]
    return await render(
        request,
        "my.html",
        site=site,
        draft=draft,
        estimate_note=i18n.text(
            lang,
            "estimate_note",
            period=draft.period if draft else "",
            sessions=len(sessions),
            kwh=local_forms.kwh(sum(ln.energy_wh or 0 for ln in sessions), lang),
        ),
        invoices=invoices,
        chart=chart,
        series=series,
        pdf_base="/my/invoices",
        payment=await card_pages.payment_method(request, sub, invoices),
        sessions=sorted(sessions, key=lambda ln: ln.started_at or now, reverse=True),
    )


@ROUTER.get("/my/invoices/{number}/pdf")
@page
async def my_invoice_pdf(request: Request, number: str) -> Response:
    sub = await subscriber(request)
    async with engine(request).connect() as conn:
        inv = await bs.get_invoice(conn, number)
        if inv is None or inv["state"] == "draft" or inv["subscriber_id"] != sub["id"]:
            raise NotFound(f"no invoice {number!r} of yours")
        data = await pdf_of(conn, number)
    return _pdf(data, number)
