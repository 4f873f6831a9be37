"""The owner's pages through the application (httpx): roles as the API's, CSRF, refused
changes shown as readable messages, the use cases' effects (audit, reviews, tariffs)."""

from __future__ import annotations

import re

from sqlalchemy import select

from store.review_schema import session_reviews
from store.schema import audit_log, subscribers, tariffs
from tests.integration.portal.conftest import Portal
from tests.integration.portal.owner_seed import seed_owner

SESSIONS = "/sites/S1/sessions?month=2026-11"


def _message(html: str) -> str:
    found = re.search(r'data-testid="error">([^<]*)<', html)
    assert found, html
    return found.group(1)


async def test_a_site_admin_reviews_a_flagged_session(portal: Portal) -> None:
    seeded = await seed_owner(portal.env)
    flagged = seeded["flagged"]
    await portal.sign_in("admin")
    page = await portal.client.get(SESSIONS)
    assert page.status_code == 200
    assert "implausible_energy" in page.text and f"/sessions/{flagged}/review" in page.text
    assert "NOK30.00" in page.text  # 12 kWh at 2.50, excl. VAT
    action = f"/sites/S1/sessions/{flagged}/review"
    blank = await portal.post(action, {"decision": "approve", "reason": " "}, from_page=SESSIONS)
    assert blank.status_code == 422
    assert _message(blank.text) == "give a reason: it is kept with the decision in the audit log"
    refused = await portal.client.post(action, data={"decision": "approve", "reason": "x"})
    assert refused.status_code == 403  # no CSRF field
    done = await portal.post(
        action,
        {"decision": "exclude", "reason": "car was a van", "back": SESSIONS},
        from_page=SESSIONS,
    )
    assert done.status_code == 303 and done.headers["location"] == f"{SESSIONS}&reviewed={flagged}"
    after = await portal.client.get(done.headers["location"])
    assert "Excluded from billing" in after.text and "car was a van" in after.text
    async with portal.env.engine.connect() as conn:
        (review,) = (await conn.execute(select(session_reviews))).mappings().all()
        actions = (await conn.execute(select(audit_log.c.action, audit_log.c.actor))).all()
    assert review["decision"] == "exclude" and review["reviewed_by"] == "portal:2 (s1@example.no)"
    assert ("session.exclude", "portal:2 (s1@example.no)") in actions
    audit = await portal.client.get("/sites/S1/audit")
    assert "session.exclude" in audit.text and "car was a van" in audit.text


async def test_roles_are_the_apis(portal: Portal) -> None:
    seeded = await seed_owner(portal.env)
    await portal.sign_in("viewer")
    page = await portal.client.get(SESSIONS)
    assert page.status_code == 200 and "/review" not in page.text  # no forms for a viewer
    forged = await portal.post(
        f"/sites/S1/sessions/{seeded['flagged']}/review",
        {"decision": "approve", "reason": "x"},
        from_page=SESSIONS,
    )
    assert forged.status_code == 403
    for path in ("/sites/S1/tariffs", "/sites/S1/subscribers", "/sites/S1/billing"):
        shown = await portal.client.get(path)
        assert (
            shown.status_code == 200 and 'type="submit" name="' not in shown.text.split("<main")[1]
        )
    run = await portal.post(
        "/sites/S1/billing", {"month": "2026-11", "action": "run"}, from_page="/sites/S1/billing"
    )
    assert run.status_code == 403
    other = await portal.client.get("/sites/S2/sessions")
    assert other.status_code == 403


async def test_tariffs_subscribers_and_their_errors(portal: Portal) -> None:
    seeded = await seed_owner(portal.env)
    await portal.sign_in("admin")
    page = "/sites/S1/tariffs"
    bad = await portal.post(page, {"name": "x", "energy": "two", "vat": "25"}, from_page=page)
    assert bad.status_code == 422 and "is not a number such as 2.50" in _message(bad.text)
    empty = await portal.post(page, {"name": "x", "energy": "", "time": ""}, from_page=page)
    assert empty.status_code == 422 and "give a price per kWh" in _message(empty.text)
    ok = await portal.post(
        page, {"name": "Evening", "energy": "3,10", "time": "12", "vat": "25"}, from_page=page
    )
    assert ok.status_code == 303
    shown = await portal.client.get(page)
    assert "ENERGY 3.10 (VAT 25 %)" in shown.text and "TIME 12 (VAT 25 %)" in shown.text
    version = await portal.post(
        page, {"tariff_id": str(seeded["tariff"]), "energy": "2.75"}, from_page=page
    )
    assert version.status_code == 303
    assert "v2" in (await portal.client.get(page)).text
    async with portal.env.engine.connect() as conn:
        names = [r[0] for r in (await conn.execute(select(tariffs.c.name))).all()]
    assert "Evening" in names

    subs = "/sites/S1/subscribers"
    invited = await portal.post(subs, {"email": "new@example.no", "name": "Kari"}, from_page=subs)
    assert invited.status_code == 303
    assert (
        "Invitation sent to new@example.no"
        in (await portal.client.get(invited.headers["location"])).text
    )
    wrong = await portal.post(subs, {"email": "not-an-address"}, from_page=subs)
    assert wrong.status_code == 422 and "is not an address" in _message(wrong.text)
    sub = seeded["subscriber"]
    detail = f"/subscribers/{sub}"
    for what, data in (
        ("discount", {"percent": "12.5"}),
        ("tokens", {"id_tag": "NEWCARD"}),
        ("plans", {"description": "Parking", "amount": "300.00", "first_period": "2026-12"}),
        ("state", {"action": "suspend"}),
    ):
        r = await portal.post(f"{detail}/{what}", data, from_page=detail)
        assert r.status_code == 303, (what, r.text)
    again = await portal.post(f"{detail}/state", {"action": "suspend"}, from_page=detail)
    assert again.status_code == 409 and "cannot suspend" in _message(again.text)
    shown = (await portal.client.get(detail)).text
    assert "NEWCARD" in shown and "Parking" in shown and "12.5 %" in shown
    async with portal.env.engine.connect() as conn:
        row = (
            (await conn.execute(select(subscribers).where(subscribers.c.id == sub)))
            .mappings()
            .one()
        )
    assert row["discount_bp"] == 1250 and row["state"] == "suspended"


async def test_the_audit_log_pages_back(portal: Portal) -> None:
    await seed_owner(portal.env)
    await portal.sign_in("admin")
    for n in range(55):  # more than a page of entries
        await portal.post(
            "/sites/S1/tariffs", {"name": f"T{n}", "energy": "1"}, from_page="/sites/S1/tariffs"
        )
    first = await portal.client.get("/sites/S1/audit")
    older = re.search(r'href="/sites/S1/audit\?before=(\d+)"', first.text)
    assert older and first.text.count("tariff.create") == 50
    second = await portal.client.get(f"/sites/S1/audit?before={older.group(1)}")
    assert second.status_code == 200 and "tariff.create" in second.text
    assert "before=" not in second.text.split("</table>")[1] or "Older" not in second.text
