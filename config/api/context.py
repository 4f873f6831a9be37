"""What every request handler needs: the engine, the gateway's registry, one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.connection import ConnectionRegistry
from services.commands import CommandSender

__all__ = ["ApiContext", "CommandSender", "api_context", "reading", "transaction"]


@dataclass(frozen=True)
class ApiContext:
    engine: AsyncEngine
    registry: ConnectionRegistry
    command_timeout: float = 30.0
    invitation_base_url: str | None = None
    # None: only this process's sockets (the registry); else e.g. the MQTT command bus
    commands: CommandSender | None = None
    # where chargers reach this API (their diagnostics upload URL); None: the request's own
    public_url: str | None = None
    diagnostics_dir: str = "var/diagnostics"
    diagnostics_max_bytes: int = 20 * 1024 * 1024

    @property
    def sender(self) -> CommandSender:
        return self.commands if self.commands is not None else self.registry


def api_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.evgate
    return ctx


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[AsyncConnection]:
    """One transaction per request: it commits before the response is built, or not at all."""
    async with api_context(request).engine.begin() as conn:
        yield conn


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncConnection]:
    async with api_context(request).engine.connect() as conn:
        yield conn
