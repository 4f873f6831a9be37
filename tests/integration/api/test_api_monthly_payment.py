"""Monthly payment end to end: switched through the API, enforced on a real OCPP socket."""

from __future__ import annotations

from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger, at


async def authorize(cp: Charger, id_tag: str) -> str:
    return str((await cp.call("Authorize", {"idTag": id_tag}))["idTagInfo"]["status"])


async def test_who_may_charge_follows_the_switch_and_running_sessions_keep_their_mode(
    api: Api,
) -> None:
    # seed: TAG1 belongs to an active subscriber, SUSP to a suspended one; TAG2 to nobody
    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    assert await authorize(cp, "STRANGER") == "Accepted"  # not in monthly mode yet

    # only a super-admin may switch it, and only on a business site
    denied = await api.call(
        "admin", "PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": True}
    )
    assert denied.status_code == 403
    basic = await api.call(
        "super", "PUT", "/api/v1/chargers/NOPASS/monthly-payment", {"enabled": True}
    )
    assert basic.status_code == 409 and "business" in basic.json()["detail"]

    switched = await api.call(
        "super", "PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": True}
    )
    assert switched.status_code == 200, switched.text
    on = switched.json()
    assert on["monthly_payment"] is True and on["changed"] is True
    assert on["active_subscribers"] == 1 and on["usable_tokens"] == 1
    assert "active subscribers" in on["who_may_charge"]

    assert await authorize(cp, "STRANGER") == "Invalid"  # unknown token
    assert await authorize(cp, "TAG2") == "Invalid"  # a site token of no subscriber
    assert await authorize(cp, "SUSP") == "Blocked"  # a suspended subscriber
    assert await authorize(cp, "TAG1") == "Accepted"  # an active subscriber

    # reactivating the suspended subscriber lets its token charge at once
    sid = api.seeded["suspended"]
    assert (
        await api.call("admin", "POST", f"/api/v1/subscribers/{sid}/reactivate")
    ).status_code == 200
    assert await authorize(cp, "SUSP") == "Accepted"

    started = await cp.start("TAG1", 5000, at(0))
    assert started["idTagInfo"]["status"] == "Accepted"
    tx = started["transactionId"]

    # switched off mid-session: the answer names the running session, which keeps its mode
    off = await api.call("super", "PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": False})
    assert off.status_code == 200
    assert off.json()["running_sessions"] == [
        {"id": tx, "connector_id": 1, "monthly_payment": True, "keeps_monthly_payment": True}
    ]
    assert await authorize(cp, "STRANGER") == "Accepted"
    await cp.stop(tx, 6000, at(30))
    later = await cp.start("STRANGER", 6000, at(40))
    assert later["idTagInfo"]["status"] == "Accepted"

    first = (await api.call("viewer", "GET", f"/api/v1/sessions/{tx}")).json()
    second = (await api.call("viewer", "GET", f"/api/v1/sessions/{later['transactionId']}")).json()
    assert first["monthly_payment"] is True and first["energy_wh"] == 1000
    assert second["monthly_payment"] is False
    audit = (await api.call("super", "GET", "/api/v1/audit?limit=5")).json()
    switches = [e for e in audit if e["action"] == "charger.monthly_payment"]
    assert [e["after"] for e in switches] == [{"monthly_payment": False}, {"monthly_payment": True}]
    assert switches[0]["actor"].startswith("token:") and switches[0]["before"] == {
        "monthly_payment": True
    }
    await cp.close()


async def test_a_site_cannot_leave_the_business_plan_with_monthly_chargers(api: Api) -> None:
    await api.call("super", "PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": True})
    refused = await api.call("super", "PATCH", "/api/v1/sites/S1", {"plan": "basic"})
    assert refused.status_code == 409 and "monthly payment" in refused.json()["detail"]
    site = (await api.call("super", "GET", "/api/v1/sites/S1")).json()
    assert site["plan"] == "business"


async def test_switching_writes_an_event_with_the_change(api: Api) -> None:
    from sqlalchemy import select

    from store.schema import outbox

    async def events() -> list[dict]:
        async with api.env.engine.connect() as conn:
            rows = await conn.execute(
                select(outbox).where(outbox.c.kind == "charger_monthly_payment")
            )
            return [dict(r) for r in rows.mappings()]

    assert await events() == []
    for enabled in (True, True, False):  # the repeated switch changes nothing: no event
        response = await api.call(
            "super", "PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": enabled}
        )
        assert response.status_code == 200
    written = await events()
    assert [e["payload"]["enabled"] for e in written] == [True, False]
    assert {(e["site_id"], e["charger_id"]) for e in written} == {("S1", "CP1")}
