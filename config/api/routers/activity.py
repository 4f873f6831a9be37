"""Activity per month over HTTP: a subscriber's or a site's last 12 months (services.activity).

Energy is the Wh of sessions stopped in each of the site's calendar months; the amount is
what that month's invoices total, or for the month in progress the estimate (``estimated``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from config.api.auth import Reader
from config.api.context import api_context
from config.api.types import IdPath, SiteIdPath
from services import activity

router = APIRouter(prefix="/api/v1", tags=["activity"])


def _now(request: Request) -> Any:
    return getattr(request.app.state, "billing_now", None)  # a fixed clock for tests


@router.get(
    "/subscribers/{subscriber_id}/activity",
    summary="a subscriber's kWh and amount per month, last 12 months",
)
async def subscriber_activity(
    request: Request, subscriber_id: IdPath, who: Reader
) -> dict[str, Any]:
    months = await activity.subscriber_activity(
        api_context(request).engine, who, subscriber_id, _now(request)
    )
    return {"subscriber_id": subscriber_id, "months": months}


@router.get(
    "/sites/{site_id}/activity", summary="a site's kWh and amount per month, last 12 months"
)
async def site_activity(request: Request, site_id: SiteIdPath, who: Reader) -> dict[str, Any]:
    months = await activity.site_activity(api_context(request).engine, who, site_id, _now(request))
    return {"site_id": site_id, "months": months}
