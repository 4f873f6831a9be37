"""The simulator against evgate itself, through evgate's command line only (a black box).

For each quirk switch the simulator runs sessions on its own charger; what `evgate sessions
list --json` stored must equal what the simulator integrated: energy to the Wh, the stop time,
charging and parking seconds. Then the server is stopped (SIGTERM) and restarted mid-session:
no session lost or duplicated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators import EV, Quirks, SessionRecord, SimCharger, VirtualClock
from tests.e2e.simhelpers import Gateway
from tests.support.server_process import add_business_site

SITE = "SIM-E2E"
PASSWORD = "sim-e2e-password-0001"  # 16-40 characters (security profile 1)
TAGS = ["RFID-E2E-1", "RFID-E2E-2"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("evgate-sim-e2e"))
    add_business_site(gw.db_url, SITE)
    for tag in TAGS:
        gw.cli("tokens", "add", tag, "--site", SITE)
    gw.start()
    yield gw
    gw.stop()


def register(gw: Gateway, charger_id: str, password: str | None = PASSWORD) -> None:
    args = ["chargers", "add", charger_id, "--site", SITE]
    gw.cli(*args, *(["--password", password] if password else []))


def by_start(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["started_at"]: row for row in rows}


def iso(record: SessionRecord, which: str) -> str:
    value = record.started_at if which == "start" else record.stopped_at
    assert value is not None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_same(stored: dict[str, Any], record: SessionRecord, exact_times: bool = True) -> None:
    assert stored["charger_id"] == record.charger_id
    assert stored["connector_id"] == record.connector_id
    assert stored["id_tag"] == record.id_tag
    assert stored["energy_wh"] == record.energy_wh
    if exact_times:
        assert stored["stopped_at"] == iso(record, "stop")
        assert (stored["charging_s"], stored["parking_s"]) == (record.charging_s, record.parking_s)
    else:  # the gateway replaced a wrong clock by its receive time: seconds of slack
        assert abs(stored["charging_s"] - record.charging_s) <= 3
        assert abs(stored["parking_s"] - record.parking_s) <= 3


async def two_sessions(sim: SimCharger) -> list[SessionRecord]:
    """Two sessions with different cars: charge to target, park, unplug."""
    await sim.start(timeout=20)
    first = await sim.charge(1, TAGS[0], EV(capacity_wh=10_000, soc_percent=50), 55, parking_s=120)
    second = await sim.charge(
        1,
        TAGS[1],
        EV(capacity_wh=20_000, soc_percent=30, max_power_w=7_400, phases=1),
        33,
        parking_s=240,
    )
    await sim.stop()
    assert first is not None and second is not None
    return [first, second]


QUIRK_CASES = [
    "none",
    "no_boot",
    "sample_after_stop",
    "per_session_register",
    "kwh_units",
    "zero_power",
    "empty_transaction_data",
    "frequent_reconnects",
]


@pytest.mark.parametrize("quirk", QUIRK_CASES)
async def test_sessions_stored_as_integrated(gateway: Gateway, quirk: str) -> None:
    charger_id = f"E2E-{quirk.upper().replace('_', '-')}"
    register(gateway, charger_id)
    quirks = Quirks() if quirk == "none" else Quirks.parse(quirk)
    if quirk == "frequent_reconnects":
        quirks = quirks.with_(reconnect_every_s=(0.3, 0.6))
    sim = SimCharger(
        gateway.url,
        charger_id,
        password=PASSWORD,
        quirks=quirks,
        clock=VirtualClock(600),
        sample_interval_s=60,
        backoff=(0.05, 0.5),
    )
    records = await two_sessions(sim)
    await asyncio.sleep(0.2)  # acked means committed; the CLI reads the same database
    stored = by_start(gateway.sessions(charger_id))
    assert len(stored) == 2
    for record in records:
        assert_same(stored[iso(record, "start")], record)
    if quirk == "per_session_register":
        assert [r.meter_start for r in records] == [0, 0]
    if quirk == "sample_after_stop":  # the extra Wh after the stop billed to nobody
        assert records[1].meter_start == records[0].meter_stop + sim.quirks.after_stop_extra_wh


async def test_empty_password_on_a_passwordless_site(gateway: Gateway) -> None:
    register(gateway, "E2E-NOPASS", password=None)
    sim = SimCharger(
        gateway.url,
        "E2E-NOPASS",
        password="ignored-by-the-quirk",
        quirks=Quirks(empty_password=True),
        clock=VirtualClock(600),
    )
    records = await two_sessions(sim)
    stored = by_start(gateway.sessions("E2E-NOPASS"))
    for record in records:
        assert_same(stored[iso(record, "start")], record)


async def test_wrong_clock_is_corrected_and_flagged(gateway: Gateway) -> None:
    """At speed 1 (the gateway corrects to its own receive time, real seconds)."""
    register(gateway, "E2E-CLOCK")
    sim = SimCharger(
        gateway.url,
        "E2E-CLOCK",
        password=PASSWORD,
        quirks=Quirks(wrong_clock=True),
        clock=VirtualClock(1),
        sample_interval_s=2,
        unplug_delay_s=1,
    )
    await sim.start(timeout=20)
    # 2 kWh car, 1 % = 20 Wh: about 6.5 s at 11 kW, then 3 s parked
    record = await sim.charge(1, TAGS[0], EV(capacity_wh=2_000, soc_percent=50), 51, parking_s=3)
    await sim.stop()
    assert record is not None
    (stored,) = gateway.sessions("E2E-CLOCK")
    assert_same(stored, record, exact_times=False)
    assert "clock_corrected" in stored["flags"]
    assert stored["started_at"] >= "2020"


async def test_transaction_forgotten_by_a_reboot_is_closed_at_the_last_sample(
    gateway: Gateway,
) -> None:
    register(gateway, "E2E-FORGET")
    sim = SimCharger(
        gateway.url,
        "E2E-FORGET",
        password=PASSWORD,
        quirks=Quirks(forget_on_reboot=True),
        clock=VirtualClock(600),
        sample_interval_s=60,
        backoff=(0.05, 0.5),
    )
    await sim.start(timeout=20)
    record = await sim.plug_in(1, TAGS[0], EV(capacity_wh=10_000, soc_percent=50))
    assert record is not None
    while record.samples < 3:
        await asyncio.sleep(0.05)
    await sim.drained()
    await sim.reboot(hard=True)  # power cut with the cable in: the box forgets
    await sim.wait_ready(timeout=20)
    await sim.unplug(1)
    # the next session on the same connector is a normal one
    follow = await sim.charge(1, TAGS[1], EV(capacity_wh=10_000, soc_percent=50), 52, parking_s=60)
    await sim.stop()
    assert record.forgotten and follow is not None
    stored = by_start(gateway.sessions("E2E-FORGET"))
    assert len(stored) == 2
    forgotten = stored[iso(record, "start")]
    assert forgotten["stopped_at"] is not None  # never left open
    assert forgotten["energy_wh"] == record.energy_wh  # closed at the last sample
    assert forgotten["flags"]  # and flagged for review
    assert_same(stored[iso(follow, "start")], follow)


async def test_server_restart_mid_session_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    gw = Gateway(tmp_path)
    add_business_site(gw.db_url, SITE, passwordless=False)
    gw.cli("tokens", "add", TAGS[0], "--site", SITE)
    gw.cli("chargers", "add", "E2E-OFFLINE", "--site", SITE, "--password", PASSWORD)
    gw.start()
    try:
        sim = SimCharger(
            gw.url,
            "E2E-OFFLINE",
            password=PASSWORD,
            clock=VirtualClock(600),
            sample_interval_s=60,
            backoff=(0.05, 0.5),
        )
        await sim.start(timeout=20)
        record = await sim.plug_in(
            1, TAGS[0], EV(capacity_wh=10_000, soc_percent=50, target_percent=60)
        )
        assert record is not None
        while record.samples < 2:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(gw.stop)  # SIGTERM mid-session
        await asyncio.sleep(0.5)  # five virtual minutes offline: samples and the car filling up
        assert not sim.connected and len(sim.queue) > 0
        await sim.unplug(1)  # the session ends while the server is down
        await asyncio.to_thread(gw.start)
        await sim.wait_ready(timeout=30)
        second = await sim.charge(
            1, TAGS[0], EV(capacity_wh=10_000, soc_percent=50), 53, parking_s=60
        )
        await sim.stop(drain_timeout=30)
        assert len(sim.queue) == 0 and second is not None
        rows = gw.sessions("E2E-OFFLINE")
        assert len(rows) == 2  # neither lost nor duplicated
        stored = by_start(rows)
        assert_same(stored[iso(record, "start")], record)
        assert_same(stored[iso(second, "start")], second)
        assert record.energy_wh == 1_000
    finally:
        gw.stop()
