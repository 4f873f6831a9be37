"""The config API served by uvicorn on a free port of 127.0.0.1, over the in-process gateway:
for what a charger reaches over real HTTP (its diagnostics upload), not through ASGI."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from config.api import create_app
from tests.integration.api.conftest import Api, seed_api
from tests.integration.conftest import Env


@asynccontextmanager
async def served_api(env: Env, directory: Path, **options: Any) -> AsyncIterator[Api]:
    """An ``Api`` whose client talks HTTP to a real socket; ``options`` go to create_app.

    The app's public URL is its own address, so get-diagnostics uploads come back here."""
    tokens, seeded = await seed_api(env)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(
        env.engine,
        env.gateway.registry,
        command_timeout=5.0,
        public_url=base,
        diagnostics_dir=str(directory),
        **options,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", log_level="warning")
    )
    server.capture_signals = nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not serving.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield Api(env, client, tokens, seeded)
    finally:
        server.should_exit = True
        await serving
        sock.close()
