"""Conformance cases run against the in-process gateway and API (the integration fixtures),
driven by the Wallbox simulator over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from simulators.charger import SimCharger
from tests.integration.api.conftest import Api, api
from tests.integration.conftest import Env, env

__all__ = ["api", "env"]

SimFactory = Callable[..., Any]


@pytest.fixture
async def sim(env: Env) -> AsyncIterator[SimFactory]:
    """``await sim("CP1", refuse=..., drop_on=...)``: a started, booted simulator."""
    started: list[SimCharger] = []

    async def make(charger_id: str = "CP1", **options: Any) -> SimCharger:
        # the driver unplugs at once after a session (the default ten seconds are real time on
        # the real clock, and no case looks at the cable after the stop)
        options.setdefault("unplug_delay_s", 0)
        charger = SimCharger(
            f"ws://127.0.0.1:{env.gateway.port}/ocpp", charger_id, backoff=(0.05, 0.2), **options
        )
        started.append(charger)
        await charger.start(timeout=10)
        return charger

    yield make
    for charger in started:
        await charger.stop(drain_timeout=2)


async def command(api: Api, name: str, body: dict[str, Any], charger: str = "CP1") -> Any:
    """POST the generic command route as the site admin."""
    return await api.call("admin", "POST", f"/api/v1/chargers/{charger}/commands/{name}", body)


async def last_audit(api: Api) -> dict[str, Any]:
    entries = (await api.call("admin", "GET", "/api/v1/audit?limit=1")).json()
    entry: dict[str, Any] = entries[0]
    return entry
