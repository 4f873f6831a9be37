"""The 2.0.1 simulator against evgate itself, through evgate's command line only (a black box).

A scenario, each applicable quirk, and a server restart mid-session play on chargers speaking
OCPP 2.0.1 over loopback; what `evgate sessions list --json` stored must equal what the
simulator integrated, to the Wh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators import EV, Quirks, SimCharger201, VirtualClock, scenario
from tests.e2e.simhelpers import Gateway
from tests.e2e.test_simulator_e2e import TAGS, assert_same, by_start, iso, two_sessions
from tests.support.server_process import add_business_site

SITE = "SIM201-E2E"
PASSWORD = "sim201-e2e-password-01"  # 16-40 characters (security profile 1)
CHARGER = "E2E-201"
TAG = "RFID-201-1"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("evgate-sim201-e2e"))
    add_business_site(gw.db_url, SITE)
    for tag in (TAG, *TAGS):
        gw.cli("tokens", "add", tag, "--site", SITE)
    gw.cli("chargers", "add", CHARGER, "--site", SITE, "--password", PASSWORD)
    gw.start()
    yield gw
    gw.stop()


async def test_scenario_in_201_is_metered_as_integrated(gateway: Gateway) -> None:
    plan = scenario.parse(
        {
            "start": "-2d",
            "speed": 3600,
            "sample_interval": "5m",
            "chargers": [{"id": CHARGER, "password": PASSWORD, "ocpp": "2.0.1"}],
            "drivers": [{"name": "Kari", "token": TAG, "ev": {"capacity_kwh": 10, "soc": 40}}],
            "sessions": [
                {"driver": "Kari", "plug_in": "-2d 00:05", "target_soc": 60, "parking": "20m"},
                {"driver": "Kari", "plug_in": "-2d 01:30", "target_soc": 53, "parking": "10m"},
            ],
        }
    )
    records = await scenario.run(plan, gateway.url)
    assert [r.energy_wh for r in records] == [2_000, 1_300]
    await asyncio.sleep(0.2)  # acked means committed; the CLI reads the same database
    stored = by_start(gateway.sessions(CHARGER))
    assert len(stored) == 2
    for record in records:
        assert_same(stored[iso(record, "start")], record)


@pytest.mark.parametrize(
    "quirk",
    [
        "sample_after_stop",
        "per_session_register",
        "kwh_units",
        "zero_power",
        "empty_transaction_data",
        "frequent_reconnects",
    ],
)
async def test_quirks_in_201_are_metered_as_integrated(gateway: Gateway, quirk: str) -> None:
    charger_id = f"E2E-201-{quirk.upper().replace('_', '-')}"
    gateway.cli("chargers", "add", charger_id, "--site", SITE, "--password", PASSWORD)
    quirks = Quirks.parse(quirk)
    if quirk == "frequent_reconnects":
        quirks = quirks.with_(reconnect_every_s=(0.3, 0.6))
    sim = SimCharger201(
        gateway.url,
        charger_id,
        password=PASSWORD,
        quirks=quirks,
        clock=VirtualClock(600),
        sample_interval_s=60,
        backoff=(0.05, 0.5),
    )
    records = await two_sessions(sim)
    assert sim.stats.link.call_errors == 0
    await asyncio.sleep(0.2)
    stored = by_start(gateway.sessions(charger_id))
    assert len(stored) == 2
    for record in records:
        assert_same(stored[iso(record, "start")], record)


async def test_server_restart_mid_session_in_201_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """Events made while the server is down go out with offline: true, in order, once back."""
    gw = Gateway(tmp_path)
    add_business_site(gw.db_url, SITE, passwordless=False)
    gw.cli("tokens", "add", TAG, "--site", SITE)
    gw.cli("chargers", "add", "E2E-201-OFFLINE", "--site", SITE, "--password", PASSWORD)
    gw.start()
    try:
        sim = SimCharger201(
            gw.url,
            "E2E-201-OFFLINE",
            password=PASSWORD,
            clock=VirtualClock(600),
            sample_interval_s=60,
            backoff=(0.05, 0.5),
        )
        await sim.start(timeout=20)
        record = await sim.plug_in(
            1, TAG, EV(capacity_wh=10_000, soc_percent=50, target_percent=60)
        )
        assert record is not None
        while record.samples < 2:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(gw.stop)  # SIGTERM mid-session
        await asyncio.sleep(0.5)  # five virtual minutes offline: samples and the car filling up
        assert not sim.connected and len(sim.queue) > 0
        await sim.unplug(1)  # the session ends while the server is down
        offline = [i.payload for i in sim.queue.items() if i.action == "TransactionEvent"]
        assert offline and all(p.get("offline") is True for p in offline)
        await asyncio.to_thread(gw.start)
        await sim.wait_ready(timeout=30)
        second = await sim.charge(1, TAG, EV(capacity_wh=10_000, soc_percent=50), 53, parking_s=60)
        await sim.stop(drain_timeout=30)
        assert len(sim.queue) == 0 and second is not None
        rows = gw.sessions("E2E-201-OFFLINE")
        assert len(rows) == 2  # neither lost nor duplicated
        stored = by_start(rows)
        assert_same(stored[iso(record, "start")], record)
        assert_same(stored[iso(second, "start")], second)
        assert record.energy_wh == 1_000
    finally:
        gw.stop()
