"""Smart charging over HTTP: the charging profiles in force on a charger, and a site's power
limit (services.smart_charging, services.site_power). Profiles are sent with the catalog's
commands (``set-charging-profile``, ``clear-charging-profile``, ``get-composite-schedule``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Reader, Writer
from config.api.context import api_context, transaction
from config.api.types import ChargerIdPath, SiteIdPath
from services import site_power, smart_charging

router = APIRouter(prefix="/api/v1", tags=["smart charging"])

Kilowatts = Annotated[Decimal, Field(gt=0, le=1_000_000, decimal_places=3)]


class PowerLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kw: Kilowatts | None = Field(
        description="the site's power limit in kW (at most 3 decimals: whole W); null: none",
        examples=["22"],
    )


@router.get(
    "/chargers/{charger_id}/charging-profiles",
    summary="the charging profiles in force on a charger (history: every one sent)",
)
async def charging_profiles(
    request: Request,
    charger_id: ChargerIdPath,
    who: Reader,
    history: Annotated[bool, Query(description="every profile sent, with its answer")] = False,
) -> list[dict[str, Any]]:
    rows = await smart_charging.in_force(api_context(request).engine, who, charger_id, history)
    return [
        {
            "id": r["id"],
            "connector_id": r["connector_id"],
            "charging_profile_id": r["profile_id"],
            "purpose": r["purpose"],
            "stack_level": r["stack_level"],
            "transaction_id": r["transaction_id"],
            "profile": r["profile"],
            "command": r["command"],
            "status": r["status"],
            "set_at": r["set_at"],
            "cleared_at": r["cleared_at"],
            "in_force": r["in_force"],
            "site_share": r["site_share"],
        }
        for r in rows
    ]


@router.put(
    "/sites/{site_id}/power-limit",
    summary="set or remove a site's power limit; its running sessions are re-shared now",
)
async def set_power_limit(
    request: Request, site_id: SiteIdPath, body: PowerLimit, who: Writer
) -> dict[str, Any]:
    ctx = api_context(request)
    watts = None if body.kw is None else site_power.kw_to_w(body.kw)
    async with transaction(request) as conn:
        stored = await site_power.set_power_limit(conn, who, site_id, watts)
    shares = await site_power.reshare(ctx.engine, ctx.sender, site_id, ctx.command_timeout)
    return {**stored, "shares": shares}
