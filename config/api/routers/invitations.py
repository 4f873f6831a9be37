"""The public side of an invitation: whoever holds the token may read and accept it.

No bearer token: the invitation token in the path is the credential (random, 256 bits,
stored hashed, usable once, expiring).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.context import reading, transaction
from config.api.routers.subscribers import Email, Language, Name
from services import subscribers

router = APIRouter(prefix="/api/v1/invitations", tags=["invitations (public)"])

Token = Annotated[str, Path(min_length=1, max_length=200)]


class Acceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[Name, Field(min_length=1)]
    email: Email
    language: Language
    payment_method: Literal["manual", "stripe"]


@router.get("/{token}", summary="what an invitation is for (no bearer token needed)")
async def show(request: Request, token: Token) -> dict[str, Any]:
    async with reading(request) as conn:
        return await subscribers.invitation(conn, token)


@router.post("/{token}/accept", status_code=201, summary="accept an invitation: become active")
async def accept(request: Request, token: Token, body: Acceptance) -> dict[str, Any]:
    async with transaction(request) as conn:
        row = await subscribers.accept(
            conn,
            token,
            name=body.name,
            email=body.email,
            language=body.language,
            payment_method=body.payment_method,
        )
    return {"subscriber_id": row["id"], "state": row["state"]}
