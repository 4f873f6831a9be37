"""A site's power limit across two `evgate serve` processes on one PostgreSQL and Mosquitto:
the instance that receives a StartTransaction re-shares the site, and a charger held by the
other instance gets its share through the command bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.ocpp_client import Charger, at
from tests.support.server_process import ServeProcess, add_business_site, run_cli
from tests.support.services import MQTT_URL, fresh_pg_database, reachable, unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_pg_database() as url:
        yield url


def shares(cp: Charger) -> list[tuple[int, Any]]:
    """(transactionId, limit in W) of every SetChargingProfile the charger received."""
    return [
        (
            p["csChargingProfiles"]["transactionId"],
            p["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"],
        )
        for action, p in cp.received_calls
        if action == "SetChargingProfile"
    ]


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), timeout)


async def test_a_share_reaches_a_charger_held_by_the_other_instance(
    pg_url: str, tmp_path: Path
) -> None:
    why = reachable(MQTT_URL, 1883)
    if why:
        unavailable("Mosquitto", why)
    add_business_site(pg_url)
    for charger in ("CP1", "CP2"):
        run_cli("chargers", "add", charger, "--site", "S1", db_url=pg_url)
    run_cli("sites", "power-limit", "S1", "--kw", "11", db_url=pg_url)
    a = ServeProcess(pg_url, tmp_path / "a.log", "--mqtt-url", MQTT_URL)
    b = ServeProcess(pg_url, tmp_path / "b.log", "--mqtt-url", MQTT_URL)
    a.start()
    b.start()
    try:
        on_a = await Charger.connect(f"{a.base_url}/CP1")
        on_b = await Charger.connect(f"{b.base_url}/CP2")
        for cp in (on_a, on_b):
            cp.answers["SetChargingProfile"] = {"status": "Accepted"}
            await cp.boot()
        tx1 = (await on_a.start("TAG1", 1000, at(0)))["transactionId"]
        await until(lambda: (tx1, 11_000) in shares(on_a))  # A's own, from A
        await asyncio.sleep(1.5)  # B's command bus is connected by now
        tx2 = (await on_b.start("TAG2", 5000, at(1)))["transactionId"]
        # B re-shares: CP2 locally, CP1 through the bus to A
        await until(lambda: (tx1, 5_500) in shares(on_a) and (tx2, 5_500) in shares(on_b))
        await on_b.stop(tx2, 6000, at(2))  # and back to the whole limit for CP1
        await until(lambda: shares(on_a)[-1] == (tx1, 11_000))
        assert shares(on_b) == [(tx2, 5_500)]
        await on_a.close()
        await on_b.close()
    finally:
        a.stop()
        b.stop()
