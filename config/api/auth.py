"""Bearer-token auth: who is calling, and may they read or change this site?

Roles: ``super-admin`` (everything), ``admin`` (one site: read and change it), ``viewer``
(read only; one site, or every site when the token has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from config.api.context import reading
from store import api_tokens

bearer = HTTPBearer(auto_error=False, description="an API token: `evgate admin create-token`")


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    site_id: str | None

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"token:{self.token_id}" + (f" ({self.name})" if self.name else "")

    @property
    def is_super(self) -> bool:
        return self.role == "super-admin"

    def can_read(self, site_id: str | None) -> bool:
        return (
            self.is_super
            or self.site_id is None
            and self.role == "viewer"
            or (site_id is not None and site_id == self.site_id)
        )

    def can_write(self, site_id: str | None) -> bool:
        return self.is_super or (
            self.role == "admin" and site_id is not None and site_id == self.site_id
        )

    def check_read(self, site_id: str | None) -> None:
        if not self.can_read(site_id):
            raise HTTPException(403, f"this token may only see site {self.site_id!r}")

    def check_write(self, site_id: str | None) -> None:
        if self.role == "viewer":
            raise HTTPException(403, "a viewer token is read only")
        if not self.can_write(site_id):
            raise HTTPException(403, f"this token may only change site {self.site_id!r}")

    def visible_site(self, requested: str | None) -> str | None:
        """The site a listing is limited to: the token's own, or the one asked for."""
        if requested is not None:
            self.check_read(requested)
            return requested
        return None if self.is_super or self.site_id is None else self.site_id


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
    async with reading(request) as conn:
        row = await api_tokens.find_token(conn, credentials.credentials)
    if row is None:
        raise HTTPException(
            401, "the API token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    return Principal(row["id"], row["name"], row["role"], row["site_id"])


async def writer(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if principal.role == "viewer":
        raise HTTPException(403, "a viewer token is read only")
    return principal


async def super_admin(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if not principal.is_super:
        raise HTTPException(403, "only a super-admin token may do this")
    return principal


Reader = Annotated[Principal, Depends(authenticated)]
Writer = Annotated[Principal, Depends(writer)]
SuperAdmin = Annotated[Principal, Depends(super_admin)]
