"""Bearer-token auth: who is calling, and may they read or change this site?

The role rules themselves are services.context.Actor's (the CLI and the portal share them);
here the bearer token becomes an Actor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from config.api.context import reading
from config.api.guard import TOKEN_STATE
from services.context import Actor
from store import api_tokens
from store.errors import Forbidden

bearer = HTTPBearer(auto_error=False, description="an API token: `evgate admin create-token`")


# the caller of a request: its role rules are the use cases' own (services.context)
Principal = Actor


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "send an API token as 'Authorization: Bearer <token>' (evgate admin create-token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    row = getattr(request.state, TOKEN_STATE, None)  # found by the guard before the body
    if row is None:
        async with reading(request) as conn:
            row = await api_tokens.find_token(conn, credentials.credentials)
    if row is None:
        raise HTTPException(
            401, "the API token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    return Actor.token(row["id"], row["name"], row["role"], row["site_id"])


async def writer(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if principal.role == "viewer":
        raise Forbidden("a viewer token is read only")
    return principal


async def super_admin(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    principal.check_super()
    return principal


Reader = Annotated[Principal, Depends(authenticated)]
Writer = Annotated[Principal, Depends(writer)]
SuperAdmin = Annotated[Principal, Depends(super_admin)]
