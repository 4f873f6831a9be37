"""Flagged sessions approved or excluded from billing, with a reason: the use case, the
billing run after each, the API and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.run import RunOptions, run_billing
from config.api import create_app
from services import session_review
from services.context import Actor
from store import api_tokens
from store.billing_schema import invoice_sessions
from store.errors import Conflict, Forbidden, Invalid
from store.review_schema import session_reviews
from store.schema import audit_log, outbox
from tests.support.server_process import run_cli
from tests.unit.billing.billing_testkit import NOW, World, local, rows

OCT = RunOptions("2026-10", now=NOW)
ADMIN = Actor("portal:1 (anna@example.no)", "admin", "OSLO")


async def _world(engine: AsyncEngine) -> tuple[World, int, int, int]:
    w = await World(engine).setup()
    await w.subscriber("A")
    good = await w.session("A", local("2026-10-10 10:00"), 60, 5000)
    odd = await w.session("A", local("2026-10-12 10:00"), 60, 90_000, flags=("implausible_energy",))
    bad = await w.session("A", local("2026-10-13 10:00"), 60, 0, flags=("negative_energy",))
    return w, good, odd, bad


async def _review(engine: AsyncEngine, sid: int, decision: str, reason: str, actor: Actor = ADMIN):
    async with engine.begin() as conn:
        return await session_review.review(conn, actor, sid, decision, reason)


async def test_approved_is_billed_and_excluded_is_reported_not_held(engine: AsyncEngine) -> None:
    _w, good, odd, bad = await _world(engine)
    done = await _review(engine, odd, "approve", "  the car has a 90 kWh pack,\n it was full ")
    assert done["reason"] == "the car has a 90 kWh pack, it was full"
    assert done["flags"] == ["implausible_energy"] and done["reviewed_by"] == ADMIN.label
    await _review(engine, bad, "exclude", "meter replaced mid-session")
    report = await run_billing(engine, OCT)
    assert {r["session_id"] for r in await rows(engine, invoice_sessions)} == {good, odd}
    assert report.sessions == 2 and report.energy_wh == 95_000
    assert report.held_back == [] and report.held_back_count == 0
    assert report.excluded == [{"session_id": bad, "reason": "excluded"}]
    # a later month's run neither bills nor reports the excluded session again
    nov = await run_billing(engine, RunOptions("2026-11", now=NOW, dry_run=True))
    assert nov.excluded_count == 0 and nov.held_back_count == 0 and nov.sessions == 0
    # once billed, a session's review is closed
    with pytest.raises(Conflict, match="already billed on invoice OSL-"):
        await _review(engine, odd, "exclude", "changed my mind")


async def test_a_review_is_audited_with_an_event_and_may_be_changed(engine: AsyncEngine) -> None:
    _w, _good, odd, _bad = await _world(engine)
    await _review(engine, odd, "exclude", "looks wrong")
    await _review(engine, odd, "approve", "checked the car: right")
    async with engine.connect() as conn:
        audits = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.before, audit_log.c.after)
                .where(audit_log.c.target_type == "session")
                .order_by(audit_log.c.id)
            )
        ).all()
        events = (await conn.execute(select(outbox.c.kind, outbox.c.payload))).all()
        stored = (await conn.execute(select(session_reviews))).mappings().all()
    assert [(a[0], a[1]) for a in audits] == [
        ("session.exclude", ADMIN.label),
        ("session.approve", ADMIN.label),
    ]
    assert audits[1][2] == {"decision": "exclude", "reason": "looks wrong"}
    assert audits[1][3]["reason"] == "checked the car: right"
    assert [(k, p["decision"]) for k, p in events if k == "session_reviewed"] == [
        ("session_reviewed", "exclude"),
        ("session_reviewed", "approve"),
    ]
    assert [(r["decision"], r["reason"]) for r in stored] == [("approve", "checked the car: right")]
    report = await run_billing(engine, OCT)
    assert report.sessions == 2


async def test_what_cannot_be_reviewed(engine: AsyncEngine) -> None:
    w, good, odd, _bad = await _world(engine)
    with pytest.raises(Invalid, match="give a reason"):
        await _review(engine, odd, "approve", "   ")
    with pytest.raises(Conflict, match="no flag that holds it back"):
        await _review(engine, good, "approve", "fine")
    off = await w.session(
        "A", local("2026-10-14 10:00"), 60, 0, flags=("negative_energy",), monthly_payment=False
    )
    with pytest.raises(Conflict, match="not on monthly payment"):
        await _review(engine, off, "exclude", "x")
    with pytest.raises(Forbidden):
        await _review(engine, odd, "approve", "x", Actor("t", "admin", "BERGEN"))
    with pytest.raises(Forbidden):
        await _review(engine, odd, "approve", "x", Actor("t", "viewer", "OSLO"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(session_reviews))).all() == []


async def test_the_api_approves_and_excludes(engine: AsyncEngine) -> None:
    _w, good, odd, bad = await _world(engine)
    async with engine.begin() as conn:
        _, admin_token = await api_tokens.create_token(conn, "admin", "OSLO", "oslo")
        _, viewer_token = await api_tokens.create_token(conn, "viewer", "OSLO", "look")
    app = create_app(engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate.test") as client:

        async def post(path: str, body: object, token: str = admin_token) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"}
            return await client.post(f"/api/v1/sessions/{path}", json=body, headers=headers)

        assert (await post(f"{odd}/approve", {})).status_code == 422
        blank = await post(f"{odd}/approve", {"reason": " "})
        assert blank.status_code == 422 and "give a reason" in blank.json()["detail"]
        assert (await post(f"{good}/approve", {"reason": "x"})).status_code == 409
        assert (await post(f"{odd}/approve", {"reason": "x"}, viewer_token)).status_code == 403
        assert (await post("999999/exclude", {"reason": "x"})).status_code == 404
        ok = await post(f"{odd}/approve", {"reason": "big battery"})
        assert ok.status_code == 200 and ok.json()["decision"] == "approve"
        out = await post(f"{bad}/exclude", {"reason": "broken meter"})
        assert out.status_code == 200 and out.json()["reviewed_by"].startswith("token:")
    report = await run_billing(engine, OCT)
    assert report.sessions == 2 and report.excluded_count == 1
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate.test") as client:
        again = await client.post(
            f"/api/v1/sessions/{odd}/exclude",
            json={"reason": "too late"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
    assert again.status_code == 409 and "already billed" in again.json()["detail"]


async def test_the_cli_approves_and_excludes(engine: AsyncEngine, db_url: str) -> None:
    _w, _good, odd, bad = await _world(engine)
    done = run_cli("sessions", "approve", str(odd), "--reason", "big battery", db_url=db_url)
    assert done.stdout.strip() == f"session {odd} approved for billing (flags: implausible_energy)"
    missing = run_cli("sessions", "exclude", str(bad), db_url=db_url, check=False)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    blank = run_cli("sessions", "exclude", str(bad), "--reason", "", db_url=db_url, check=False)
    assert blank.returncode == 2 and blank.stderr.strip().endswith(
        "give a reason: it is kept with the decision in the audit log"
    )
    run_cli("sessions", "exclude", str(bad), "--reason", "broken meter", db_url=db_url)
    bill = run_cli("bill", "--month", "2026-10", "--json", db_url=db_url, check=False)
    report = json.loads(bill.stdout)
    assert report["excluded"] == [{"session_id": bad, "reason": "excluded"}]
    assert report["held_back"] == [] and report["sessions"] == 2
