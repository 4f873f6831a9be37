"""Tariffs: OCPI 2.2.1 or simple text in, versioned (an edit is a new version), exact JSON out."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Principal, Reader, Writer
from config.api.context import reading, transaction
from config.api.output import ExactJSONResponse
from config.api.tariff_input import (
    OCPI_BODY,
    exact_json_body,
    ocpi_version,
    require_currency,
    simple_version,
    stored_json,
)
from config.api.types import IdPath, SiteIdQuery, SiteIdText, Text
from store import admin, audit, tariff_store
from tariffs import Tariff

router = APIRouter(prefix="/api/v1/tariffs", tags=["tariffs"])

Name = Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")]


class SimpleTariff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[Text, Field(min_length=1, max_length=500, examples=["2.50 per kWh"])]
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$")] | None = Field(
        None, description="default: the site's currency"
    )
    vat_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] | None = None
    site_id: SiteIdText | None = None
    name: Annotated[Text, Field(max_length=200)] = ""


def owner_site(who: Principal, site_id: str | None) -> str | None:
    """The site a new tariff belongs to: admins create for their site; None means global."""
    if site_id is None:
        if who.is_super:
            return None
        site_id = who.site_id
        if site_id is None:
            raise HTTPException(403, "only a super-admin may create a tariff for every site")
    who.check_write(site_id)
    return site_id


async def create(
    request: Request, who: Principal, site_id: str | None, name: str, parsed: tuple[Any, ...]
) -> ExactJSONResponse:
    tariff, text, warnings = parsed
    async with transaction(request) as conn:
        if site_id is not None:
            site = await admin.get_site(conn, site_id)
            require_currency(tariff, site["currency"], f"site {site_id}'s")
        ids = await tariff_store.create_tariff(
            conn,
            site_id=site_id,
            name=name,
            currency=tariff.currency,
            ocpi_text=text,
            created_by=who.actor,
        )
        await audit.record(
            conn,
            who.actor,
            "tariff.create",
            "tariff",
            ids["id"],
            site_id=site_id,
            after={**ids, "ocpi": text, "name": name},
        )
    return ExactJSONResponse({**ids, "warnings": warnings}, status_code=201)


@router.post(
    "",
    status_code=201,
    summary="create a tariff from an OCPI 2.2.1 tariff object",
    openapi_extra=OCPI_BODY,
    response_class=ExactJSONResponse,
)
async def create_ocpi(
    request: Request,
    who: Writer,
    site_id: SiteIdQuery = None,
    name: Name = "",
) -> ExactJSONResponse:
    site = owner_site(who, site_id)
    parsed = ocpi_version(await exact_json_body(request))
    return await create(request, who, site, name, parsed)


@router.post(
    "/simple",
    status_code=201,
    summary='create a tariff from a simple text such as "2.50 per kWh + 10 start fee"',
    response_class=ExactJSONResponse,
)
async def create_simple(request: Request, body: SimpleTariff, who: Writer) -> ExactJSONResponse:
    site = owner_site(who, body.site_id)
    currency = body.currency
    if currency is None:
        if site is None:
            raise HTTPException(422, "currency: is required for a tariff of every site")
        async with reading(request) as conn:
            currency = (await admin.get_site(conn, site))["currency"]
    return await create(
        request, who, site, body.name, simple_version(body.text, currency, body.vat_percent)
    )


@router.get("", summary="tariffs this token may see, with their current version")
async def list_tariffs(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        return await tariff_store.list_tariffs(conn, site)


async def readable(request: Request, who: Principal, tariff_id: int) -> dict[str, Any]:
    async with reading(request) as conn:
        row = await tariff_store.get_tariff(conn, tariff_id)
    if row["site_id"] is not None:
        who.check_read(row["site_id"])
    return row


@router.get(
    "/{tariff_id}",
    summary="a tariff with every version (OCPI JSON, exact numbers)",
    response_class=ExactJSONResponse,
)
async def get_tariff(request: Request, tariff_id: IdPath, who: Reader) -> ExactJSONResponse:
    row = await readable(request, who, tariff_id)
    versions = [
        {
            "version_id": v["id"],
            "version": v["version"],
            "created_at": v["created_at"],
            "created_by": v["created_by"],
            "current": v["id"] == row["current_version_id"],
            "tariff": stored_json(v["ocpi"]),
        }
        for v in row["versions"]
    ]
    return ExactJSONResponse(
        {**{k: v for k, v in row.items() if k != "versions"}, "versions": versions}
    )


@router.put(
    "/{tariff_id}",
    summary="edit a tariff: the OCPI object becomes a new version (running sessions keep theirs)",
    openapi_extra=OCPI_BODY,
    response_class=ExactJSONResponse,
)
async def update_tariff(request: Request, tariff_id: IdPath, who: Writer) -> ExactJSONResponse:
    row = await readable(request, who, tariff_id)
    if row["site_id"] is None:
        if not who.is_super:
            raise HTTPException(403, "only a super-admin may edit a tariff of every site")
    else:
        who.check_write(row["site_id"])
    tariff: Tariff
    tariff, text, warnings = ocpi_version(await exact_json_body(request))
    require_currency(tariff, row["currency"], "the tariff's")
    async with transaction(request) as conn:
        ids = await tariff_store.add_version(conn, tariff_id, text, who.actor)
        await audit.record(
            conn,
            who.actor,
            "tariff.update",
            "tariff",
            tariff_id,
            site_id=row["site_id"],
            before={"version_id": row["current_version_id"]},
            after={**ids, "ocpi": text},
        )
    return ExactJSONResponse({**ids, "warnings": warnings})
