"""A site's power limit: set over the API and the CLI (audited, exact W, bad input refused),
re-shared through the command sender with one unreachable charger not stopping the others,
removed (the shares cleared), and a burst of session changes re-shared once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from services import site_power
from services.site_power import SiteSharer
from simulators.charger import SimCharger
from simulators.physics import EV
from store import locks
from store.db import create_engine
from store.schema import sessions, sites
from tests.integration.api.conftest import Api
from tests.integration.test_cli_audit import cli, entries

PATH = "/api/v1/sites/S1/power-limit"


async def _running_session(api: Api, charger: str, connector: int = 1) -> int:
    now = datetime.now(UTC)
    async with api.env.engine.begin() as conn:
        result = await conn.execute(
            insert(sessions).values(
                charger_id=charger,
                connector_id=connector,
                id_tag="TAG2",
                auth_status="Accepted",
                started_at=now,
                charger_started_at=now,
                meter_start_wh=0,
                monthly_payment=False,
                flags=[],
                received_at=now,
            )
        )
    return int(result.inserted_primary_key[0])


async def _sim(api: Api, charger: str = "CP1") -> SimCharger:
    cp = SimCharger(f"ws://127.0.0.1:{api.env.gateway.port}/ocpp", charger, backoff=(0.05, 0.2))
    await cp.start(timeout=10)
    return cp


async def _until(condition: Any, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def test_the_limit_is_stored_in_watts_audited_and_refused_when_wrong(api: Api) -> None:
    answered = await api.call("admin", "PUT", PATH, {"kw": 7.4})
    assert answered.status_code == 200, answered.text
    assert answered.json()["power_limit_w"] == 7400
    assert answered.json()["power_limit_kw"] == "7.4"
    site = (await api.call("admin", "GET", "/api/v1/sites/S1")).json()
    assert site["power_limit_w"] == 7400
    audited = (await api.call("admin", "GET", "/api/v1/audit?limit=1")).json()[0]
    assert audited["action"] == "site.power_limit"
    assert audited["before"] == {"power_limit_w": None}
    assert audited["after"] == {"power_limit_w": 7400}
    before = await api.audit_count()
    for bad in ({"kw": 0}, {"kw": "-1"}, {"kw": "22.0001"}, {"kw": "x"}, {}, {"watts": 1}):
        refused = await api.call("admin", "PUT", PATH, bad)
        assert refused.status_code == 422, bad
    assert "kw" in (await api.call("admin", "PUT", PATH, {"kw": 0})).text
    assert (await api.call("viewer", "PUT", PATH, {"kw": 11})).status_code == 403
    assert (await api.call("other_admin", "PUT", PATH, {"kw": 11})).status_code == 403
    missing = await api.call("super", "PUT", "/api/v1/sites/NOPE/power-limit", {"kw": 11})
    assert missing.status_code == 404
    assert await api.audit_count() == before
    removed = await api.call("admin", "PUT", PATH, {"kw": None})
    assert removed.status_code == 200 and removed.json()["power_limit_w"] is None


async def test_an_unreachable_charger_does_not_stop_the_others_shares(api: Api) -> None:
    cp1 = await _sim(api, "CP1")
    try:
        await cp1.plug_in(1, "TAG1", EV(capacity_wh=200_000, soc_percent=10))
        await cp1.drained()
        (on_cp1,) = [
            s["id"]
            for s in await api.env.sessions()
            if s["charger_id"] == "CP1" and s["stopped_at"] is None
        ]
        cp2_session = await _running_session(api, "CP2")  # CP2 has no socket: unreachable
        answered = await api.call("admin", "PUT", PATH, {"kw": "9"})
        assert answered.status_code == 200, answered.text
        shares = {s["session_id"]: s for s in answered.json()["shares"]}
        assert set(shares) == {on_cp1, cp2_session}
        assert {s["limit_w"] for s in shares.values()} == {4500}
        assert shares[cp2_session]["status"] is None
        assert "not connected" in shares[cp2_session]["error"]
        assert shares[on_cp1]["status"] == "Accepted"
        assert cp1.connectors[1].tx.flow.limit_w == 4500  # type: ignore[union-attr]

        # the same shares again: the one in force is not sent twice, CP2's is tried again
        sent = len(cp1.received)
        again = await site_power.reshare(api.env.engine, api.env.gateway.registry, "S1", 2)
        assert [s["session_id"] for s in again] == [cp2_session]
        assert len(cp1.received) == sent

        # no limit: the shares in force are cleared on the chargers
        cleared = await api.call("admin", "PUT", PATH, {"kw": None})
        assert [(s["session_id"], s["command"], s["status"]) for s in cleared.json()["shares"]] == [
            (on_cp1, "clear-charging-profile", "Accepted")
        ]
        assert cp1.connectors[1].tx.flow.limit_w is None  # type: ignore[union-attr]
        profiles = await api.call("admin", "GET", "/api/v1/chargers/CP1/charging-profiles")
        assert [r for r in profiles.json() if r["site_share"]] == []
    finally:
        await cp1.stop(drain_timeout=2)


async def test_shares_that_go_down_are_sent_before_those_that_go_up(api: Api) -> None:
    cp1 = await _sim(api, "CP1")
    try:
        await cp1.plug_in(1, "TAG1", EV(capacity_wh=200_000, soc_percent=10))
        await cp1.drained()
        (on_cp1,) = [
            s["id"]
            for s in await api.env.sessions()
            if s["charger_id"] == "CP1" and s["stopped_at"] is None
        ]
        gone = [await _running_session(api, "CP2", c) for c in (1, 2)]
        first = await api.call("admin", "PUT", PATH, {"kw": "9"})
        assert {s["limit_w"] for s in first.json()["shares"]} == {3000}
        assert cp1.connectors[1].tx.flow.limit_w == 3000  # type: ignore[union-attr]
        # in one burst: both CP2 sessions stop and a new one starts; CP1's share goes up
        async with api.env.engine.begin() as conn:
            await conn.execute(
                update(sessions).where(sessions.c.id.in_(gone)).values(stopped_at=datetime.now(UTC))
            )
        new = await _running_session(api, "CP2", 1)
        shares = await site_power.reshare(api.env.engine, api.env.gateway.registry, "S1", 2)
        assert [(s["session_id"], s["limit_w"]) for s in shares] == [(new, 4500), (on_cp1, 4500)]
        assert cp1.connectors[1].tx.flow.limit_w == 4500  # type: ignore[union-attr]
    finally:
        await cp1.stop(drain_timeout=2)


async def test_a_burst_of_session_changes_is_one_reshare_per_site(api: Api) -> None:
    sharer = SiteSharer(api.env.engine, api.env.gateway.registry, delay=0.1, timeout=1)
    try:
        for _ in range(5):
            sharer.changed("S1", "CP1")
        sharer.changed("S2", "SECURE")
        sharer.changed(None, "UNASSIGNED")
        await sharer.idle()
        assert sharer.runs == 2  # one for S1, one for S2
        sharer.changed("S1", "CP1")
        await asyncio.sleep(0.15)  # S1 runs now; a change meanwhile runs it once more
        sharer.changed("S1", "CP1")
        sharer.changed("S1", "CP1")
        await sharer.idle()
        assert sharer.runs == 4
    finally:
        await sharer.close()


async def test_a_reshare_waits_for_one_of_the_same_site_on_another_instance(api: Api) -> None:
    """On PostgreSQL the site's advisory lock makes re-shares of one site take turns across
    instances (SQLite is one process: nothing to wait for)."""
    engine, registry = api.env.engine, api.env.gateway.registry
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    async with locks.held(engine, site_power.lock_key("S1")) as mine:
        assert mine
        waiting = asyncio.create_task(site_power.reshare(engine, registry, "S1", 5))
        other_site = await site_power.reshare(engine, registry, "S2", 5)  # not held: at once
        await asyncio.sleep(0.3)
        assert not waiting.done() and other_site == []
        with pytest.raises(TimeoutError):
            await site_power.reshare(engine, registry, "S1", 0.2)
    assert await asyncio.wait_for(waiting, 5) == []


async def _limit(url: str) -> int | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            value = (await conn.execute(select(sites.c.power_limit_w))).scalar_one()
            return None if value is None else int(value)
    finally:
        await engine.dispose()


def test_power_limit_from_the_cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--tz", "Europe/Oslo", "--currency", "NOK", "--vat", "25")
    assert cli(db_url, "sites", "add", "OSLO", *args) == 0
    assert cli(db_url, "sites", "power-limit", "OSLO", "--kw", "22") == 0
    assert "22 kW" in capsys.readouterr().out
    assert asyncio.run(_limit(db_url)) == 22_000
    assert cli(db_url, "sites", "power-limit", "OSLO", "--kw", "7.25") == 0
    assert asyncio.run(_limit(db_url)) == 7_250
    for bad in ("abc", "0", "1.0001", "NaN"):
        assert cli(db_url, "sites", "power-limit", "OSLO", "--kw", bad) == 2, bad
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "power limit" in err, err
    assert asyncio.run(_limit(db_url)) == 7_250
    assert cli(db_url, "sites", "power-limit", "NOPE", "--kw", "1") == 2
    assert cli(db_url, "sites", "power-limit", "OSLO", "--none") == 0
    assert asyncio.run(_limit(db_url)) is None
    log = [e for e in entries(db_url) if e["action"] == "site.power_limit"]
    assert [(e["actor"], e["after"]) for e in log] == [
        ("cli", {"power_limit_w": 22_000}),
        ("cli", {"power_limit_w": 7_250}),
        ("cli", {"power_limit_w": None}),
    ]
