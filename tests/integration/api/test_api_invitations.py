"""The invitation flow: invite, read the link's page, accept once, and every way it fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from store.schema import invitations
from tests.integration.api.conftest import Api

ACCEPT = {
    "name": "Kari Nordmann",
    "email": "kari@example.no",
    "language": "nb",
    "payment_method": "stripe",
}


async def test_invite_accept_and_charge_as_a_subscriber(api: Api) -> None:
    invited = await api.call(
        "admin", "POST", "/api/v1/sites/S1/invitations", {"email": "kari@example.no"}
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    token = body["token"]
    assert body["link"] == f"http://evgate.test/invite/{token}"  # the portal page
    pending = (
        await api.call("admin", "GET", f"/api/v1/subscribers/{body['subscriber_id']}")
    ).json()
    assert pending["state"] == "invited"

    page = await api.client.get(f"/api/v1/invitations/{token}")  # no bearer token
    assert page.status_code == 200
    assert page.json()["site_id"] == "S1" and page.json()["accepted"] is False
    assert page.json()["email"] == "kari@example.no"  # the invitee sees whom it is for

    accepted = await api.client.post(f"/api/v1/invitations/{token}/accept", json=ACCEPT)
    assert accepted.status_code == 201, accepted.text
    subscriber_id = accepted.json()["subscriber_id"]
    assert subscriber_id == body["subscriber_id"]
    again = await api.client.post(f"/api/v1/invitations/{token}/accept", json=ACCEPT)
    assert again.status_code == 409 and "already" in again.json()["detail"]
    used = (await api.client.get(f"/api/v1/invitations/{token}")).json()
    assert used["accepted"] is True and used["email"] is None  # no longer shows the invitee

    row = (await api.call("viewer", "GET", f"/api/v1/subscribers/{subscriber_id}")).json()
    assert row["state"] == "active" and row["payment_method"] == "stripe"
    assert row["name"] == "Kari Nordmann" and row["language"] == "nb"

    # terms and a 15 % partner discount, kept in basis points
    changed = await api.call(
        "admin",
        "PATCH",
        f"/api/v1/subscribers/{subscriber_id}",
        {"discount_percent": "15", "payment_terms_days": 10},
    )
    assert changed.status_code == 200
    assert changed.json()["discount_bp"] == 1500 and changed.json()["discount_percent"] == "15.00"
    added = await api.call(
        "admin", "POST", f"/api/v1/subscribers/{subscriber_id}/tokens", {"id_tag": "KARI-1"}
    )
    assert added.status_code == 201
    taken = await api.call(
        "admin", "POST", f"/api/v1/subscribers/{api.seeded['active']}/tokens", {"id_tag": "KARI-1"}
    )
    assert taken.status_code == 409 and "another subscriber" in taken.json()["detail"]
    shown = (await api.call("admin", "GET", f"/api/v1/subscribers/{subscriber_id}")).json()
    assert shown["tokens"] == [{"id_tag": "KARI-1", "state": "active"}]

    # the state machine: suspend, reactivate, cancel; cancelled is final
    for action, state in (
        ("suspend", "suspended"),
        ("reactivate", "active"),
        ("cancel", "cancelled"),
    ):
        moved = await api.call("admin", "POST", f"/api/v1/subscribers/{subscriber_id}/{action}")
        assert moved.status_code == 200 and moved.json()["state"] == state
    stuck = await api.call("admin", "POST", f"/api/v1/subscribers/{subscriber_id}/reactivate")
    assert stuck.status_code == 409 and "cancelled" in stuck.json()["detail"]


async def test_invitations_that_cannot_be_accepted(api: Api) -> None:
    unknown = await api.client.post("/api/v1/invitations/inv_nothing/accept", json=ACCEPT)
    assert unknown.status_code == 404
    bad = await api.client.post(
        f"/api/v1/invitations/{api.seeded['invitation']}/accept",
        json={**ACCEPT, "payment_method": "cash"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "body.payment_method"
    no_mail = await api.client.post(
        f"/api/v1/invitations/{api.seeded['invitation']}/accept",
        json={**ACCEPT, "email": "not-an-address"},
    )
    assert no_mail.status_code == 422 and "e-mail" in no_mail.json()["detail"]

    async with api.env.engine.begin() as conn:
        await conn.execute(
            update(invitations).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await api.client.post(
        f"/api/v1/invitations/{api.seeded['invitation']}/accept", json=ACCEPT
    )
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]

    fresh = (
        await api.call("admin", "POST", "/api/v1/sites/S1/invitations", {"email": "x@example.no"})
    ).json()
    cancel = await api.call("admin", "POST", f"/api/v1/subscribers/{fresh['subscriber_id']}/cancel")
    assert cancel.status_code == 200
    withdrawn = await api.client.post(f"/api/v1/invitations/{fresh['token']}/accept", json=ACCEPT)
    assert withdrawn.status_code == 409 and "withdrawn" in withdrawn.json()["detail"]
    # none of the failures activated anybody
    states = {
        s["id"]: s["state"] for s in (await api.call("super", "GET", "/api/v1/subscribers")).json()
    }
    assert (
        states[api.seeded["invited"]] == "invited" and states[fresh["subscriber_id"]] == "cancelled"
    )
