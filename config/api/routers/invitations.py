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
from store import audit, subscribers

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
        inv = await subscribers.invitation(conn, token)
    return {
        "site_id": inv["site_id"],
        "site_name": inv["site_name"],
        "email": inv["email"],
        "expires_at": inv["expires_at"],
        "accepted": inv["accepted_at"] is not None,
    }


@router.post("/{token}/accept", status_code=201, summary="accept an invitation: become active")
async def accept(request: Request, token: Token, body: Acceptance) -> dict[str, Any]:
    async with transaction(request) as conn:
        subscriber_id = await subscribers.accept(
            conn,
            token,
            name=body.name,
            email=body.email,
            language=body.language,
            payment_method=body.payment_method,
        )
        row = await subscribers.get_subscriber(conn, subscriber_id)
        await audit.record(
            conn,
            "invitee",
            "subscriber.accept",
            "subscriber",
            subscriber_id,
            site_id=row["site_id"],
            before={"state": "invited"},
            after=row,
        )
    return {"subscriber_id": subscriber_id, "state": row["state"]}
