"""Invoice KIDs through a real billing run: the site's mode, one per invoice, never recomputed,
visible in the API's invoice JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.kid import build_kid, validate_kid
from billing.run import RunOptions, run_billing
from config.api import create_app
from store import api_tokens
from store import billing_store as bs
from store.billing_schema import invoices
from store.schema import audit_log
from tests.unit.billing.billing_testkit import NOW, World, local, rows

OCT = RunOptions("2026-10", now=NOW)


@pytest.mark.parametrize("mode", ["mod10", "mod11"])
async def test_each_issued_invoice_gets_a_kid_of_the_sites_mode(
    engine: AsyncEngine, mode: str
) -> None:
    w = await World(engine).setup()
    for i in range(12):
        await w.subscriber(f"S{i}")
        await w.session(f"S{i}", local(f"2026-10-{i + 1:02d} 08:00"), 60, 1000 + i)
    if mode != "mod10":  # mod10 is the default: no settings row at all
        async with engine.begin() as conn:
            await bs.set_billing_settings(conn, w.site, kid_mode=mode)
    await run_billing(engine, OCT)
    issued = await rows(engine, invoices, invoices.c.id)
    assert len(issued) == 12 and {r["state"] for r in issued} == {"issued"}
    kids = [r["kid"] for r in issued]
    assert len(set(kids)) == len(kids)
    for r in issued:
        assert validate_kid(r["kid"], mode), r["kid"]
        assert r["kid"] == build_kid(r["subscriber_id"], r["number"], mode)
    # a re-run changes nothing, even after the site changed its mode
    other = "mod11" if mode == "mod10" else "mod10"
    async with engine.begin() as conn:
        await bs.set_billing_settings(conn, w.site, kid_mode=other)
    await run_billing(engine, OCT)
    assert await rows(engine, invoices, invoices.c.id) == issued
    # the next month's invoice takes the new mode; the issued ones keep theirs
    await w.session("S0", local("2026-11-03 08:00"), 60, 1000)
    await run_billing(engine, RunOptions("2026-11", now=datetime(2026, 12, 1, 9, tzinfo=UTC)))
    after = await rows(engine, invoices, invoices.c.id)
    assert after[:12] == issued
    (new,) = after[12:]
    assert new["number"] == 13 and new["kid"] == build_kid(new["subscriber_id"], 13, other)


async def test_the_api_shows_the_kid(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    async with engine.begin() as conn:
        await bs.set_billing_settings(conn, w.site, kid_mode="mod11")
        token = (await api_tokens.create_token(conn, "viewer", w.site, "ro"))[1]
    await run_billing(engine, OCT)
    (stored,) = await rows(engine, invoices)
    app = create_app(engine)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        (listed,) = (await http.get("/api/v1/invoices", headers=headers)).json()
        one = (await http.get("/api/v1/invoices/OSL-000001", headers=headers)).json()
    assert listed["kid"] == one["kid"] == stored["kid"]
    assert validate_kid(listed["kid"], "mod11")


async def test_the_api_sets_the_kid_mode_for_the_next_invoices(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    async with engine.begin() as conn:
        admin_token = (await api_tokens.create_token(conn, "admin", w.site, "oslo"))[1]
        viewer = (await api_tokens.create_token(conn, "viewer", w.site, "ro"))[1]
    app = create_app(engine)
    url = f"/api/v1/sites/{w.site}/billing-settings"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        as_admin = {"Authorization": f"Bearer {admin_token}"}
        r = await http.patch(url, json={"kid_mode": "mod12"}, headers=as_admin)
        assert r.status_code == 422
        r = await http.patch(
            url, json={"kid_mode": "mod11"}, headers={"Authorization": f"Bearer {viewer}"}
        )
        assert r.status_code == 403
        r = await http.patch(url, json={"kid_mode": "mod11"}, headers=as_admin)
        assert r.status_code == 200, r.text
        assert r.json()["kid_mode"] == "mod11" and r.json()["reminder_count"] == 2
    async with engine.connect() as conn:
        assert (await bs.site_billing_settings(conn, w.site))["kid_mode"] == "mod11"
        (entry,) = [
            e for e in await rows(engine, audit_log) if e["action"] == "billing_settings.update"
        ]
    assert entry["site_id"] == w.site
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    assert inv["kid"] == build_kid(inv["subscriber_id"], inv["number"], "mod11")
