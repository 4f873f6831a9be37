"""A charger's local authorization list (OCPP 1.6 Local Auth List Management).

The list is derived from the site's tokens and subscribers (what an Authorize of each would
answer on that charger); evgate pushes it on its own when they change. These routes show it
and push it now. An explicit list of the caller's own goes through the generic command route
(``POST /api/v1/chargers/{id}/commands/send-local-list`` with the OCPP payload).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Reader, Writer
from config.api.context import api_context, reading
from config.api.types import ChargerIdPath
from services import local_list, local_list_job

router = APIRouter(prefix="/api/v1/chargers/{charger_id}/local-list", tags=["remote commands"])


class Push(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full: bool = Field(
        False,
        description="send the whole list, whatever the charger holds (default: only "
        "what changed since the version it last accepted)",
    )


@router.get("", summary="the local list the charger holds, the one it should, what is due")
async def get_local_list(
    request: Request, charger_id: ChargerIdPath, who: Reader
) -> dict[str, Any]:
    async with reading(request) as conn:
        return await local_list.view(conn, who, charger_id)


@router.post("/push", summary="SendLocalList of the derived list (only what changed)")
async def push_local_list(
    request: Request, charger_id: ChargerIdPath, who: Writer, body: Push | None = None
) -> dict[str, Any]:
    ctx = api_context(request)
    return await local_list_job.push(
        ctx.engine,
        ctx.sender,
        who,
        charger_id,
        full=body.full if body is not None else False,
        timeout=ctx.command_timeout,
    )
