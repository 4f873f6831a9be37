"""GET /api/v1/mail and POST /api/v1/mail/{id}/retry: who sees which site's mails, no bodies."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from store.mail_schema import mail_outbox
from tests.integration.api.conftest import Api


async def invite(api: Api, role: str, site: str, email: str) -> dict:
    response = await api.call(role, "POST", f"/api/v1/sites/{site}/invitations", {"email": email})
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_invitation_through_the_api_queues_its_mail(api: Api) -> None:
    s1 = await invite(api, "admin", "S1", "kari@example.no")
    await invite(api, "super", "S2", "ola@example.no")
    listed = await api.call("super", "GET", "/api/v1/mail")
    assert listed.status_code == 200, listed.text
    everything = listed.json()
    assert [(m["site_id"], m["recipient"], m["kind"]) for m in everything] == [
        ("S2", "ola@example.no", "invitation"),
        ("S1", "kari@example.no", "invitation"),
    ]
    first = everything[1]
    assert first["state"] == "pending" and first["attempts"] == 0
    assert first["dedup_key"] == f"invitation:S1:{s1['subscriber_id']}"
    # the bodies hold the one-time link: never listed
    assert "text_body" not in first and "html_body" not in first
    assert s1["token"] not in listed.text

    own = (await api.call("admin", "GET", "/api/v1/mail")).json()
    assert [m["site_id"] for m in own] == ["S1"]
    assert (await api.call("admin", "GET", "/api/v1/mail?site_id=S2")).status_code == 403
    assert (await api.call("viewer", "GET", "/api/v1/mail")).status_code == 403
    assert (await api.call("anonymous", "GET", "/api/v1/mail")).status_code == 401
    bad = await api.call("super", "GET", "/api/v1/mail?state=lost")
    assert bad.status_code == 422 and "state" in bad.text
    assert (await api.call("super", "GET", "/api/v1/mail?state=sent")).json() == []


async def test_retry_a_failed_mail(api: Api) -> None:
    await invite(api, "admin", "S1", "kari@example.no")
    await invite(api, "super", "S2", "ola@example.no")
    async with api.env.engine.begin() as conn:
        await conn.execute(
            update(mail_outbox).values(state="failed", attempts=12, last_error="550 no such user")
        )
    mails = {m["site_id"]: m for m in (await api.call("super", "GET", "/api/v1/mail")).json()}
    assert mails["S1"]["last_error"] == "550 no such user"
    s1, s2 = mails["S1"]["id"], mails["S2"]["id"]
    assert (await api.call("admin", "POST", f"/api/v1/mail/{s2}/retry")).status_code == 403
    audit_before = await api.audit_count()
    retried = await api.call("admin", "POST", f"/api/v1/mail/{s1}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["attempts"]) == ("pending", 0)
    assert await api.audit_count() == audit_before + 1
    async with api.env.engine.begin() as conn:
        await conn.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id == s1)
            .values(state="sent", sent_at=datetime.now(UTC))
        )
    again = await api.call("admin", "POST", f"/api/v1/mail/{s1}/retry")
    assert again.status_code == 409 and "was sent" in again.json()["detail"]
    assert (await api.call("super", "POST", "/api/v1/mail/999999/retry")).status_code == 404
