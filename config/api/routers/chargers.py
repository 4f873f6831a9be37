"""Chargers over HTTP: live state; registration, approval, password, tariff and monthly-payment
mode through services.chargers."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from config.api.auth import Reader, SuperAdmin, Writer
from config.api.context import api_context, reading, transaction
from config.api.types import BigId, ChargerIdPath, SiteIdPath, SiteIdQuery, SiteIdText, Text
from services import chargers, firmware, reservations
from store import charger_views, presence

router = APIRouter(prefix="/api/v1", tags=["chargers"])

Password = Annotated[Text, Field(min_length=16, max_length=40)]


class ChargerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: SiteIdText = Field(description="the OCPP identity: last path segment of its URL")
    password: Password | None = None


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: SiteIdText


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password | None = Field(description="16-40 characters; null removes it")


class TariffAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tariff_id: BigId | None = Field(description="a tariff id; null: no tariff")


class MonthlyPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


def with_live_state(
    request: Request, row: dict[str, Any], elsewhere: Collection[str] = ()
) -> dict[str, Any]:
    """Add what only the gateways know: whether a socket of the charger's is open, on this
    instance or (``elsewhere``: store.presence) on another."""
    here = api_context(request).registry.get(row["id"]) is not None
    return {**row, "online": here or row["id"] in elsewhere, "online_here": here}


async def online_elsewhere(conn: AsyncConnection, ids: list[str]) -> set[str]:
    return await presence.online(conn, ids, datetime.now(UTC))


@router.get("/chargers", summary="chargers with live state (online, connectors, sessions)")
async def list_chargers(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
    state: Literal["approved", "pending"] | None = None,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        rows = await charger_views.list_chargers(conn, site_id=site, state=state)
        elsewhere = await online_elsewhere(conn, [r["id"] for r in rows])
    return [with_live_state(request, r, elsewhere) for r in rows]


@router.get("/chargers/{charger_id}", summary="one charger with live state")
async def get_charger(request: Request, charger_id: ChargerIdPath, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        row = await charger_views.charger_view(conn, charger_id)
        elsewhere = await online_elsewhere(conn, [charger_id])
        status = await firmware.latest_firmware_status(conn, [charger_id])
    who.check_read(row["site_id"])
    return {**with_live_state(request, row, elsewhere), "firmware_status": status.get(charger_id)}


ReservationState = Literal["pending", "active", "used", "cancelled", "refused", "expired"]


@router.get(
    "/chargers/{charger_id}/reservations",
    summary="a charger's reservations (reserve-now), newest first, with their state",
)
async def list_reservations(
    request: Request, charger_id: ChargerIdPath, who: Reader, state: ReservationState | None = None
) -> list[dict[str, Any]]:
    async with reading(request) as conn:
        rows = await reservations.list_reservations(conn, who, charger_id)
    return [r for r in rows if state is None or r["state"] == state]


@router.post("/sites/{site_id}/chargers", status_code=201, summary="register a charger")
async def register_charger(
    request: Request, site_id: SiteIdPath, body: ChargerCreate, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        await chargers.register(conn, who, site_id, body.id, body.password)
        view = await charger_views.charger_view(conn, body.id)
    return with_live_state(request, view)


@router.post("/chargers/{charger_id}/approve", summary="approve a pending charger into a site")
async def approve(
    request: Request, charger_id: ChargerIdPath, body: Approval, who: SuperAdmin
) -> dict[str, Any]:
    async with transaction(request) as conn:
        await chargers.approve(conn, who, charger_id, body.site_id)
        view = await charger_views.charger_view(conn, charger_id)
    return with_live_state(request, view)


@router.put("/chargers/{charger_id}/password", summary="set or remove a charger's password")
async def set_password(
    request: Request, charger_id: ChargerIdPath, body: PasswordChange, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        has_password = await chargers.set_password(conn, who, charger_id, body.password)
    return {"charger_id": charger_id, "has_password": has_password}


@router.put("/chargers/{charger_id}/tariff", summary="assign a tariff (or none) to a charger")
async def assign_tariff(
    request: Request, charger_id: ChargerIdPath, body: TariffAssignment, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        await chargers.assign_tariff(conn, who, charger_id, body.tariff_id)
    return {
        "charger_id": charger_id,
        "tariff_id": body.tariff_id,
        "effect": "sessions that start from now on are priced with the tariff's current "
        "version; running sessions keep the version they started with",
    }


@router.put(
    "/chargers/{charger_id}/monthly-payment",
    summary="switch monthly-payment mode (super-admin, business sites only)",
)
async def set_monthly_payment(
    request: Request, charger_id: ChargerIdPath, body: MonthlyPayment, who: SuperAdmin
) -> dict[str, Any]:
    async with transaction(request) as conn:
        change = await chargers.set_monthly_payment(conn, who, charger_id, body.enabled)
    after = change.after
    counts = {
        "active_subscribers": change.active_subscribers,
        "usable_tokens": change.usable_tokens,
    }
    if body.enabled:
        who_may_charge = (
            f"only tokens of active subscribers of site {after['site_id']!r} "
            f"({counts['active_subscribers']} subscribers, {counts['usable_tokens']} tokens); "
            "a suspended subscriber's token is Blocked, any other token Invalid"
        )
    else:
        who_may_charge = (
            "any token of the site that is not blocked; sessions are not billed monthly"
        )
    return {
        "charger_id": charger_id,
        "monthly_payment": bool(after["monthly_payment"]),
        "changed": change.changed,
        "who_may_charge": who_may_charge,
        **counts,
        "running_sessions": [
            {**s, "keeps_monthly_payment": bool(s["monthly_payment"])}
            for s in change.running_sessions
        ],
        "note": "sessions already running keep the mode they started with",
    }
