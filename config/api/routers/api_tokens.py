"""API tokens (super-admin): create one for an admin or a viewer, list, revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import SuperAdmin
from config.api.context import transaction
from config.api.types import IdPath, SiteIdText, Text
from services import api_tokens
from store import api_tokens as token_store

router = APIRouter(prefix="/api/v1/api-tokens", tags=["api tokens"])


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["super-admin", "admin", "viewer"]
    site_id: SiteIdText | None = None
    name: Annotated[Text, Field(max_length=100)] = ""


@router.post("", status_code=201, summary="create a token (shown once)")
async def create(request: Request, body: TokenCreate, who: SuperAdmin) -> dict[str, Any]:
    async with transaction(request) as conn:
        token_id, token = await api_tokens.create(conn, who, body.role, body.site_id, body.name)
    return {"id": token_id, "token": token, **body.model_dump()}


@router.get("", summary="every token (never the secrets)")
async def list_tokens(request: Request, who: SuperAdmin) -> list[dict[str, Any]]:
    async with transaction(request) as conn:
        return await token_store.list_tokens(conn)


@router.delete("/{token_id}", status_code=204, summary="revoke a token")
async def revoke(request: Request, token_id: IdPath, who: SuperAdmin) -> Response:
    async with transaction(request) as conn:
        await api_tokens.revoke(conn, who, token_id)
    return Response(status_code=204)
