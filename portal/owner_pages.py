"""A site owner's working pages: tariffs, subscribers, sessions (with the review of flagged
ones), billing runs and the audit log.

Reads go through store/ as the API's GET routes do; every change is the API's use case
(services/*) acting as the signed-in user, so roles, audit and events are the same. A refused
change shows its one-line reason on the page it came from, with the error's status.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from billing.holdback import holding_flags
from billing.money import to_minor
from billing.months import PeriodError, month_bounds, parse_period, period_of, shift
from billing.pricing import SessionTotals, VersionPricer
from portal import i18n
from portal.web import ROUTER, base_url, engine, form, local_path, page, redirect, user
from portal.web import render as render_page
from portal.web import status_of as error_status
from services import plans, session_review, subscribers, tariffs
from services.context import Actor
from services.portal_auth import actor_of
from store import (
    admin,
    audit,
    charger_views,
    run_views,
    session_reviews,
    session_views,
    tariff_store,
)
from store import billing_store as bs
from store import subscribers as subscriber_store
from store.errors import EvgateError, Invalid, NotFound

PAGE_SIZE = 50
SESSIONS_SHOWN = 200

Problem = tuple[int, str] | None  # a refused change: (status, its message)


def _shown(problem: Problem) -> dict[str, Any]:
    """A page's status and error line: 200 and none, or what a refused change said."""
    status, error = problem or (200, None)
    return {"status": status, "error": error}


async def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    return await render_page(request, template, status=status, **values)


async def _site(request: Request, site_id: str) -> tuple[Actor, dict[str, Any]]:
    actor = actor_of(await user(request))
    actor.check_read(site_id)
    async with engine(request).connect() as conn:
        site = await admin.get_site(conn, site_id)
    return actor, site


def _may_write(actor: Actor, site_id: str) -> bool:
    return actor.role != "viewer" and actor.can_write(site_id)


async def _attempt(
    request: Request,
    change: Callable[[], Awaitable[str]],
    shown: Callable[[Problem], Awaitable[Response]],
) -> Response:
    """Run a change; go where it says, or show the page again with its reason."""
    try:
        return redirect(await change())
    except (EvgateError, tariffs.FormError) as exc:
        status = error_status(exc) if isinstance(exc, EvgateError) else 422
        return await shown((status, str(exc)))


def _money(amount: str, name: str) -> Decimal | None:
    text = amount.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(f"{name} {amount!r} is not a number such as 2.50") from None
    if not value.is_finite() or value < 0:
        raise Invalid(f"{name} must be a number of at least 0")
    return value


# --- tariffs ------------------------------------------------------------------------------


def _components(ocpi: str) -> list[str]:
    """A version's prices in a line each: "ENERGY 2.50 (VAT 25)"."""
    out = []
    for element in json.loads(ocpi, parse_float=Decimal).get("elements", []):
        for c in element.get("price_components", []):
            vat = f" (VAT {c['vat']} %)" if c.get("vat") is not None else ""
            out.append(f"{c['type']} {c['price']}{vat}")
    return out


async def _tariffs_page(request: Request, site_id: str, problem: Problem = None) -> Response:
    actor, site = await _site(request, site_id)
    async with engine(request).connect() as conn:
        listed = await tariff_store.list_tariffs(conn, site_id)
        shown = [await tariff_store.get_tariff(conn, t["id"]) for t in listed]
    for t in shown:
        t["versions"].reverse()  # newest first
        for v in t["versions"]:
            v["prices"] = _components(v["ocpi"])
    return await render(
        request,
        "tariffs.html",
        **_shown(problem),
        site=site,
        tariffs=shown,
        own=[t for t in shown if t["site_id"] == site_id],
        may_write=_may_write(actor, site_id),
        saved=request.query_params.get("saved") == "1",
        section="tariffs",
    )


@ROUTER.get("/sites/{site_id}/tariffs")
@page
async def tariff_list(request: Request, site_id: str) -> Response:
    return await _tariffs_page(request, site_id)


@ROUTER.post("/sites/{site_id}/tariffs")
@page
async def tariff_add(request: Request, site_id: str) -> Response:
    fields = await form(request)
    actor, site = await _site(request, site_id)

    async def change() -> str:
        energy = _money(fields.get("energy", ""), "the energy price")
        time = _money(fields.get("time", ""), "the time price")
        vat = _money(fields.get("vat", ""), "VAT")
        tariff = tariffs.simple_form(energy, time, vat, site["currency"])
        raw = fields.get("tariff_id", "")
        async with engine(request).begin() as conn:
            if raw:
                if not raw.isdigit():
                    raise Invalid(f"tariff_id {raw!r} is not a tariff id")
                await tariffs.add_version(conn, actor, int(raw), tariff)
            else:
                name = fields.get("name", "").strip()[:100]
                await tariffs.create(conn, actor, tariff, site_id=site_id, name=name)
        return f"/sites/{site_id}/tariffs?saved=1"

    return await _attempt(request, change, lambda p: _tariffs_page(request, site_id, p))


# --- subscribers --------------------------------------------------------------------------


async def _subscribers_page(request: Request, site_id: str, problem: Problem = None) -> Response:
    actor, site = await _site(request, site_id)
    async with engine(request).connect() as conn:
        rows = await subscriber_store.list_subscribers(conn, site_id)
    return await render(
        request,
        "subscribers.html",
        **_shown(problem),
        site=site,
        subscribers=rows,
        may_write=_may_write(actor, site_id),
        invited=request.query_params.get("invited"),
        section="subscribers",
    )


@ROUTER.get("/sites/{site_id}/subscribers")
@page
async def subscriber_list(request: Request, site_id: str) -> Response:
    return await _subscribers_page(request, site_id)


@ROUTER.post("/sites/{site_id}/subscribers")
@page
async def subscriber_invite(request: Request, site_id: str) -> Response:
    fields = await form(request)
    actor, _site_row = await _site(request, site_id)

    async def change() -> str:
        email = fields.get("email", "").strip()
        async with engine(request).begin() as conn:
            await subscribers.invite(
                conn,
                actor,
                site_id,
                email,
                name=fields.get("name", "").strip(),
                language=i18n.language_of(fields.get("language")),
                link_base=base_url(request),
            )
        return f"/sites/{site_id}/subscribers?invited={email}"

    return await _attempt(request, change, lambda p: _subscribers_page(request, site_id, p))


async def _subscriber_page(
    request: Request, subscriber_id: int, problem: Problem = None
) -> Response:
    actor = actor_of(await user(request))
    async with engine(request).connect() as conn:
        sub = await subscribers.readable(conn, actor, subscriber_id)
        site = await admin.get_site(conn, sub["site_id"])
        fees = await plans.list_plans(conn, actor, subscriber_id)
    now = getattr(request.app.state, "billing_now", None) or datetime.now(UTC)
    return await render(
        request,
        "subscriber.html",
        **_shown(problem),
        site=site,
        sub=sub,
        plans=fees,
        next_month=shift(period_of(now, site["tz"]), 1),
        may_write=_may_write(actor, sub["site_id"]),
        saved=request.query_params.get("saved") == "1",
        section="subscribers",
    )


@ROUTER.get("/subscribers/{subscriber_id}")
@page
async def subscriber_detail(request: Request, subscriber_id: int) -> Response:
    return await _subscriber_page(request, subscriber_id)


@ROUTER.post("/subscribers/{subscriber_id}/{what}")
@page
async def subscriber_change(request: Request, subscriber_id: int, what: str) -> Response:
    """state (suspend, reactivate, cancel), tokens (add, remove), discount, plans (add)."""
    fields = await form(request)
    actor = actor_of(await user(request))

    async def change() -> str:
        async with engine(request).begin() as conn:
            if what == "state":
                await subscribers.transition(conn, actor, subscriber_id, fields.get("action", ""))
            elif what == "tokens" and fields.get("remove"):
                await subscribers.remove_token(conn, actor, subscriber_id, fields["remove"])
            elif what == "tokens":
                tag = fields.get("id_tag", "").strip()
                await subscribers.add_token(conn, actor, subscriber_id, tag)
            elif what == "discount":
                percent = _money(fields.get("percent", ""), "the discount") or Decimal(0)
                bp = percent * 100
                if bp != bp.to_integral_value():
                    raise Invalid("the discount takes at most two decimals, e.g. 12.5")
                await subscribers.update(conn, actor, subscriber_id, {"discount_bp": int(bp)})
            elif what == "plans":
                line = {
                    "description": fields.get("description", ""),
                    "amount": fields.get("amount", "").strip() or "0",
                }
                await plans.add_plan(
                    conn,
                    actor,
                    subscriber_id,
                    [line],
                    period_months=1,
                    first_period=fields.get("first_period", "").strip(),
                )
            else:
                raise NotFound(f"no such change of a subscriber: {what!r}")
        return f"/subscribers/{subscriber_id}?saved=1"

    return await _attempt(request, change, lambda p: _subscriber_page(request, subscriber_id, p))


# --- sessions -----------------------------------------------------------------------------


def _month(value: str | None, default: str) -> str:
    month = (value or "").strip() or default
    try:
        parse_period(month)
    except PeriodError as exc:
        raise Invalid(f"month: {exc}") from None
    return month


async def _prices(conn: Any, rows: list[dict[str, Any]], site: dict[str, Any]) -> None:
    """Each stopped session's price excl. VAT as the run would compute it from its stored
    totals (``price``, minor units; None when its tariff prices by time of day or it has none)."""
    pricers: dict[int, VersionPricer | None] = {}
    for r in rows:
        r["price"] = None
        version = r["tariff_id"]
        if version is None or r["stopped_at"] is None or r["energy_wh"] is None:
            continue
        if version not in pricers:
            ocpi = await bs.tariff_version_json(conn, version)
            pricers[version] = None if ocpi is None else VersionPricer.from_ocpi(ocpi, site["tz"])
        pricer = pricers[version]
        if pricer is None:
            continue
        totals = SessionTotals(
            r["started_at"],
            r["stopped_at"],
            r["energy_wh"],
            r["charging_s"] or 0,
            r["parking_s"] or 0,
            r["meter_start_wh"],
        )
        net = pricer.net_of_totals(totals)
        r["price"] = None if net is None else to_minor(net, site["currency"])


async def _sessions_page(request: Request, site_id: str, problem: Problem = None) -> Response:
    actor, site = await _site(request, site_id)
    q = request.query_params
    now = getattr(request.app.state, "billing_now", None) or datetime.now(UTC)
    month = _month(q.get("month"), period_of(now, site["tz"]))
    start, end = month_bounds(month, site["tz"])
    charger = q.get("charger") or None
    raw_sub = q.get("subscriber") or ""
    if raw_sub and not raw_sub.isdigit():
        raise Invalid(f"subscriber {raw_sub!r} is not a subscriber id")
    flagged = q.get("flagged") == "1"
    async with engine(request).connect() as conn:
        chargers = await charger_views.list_chargers(conn, site_id=site_id)
        subs = await subscriber_store.list_subscribers(conn, site_id)
        rows = await session_views.list_sessions(
            conn,
            site_id=site_id,
            charger_id=charger,
            subscriber_id=int(raw_sub) if raw_sub else None,
            started_from=start,
            started_before=end,
            flagged=True if flagged else None,
            limit=SESSIONS_SHOWN,
        )
        await _prices(conn, rows, site)
        reviews = await session_reviews.reviews_of(conn, [r["id"] for r in rows if r["flags"]])
        for r in rows:
            r["holding"] = holding_flags(r["flags"] or [])
            r["review"] = reviews.get(r["id"])
            r["billed"] = False
            if r["holding"]:
                r["billed"] = (await session_reviews.facts(conn, r["id"]))["billed"] is not None
    names = {s["id"]: s["name"] or s["email"] for s in subs}
    filters = {"month": month, "charger": charger or "", "subscriber": raw_sub, "flagged": flagged}
    return await render(
        request,
        "sessions.html",
        **_shown(problem),
        site=site,
        sessions=rows,
        names=names,
        chargers=chargers,
        subscribers=subs,
        filters=filters,
        total_wh=sum(r["energy_wh"] or 0 for r in rows),
        total_price=sum(r["price"] or 0 for r in rows),
        shown_max=SESSIONS_SHOWN,
        may_write=_may_write(actor, site_id),
        reviewed=q.get("reviewed"),
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        section="sessions",
    )


@ROUTER.get("/sites/{site_id}/sessions")
@page
async def session_list(request: Request, site_id: str) -> Response:
    return await _sessions_page(request, site_id)


@ROUTER.post("/sites/{site_id}/sessions/{session_id}/review")
@page
async def session_review_form(request: Request, site_id: str, session_id: int) -> Response:
    fields = await form(request)
    actor, _site_row = await _site(request, site_id)

    async def change() -> str:
        async with engine(request).begin() as conn:
            facts = await session_reviews.facts(conn, session_id)
            if facts["site_id"] != site_id:
                raise NotFound(f"no session {session_id} on site {site_id}")
            await session_review.review(
                conn, actor, session_id, fields.get("decision", ""), fields.get("reason")
            )
        back = local_path(fields.get("back"), f"/sites/{site_id}/sessions")
        return back + ("&" if "?" in back else "?") + f"reviewed={session_id}"

    return await _attempt(request, change, lambda p: _sessions_page(request, site_id, p))


# --- billing runs -------------------------------------------------------------------------


def _jobs(request: Request) -> Any:
    """The billing runs' processes: the object the API's /billing-runs routes use."""
    return request.app.state.billing_jobs


async def _billing_page(
    request: Request,
    site_id: str,
    problem: Problem = None,
    preview: dict[str, Any] | None = None,
    month: str | None = None,
) -> Response:
    actor, site = await _site(request, site_id)
    now = getattr(request.app.state, "billing_now", None) or datetime.now(UTC)
    async with engine(request).connect() as conn:
        runs = await run_views.recent_runs(conn, site_id, every_site=actor.is_super)
    return await render(
        request,
        "billing.html",
        **_shown(problem),
        site=site,
        runs=runs,
        preview=preview,
        month=month or shift(period_of(now, site["tz"]), -1),
        may_write=_may_write(actor, site_id),
        section="billing",
    )


@ROUTER.get("/sites/{site_id}/billing")
@page
async def billing_runs(request: Request, site_id: str) -> Response:
    return await _billing_page(request, site_id)


@ROUTER.post("/sites/{site_id}/billing")
@page
async def billing_start(request: Request, site_id: str) -> Response:
    fields = await form(request)
    actor, _site_row = await _site(request, site_id)
    month = fields.get("month", "").strip()
    try:
        actor.check_write(site_id)  # as POST /api/v1/billing-runs
        parse_period(month)
        if fields.get("action") == "preview":
            report = await _jobs(request).dry_run(month, site_id)
            return await _billing_page(request, site_id, preview=report, month=month)
        run_id = await _jobs(request).start(month, site_id, actor.label)
    except EvgateError as exc:
        return await _billing_page(request, site_id, (error_status(exc), str(exc)), month=month)
    return redirect(f"/billing-runs/{run_id}")


@ROUTER.get("/billing-runs/{run_id}")
@page
async def billing_run(request: Request, run_id: int) -> Response:
    actor = actor_of(await user(request))
    row = await _jobs(request).status(run_id)
    if row is None:
        raise NotFound(f"no billing run {run_id}")
    if row["site_id"] is None:
        actor.check_super()  # a run of every site is every site's business (as the API)
        site = None
    else:
        actor.check_read(row["site_id"])
        async with engine(request).connect() as conn:
            site = await admin.get_site(conn, row["site_id"])
    return await render(
        request,
        "billing_run.html",
        site=site,
        run=row,
        report=row["report"] or {},
        ongoing=row["state"] in ("queued", "running"),
        section="billing",
    )


# --- audit log ----------------------------------------------------------------------------


def _brief(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


@ROUTER.get("/sites/{site_id}/audit")
@page
async def audit_log(request: Request, site_id: str) -> Response:
    _actor, site = await _site(request, site_id)
    raw = request.query_params.get("before") or ""
    if raw and not raw.isdigit():
        raise Invalid(f"before {raw!r} is not an entry id")
    async with engine(request).connect() as conn:
        rows = await audit.entries(conn, site_id, PAGE_SIZE + 1, int(raw) if raw else None)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    for r in rows:
        r["before_text"], r["after_text"] = _brief(r["before"]), _brief(r["after"])
    return await render(
        request,
        "audit.html",
        site=site,
        entries=rows,
        older=rows[-1]["id"] if more and rows else None,
        first_page=not raw,
        section="audit",
    )
