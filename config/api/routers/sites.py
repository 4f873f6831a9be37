"""Sites over HTTP: parse, call services.sites, format (VAT as a percent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from config.api.auth import Reader, SuperAdmin, Writer
from config.api.context import reading, transaction
from config.api.output import percent
from config.api.types import IdTagPath, SiteIdPath, SiteIdText, Text, UtcTime
from services import site_security, sites, tokens
from store import admin

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])

Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]


class SiteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(max_length=200)] | None = None
    tz: Annotated[Text, Field(min_length=1, max_length=64, examples=["Europe/Oslo"])] | None = None
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$", examples=["NOK"])] | None = None
    vat_percent: Percent | None = Field(None, examples=["25"])
    plan: Literal["basic", "business"] | None = None
    invoice_series: Annotated[Text, Field(min_length=1, max_length=32)] | None = None
    allow_passwordless: bool | None = None
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] | None = None
    auth_policy: Literal["open", "registered"] | None = Field(
        None,
        description="who may charge at chargers not in monthly payment: any unblocked tag "
        "(open, the default) or only the site's registered tokens (registered)",
    )

    def values(self) -> dict[str, Any]:
        out = self.model_dump(exclude_unset=True, exclude_none=True)
        if "vat_percent" in out:
            out["vat_bp"] = int(out.pop("vat_percent") * 100)
        return out


class SiteCreate(SiteSettings):
    id: SiteIdText
    tz: Annotated[Text, Field(min_length=1, max_length=64, examples=["Europe/Oslo"])]
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$", examples=["NOK"])]
    vat_percent: Percent = Field(examples=["25"])


def site_out(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["vat_percent"] = percent(row["vat_bp"])
    return out


@router.get("", summary="list the sites this token may see")
async def list_sites(request: Request, who: Reader) -> list[dict[str, Any]]:
    async with reading(request) as conn:
        return [site_out(r) for r in await sites.visible(conn, who)]


@router.post("", status_code=201, summary="create a site (super-admin)")
async def create_site(request: Request, body: SiteCreate, who: SuperAdmin) -> dict[str, Any]:
    async with transaction(request) as conn:
        row = await sites.create(conn, who, admin.SiteInput(**body.values()))
    return site_out(row)


@router.get("/{site_id}", summary="read a site")
async def get_site(request: Request, site_id: SiteIdPath, who: Reader) -> dict[str, Any]:
    who.check_read(site_id)
    async with reading(request) as conn:
        return site_out(await sites.get(conn, who, site_id))


@router.patch("/{site_id}", summary="change a site's settings (the plan: super-admin only)")
async def update_site(
    request: Request, site_id: SiteIdPath, body: SiteSettings, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return site_out(await sites.update(conn, who, site_id, body.values()))


class SecurityProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: Literal[1, 2, 3] = Field(
        description="1: Basic Auth; 2: TLS + Basic Auth; 3: TLS + a client certificate whose "
        "CN or subjectAltName DNS entry is the charger id (serve with --tls-client-ca)",
        examples=[3],
    )

    @field_validator("profile", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if type(value) is not int or value not in (1, 2, 3):  # not true, 2.0 or "2"
            raise ValueError(
                f"the security profile must be 1 (Basic Auth), 2 (TLS + Basic Auth) or "
                f"3 (TLS + client certificate), not {value!r}"
            )
        return value


@router.put(
    "/{site_id}/security-profile", summary="set a site's OCPP security profile (super-admin)"
)
async def set_security_profile(
    request: Request, site_id: SiteIdPath, body: SecurityProfile, who: SuperAdmin
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return site_out(await site_security.set_profile(conn, who, site_id, body.profile))


class TokenChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_at: UtcTime | None = Field(
        description="from then on the token is Expired (null: it never expires)",
        examples=["2027-01-31T23:59:59Z"],
    )


@router.patch("/{site_id}/tokens/{id_tag}", summary="set or clear when a token expires")
async def update_token(
    request: Request, site_id: SiteIdPath, id_tag: IdTagPath, body: TokenChange, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await tokens.set_expiry(conn, who, site_id, id_tag, body.expires_at)
