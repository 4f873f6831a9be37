"""The mail outbox: what evgate queued and sent (no bodies), and a retry of a failed mail."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from config.api.auth import Reader, Writer
from config.api.context import reading, transaction
from config.api.types import MAX_BIGINT, IdPath, SiteIdQuery
from services import mail

router = APIRouter(prefix="/api/v1/mail", tags=["mail"])


@router.get(
    "",
    summary="mails, newest first (super-admin: every site's; a site admin: its site's)",
)
async def list_mail(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
    state: Literal["pending", "sent", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
) -> list[dict[str, Any]]:
    async with reading(request) as conn:
        return await mail.listing(conn, who, site_id, state, limit, before_id)


@router.post("/{mail_id}/retry", summary="make a failed mail due again (a sent one: 409)")
async def retry(request: Request, mail_id: IdPath, who: Writer) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await mail.retry(conn, who, mail_id)
