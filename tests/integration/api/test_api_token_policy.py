"""Token expiry and a site's auth policy, set over the API and answered over a real socket:
Authorize and StartTransaction say Expired (with idTagInfo.expiryDate) or Invalid, and a
remote start the charger would refuse is refused with 422 before any frame is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger, at

REMOTE_START = "/api/v1/chargers/CP1/commands/remote-start"
BY_NAME = "/api/v1/chargers/CP1/commands/remote-start-transaction"


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def expire(api: Api, id_tag: str, when: datetime | None) -> dict[str, object]:
    body = {"expires_at": iso(when) if when else None}
    changed = await api.call("admin", "PATCH", f"/api/v1/sites/S1/tokens/{id_tag}", body)
    assert changed.status_code == 200, changed.text
    return changed.json()  # type: ignore[no-any-return]


async def authorize(cp: Charger, id_tag: str) -> dict[str, object]:
    return (await cp.call("Authorize", {"idTag": id_tag}))["idTagInfo"]  # type: ignore[no-any-return]


async def test_authorize_before_and_after_the_expiry(api: Api) -> None:
    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    assert await authorize(cp, "TAG2") == {"status": "Accepted"}  # no expiry: no expiryDate
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    assert (await expire(api, "TAG2", later))["expires_at"] == later.isoformat()
    info = await authorize(cp, "TAG2")
    assert info == {"status": "Accepted", "expiryDate": later.isoformat()}
    assert datetime.fromisoformat(str(info["expiryDate"])) == later  # a string, exact
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    await expire(api, "TAG2", past)
    assert await authorize(cp, "TAG2") == {"status": "Expired", "expiryDate": past.isoformat()}
    await expire(api, "TAG2", None)  # cleared: accepted again
    assert await authorize(cp, "TAG2") == {"status": "Accepted"}
    entries = (await api.call("admin", "GET", "/api/v1/audit?limit=3")).json()
    assert [e["action"] for e in entries] == ["token.expiry"] * 3
    assert entries[0]["before"]["expires_at"] == past.isoformat()
    assert entries[0]["after"] == {"id_tag": "TAG2", "expires_at": None}
    await cp.close()


async def test_start_transaction_with_an_expired_tag_is_expired_in_both_modes(api: Api) -> None:
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await expire(api, "TAG1", past)  # an active subscriber's card: expiry wins in monthly mode
    await expire(api, "TAG2", past)
    await api.env.set_charger("CP2", monthly_payment=True)
    cp1 = await Charger.connect(api.env.url("CP1"))
    cp2 = await Charger.connect(api.env.url("CP2"))
    await cp1.boot()
    await cp2.boot()
    started = await cp1.start("TAG2", 100, at(0))
    assert started["idTagInfo"] == {"status": "Expired", "expiryDate": past.isoformat()}
    monthly = await cp2.start("TAG1", 100, at(0))
    assert monthly["idTagInfo"] == {"status": "Expired", "expiryDate": past.isoformat()}
    stored = {s["id"]: s["auth_status"] for s in await api.env.sessions()}
    assert stored[started["transactionId"]] == "Expired"
    assert stored[monthly["transactionId"]] == "Expired"
    # monthly-payment rules otherwise unchanged: a suspended subscriber's card is Blocked
    assert (await cp2.start("SUSP", 100, at(1), connector=2))["idTagInfo"] == {"status": "Blocked"}
    await cp1.close()
    await cp2.close()


async def test_policy_open_accepts_an_unknown_tag_and_registered_does_not(api: Api) -> None:
    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    assert (await api.call("viewer", "GET", "/api/v1/sites/S1")).json()["auth_policy"] == "open"
    assert await authorize(cp, "STRANGER") == {"status": "Accepted"}
    changed = await api.call("admin", "PATCH", "/api/v1/sites/S1", {"auth_policy": "registered"})
    assert changed.status_code == 200 and changed.json()["auth_policy"] == "registered"
    entry = (await api.call("admin", "GET", "/api/v1/audit?limit=1")).json()[0]
    assert entry["action"] == "site.update" and entry["after"]["auth_policy"] == "registered"
    assert await authorize(cp, "STRANGER") == {"status": "Invalid"}
    assert await authorize(cp, "TAG2") == {"status": "Accepted"}  # registered at S1
    assert await authorize(cp, "BLOCKED") == {"status": "Blocked"}
    started = await cp.start("STRANGER", 100, at(0))
    assert started["idTagInfo"] == {"status": "Invalid"}
    await cp.close()


async def test_bad_values_are_422(api: Api) -> None:
    path = "/api/v1/sites/S1/tokens/TAG2"
    naive = await api.call("admin", "PATCH", path, {"expires_at": "2027-01-31T23:59:59"})
    assert naive.status_code == 422
    garbage = await api.call("admin", "PATCH", path, {"expires_at": "soon"})
    assert garbage.status_code == 422
    policy = await api.call("admin", "PATCH", "/api/v1/sites/S1", {"auth_policy": "closed"})
    assert policy.status_code == 422
    unknown = await api.call("admin", "PATCH", "/api/v1/sites/S1/tokens/NOPE", {"expires_at": None})
    assert unknown.status_code == 404
    other = await api.call("other_admin", "PATCH", path, {"expires_at": None})
    assert other.status_code == 403


async def test_remote_start_is_refused_before_the_charger_hears_of_it(api: Api) -> None:
    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    await expire(api, "TAG2", past)
    await api.call("admin", "PATCH", "/api/v1/sites/S1", {"auth_policy": "registered"})
    audited = await api.audit_count()
    expired = await api.call("admin", "POST", REMOTE_START, {"id_tag": "TAG2"})
    assert expired.status_code == 422
    assert f"expired at {past.isoformat()}" in expired.json()["detail"]
    stranger = await api.call("admin", "POST", REMOTE_START, {"id_tag": "STRANGER"})
    assert stranger.status_code == 422
    assert "accepts only registered tags" in stranger.json()["detail"]
    await api.env.set_charger("CP1", monthly_payment=True)
    suspended = await api.call("admin", "POST", REMOTE_START, {"id_tag": "SUSP"})
    assert suspended.status_code == 422 and "subscriber suspended" in suspended.json()["detail"]
    # the same check by the command's OCPP name, with the OCPP payload
    by_name = await api.call("admin", "POST", BY_NAME, {"idTag": "TAG2", "connectorId": 1})
    assert by_name.status_code == 422 and "expired at" in by_name.json()["detail"]
    assert await api.audit_count() == audited  # nothing sent, nothing audited
    # the accepted one goes through: the charger's first remote call is that one
    ok = await api.call("admin", "POST", REMOTE_START, {"id_tag": "TAG1"})
    assert ok.status_code == 200, ok.text
    assert [c for c in cp.received_calls if c[0] == "RemoteStartTransaction"] == [
        ("RemoteStartTransaction", {"idTag": "TAG1"})
    ]
    await cp.close()
