"""Tariffs: OCPI 2.2.1 or simple text in, versioned (an edit is a new version), exact JSON out."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Principal, Reader, Writer
from config.api.context import reading, transaction
from config.api.output import ExactJSONResponse
from config.api.tariff_input import OCPI_BODY, exact_json_body, stored_json
from config.api.types import IdPath, SiteIdQuery, SiteIdText, Text
from services import tariffs
from store import admin, tariff_store
from tariffs import Tariff, parse_simple_tariff, parse_tariff

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


async def create(
    request: Request, who: Principal, site_id: str | None, name: str, tariff: Tariff
) -> ExactJSONResponse:
    async with transaction(request) as conn:
        created = await tariffs.create(conn, who, tariff, site_id=site_id, name=name)
    return ExactJSONResponse(created, status_code=201)


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
    site = tariffs.owner_site(who, site_id)
    tariff = parse_tariff(await exact_json_body(request))
    return await create(request, who, site, name, tariff)


@router.post(
    "/simple",
    status_code=201,
    summary='create a tariff from a simple text such as "2.50 per kWh + 10 start fee"',
    response_class=ExactJSONResponse,
)
async def create_simple(request: Request, body: SimpleTariff, who: Writer) -> ExactJSONResponse:
    site = tariffs.owner_site(who, body.site_id)
    currency = body.currency
    if currency is None:
        if site is None:
            raise HTTPException(422, "currency: is required for a tariff of every site")
        async with reading(request) as conn:
            currency = (await admin.get_site(conn, site))["currency"]
    tariff = parse_simple_tariff(body.text, currency, body.vat_percent)
    return await create(request, who, site, body.name, tariff)


@router.get("", summary="tariffs this token may see, with their current version")
async def list_tariffs(
    request: Request,
    who: Reader,
    site_id: SiteIdQuery = None,
) -> list[dict[str, Any]]:
    site = who.visible_site(site_id)
    async with reading(request) as conn:
        return await tariff_store.list_tariffs(conn, site)


@router.get(
    "/{tariff_id}",
    summary="a tariff with every version (OCPI JSON, exact numbers)",
    response_class=ExactJSONResponse,
)
async def get_tariff(request: Request, tariff_id: IdPath, who: Reader) -> ExactJSONResponse:
    async with reading(request) as conn:
        row = await tariffs.readable(conn, who, tariff_id)
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
    async with reading(request) as conn:  # who may edit it, before the body is read
        tariffs.check_edit(who, await tariffs.readable(conn, who, tariff_id))
    tariff = parse_tariff(await exact_json_body(request))
    async with transaction(request) as conn:
        updated = await tariffs.add_version(conn, who, tariff_id, tariff)
    return ExactJSONResponse(updated)
