"""Sessions: list and filter; one session with samples, charging periods and its price."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from config.api.auth import Reader, Writer
from config.api.context import reading, transaction
from config.api.output import ExactJSONResponse
from config.api.pricing import price
from config.api.tariff_input import stored_json
from config.api.types import MAX_BIGINT, ChargerIdQuery, IdPath, SiteIdQuery, Text, UtcTime
from services import session_review
from store import session_views, tariff_store

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


@router.get("", summary="sessions, newest first, filtered")
async def list_sessions(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
    charger_id: ChargerIdQuery = None,
    subscriber_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    started_from: Annotated[UtcTime | None, Query(alias="from")] = None,
    started_before: Annotated[UtcTime | None, Query(alias="to")] = None,
    flagged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        return await session_views.list_sessions(
            conn,
            site_id=site,
            charger_id=charger_id,
            subscriber_id=subscriber_id,
            started_from=started_from,
            started_before=started_before,
            flagged=flagged,
            limit=limit,
            offset=offset,
        )


@router.get(
    "/{session_id}",
    summary="a session with its samples, charging periods and price",
    response_class=ExactJSONResponse,
)
async def get_session(request: Request, session_id: IdPath, who: Reader) -> ExactJSONResponse:
    async with reading(request) as conn:
        session = await session_views.session_with_site(conn, session_id)
        who.check_read(session["site_id"])
        samples = await session_views.session_samples(conn, session_id)
        until = session["stopped_at"] or max([session["started_at"], *(s["ts"] for s in samples)])
        statuses = await session_views.session_statuses(conn, session, until)
        version = (
            await tariff_store.get_version(conn, session["tariff_id"])
            if session["tariff_id"] is not None
            else None
        )
    if version is None:
        priced: dict[str, Any] = {"error": "no tariff was assigned when this session started"}
    else:
        priced = price(session, samples, statuses, stored_json(version["ocpi"]), session["tz"])
        priced["tariff_version"] = {
            "version_id": version["id"],
            "tariff_id": version["tariff_id"],
            "version": version["version"],
        }
    return ExactJSONResponse(
        {
            **session,
            "samples": samples,
            "statuses": [{"ts": ts, "status": status} for ts, status in statuses],
            "price": priced,
        }
    )


class ReviewIn(BaseModel):
    reason: Text = Field(max_length=500, examples=["meter swapped on 10 October, reading checked"])


async def _review(
    request: Request, session_id: int, decision: str, body: ReviewIn, who: Reader
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await session_review.review(conn, who, session_id, decision, body.reason)


@router.post(
    "/{session_id}/approve",
    summary="bill a flagged session despite its flags (from the next run), with a reason",
)
async def approve(
    request: Request, session_id: IdPath, body: ReviewIn, who: Writer
) -> dict[str, Any]:
    return await _review(request, session_id, "approve", body, who)


@router.post("/{session_id}/exclude", summary="never bill a flagged session, with a reason")
async def exclude(
    request: Request, session_id: IdPath, body: ReviewIn, who: Writer
) -> dict[str, Any]:
    return await _review(request, session_id, "exclude", body, who)
