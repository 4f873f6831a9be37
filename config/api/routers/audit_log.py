"""The audit log: who changed what, when, before and after (newest first)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from config.api.auth import Reader
from config.api.context import reading
from config.api.types import MAX_BIGINT, SiteIdQuery
from store import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="audit entries, newest first (a site token sees its site's)")
async def entries(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        return await audit.entries(conn, site, limit, before_id)
