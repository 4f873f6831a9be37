"""A subscriber's credit balance over HTTP (billing.balances): what they paid beyond what was
owed, which the next billing run carries into their next invoice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billing.balances import balance_of
from config.api.auth import Reader
from config.api.context import reading
from config.api.types import IdPath
from services import subscribers

router = APIRouter(prefix="/api/v1", tags=["subscribers"])


@router.get(
    "/subscribers/{subscriber_id}/balance",
    summary="the subscriber's credit balance (minor units) and the invoices that hold it",
)
async def get_balance(request: Request, subscriber_id: IdPath, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        await subscribers.readable(conn, who, subscriber_id)
        return await balance_of(conn, subscriber_id)
