"""Versioned tariffs through the API, and sessions priced with the version they started on."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from store.schema import tokens
from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger, at


def energy_tariff(price: str) -> str:
    # raw JSON text: the price must reach the tariff engine exactly as written
    return (
        '{"currency": "NOK", "elements": [{"price_components": '
        f'[{{"type": "ENERGY", "price": {price}, "step_size": 1}}]}}]}}'
    )


async def post_raw(api: Api, method: str, path: str, text: str) -> dict:  # type: ignore[type-arg]
    response = await api.client.request(
        method,
        path,
        content=text,
        headers={
            "Authorization": f"Bearer {api.tokens['admin']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_a_tariff_edit_is_a_new_version_and_running_sessions_keep_theirs(api: Api) -> None:
    created = await post_raw(
        api, "POST", "/api/v1/tariffs?site_id=S1&name=home", energy_tariff("2.5")
    )
    tariff_id, v1 = created["id"], created["version_id"]
    assert created["version"] == 1
    assert (
        await api.call("admin", "PUT", "/api/v1/chargers/CP1/tariff", {"tariff_id": tariff_id})
    ).status_code == 200

    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    first = (await cp.start("TAG1", 21000, at(0)))["transactionId"]
    assert first != api.seeded["session"]
    await cp.meter(first, at(30), "26000")
    edited = await post_raw(
        api, "PUT", f"/api/v1/tariffs/{tariff_id}", energy_tariff("5.123456789012345678901")
    )
    assert edited["version"] == 2 and edited["version_id"] != v1
    await cp.stop(first, 31000, at(60))
    second = (await cp.start("TAG1", 31000, at(70)))["transactionId"]
    await cp.stop(second, 32000, at(80))

    shown = await api.call("viewer", "GET", f"/api/v1/tariffs/{tariff_id}")
    versions = shown.json()["versions"]
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    # numbers come back exactly as written (no float on the way)
    assert '"price": 5.123456789012345678901' in shown.text

    old = (await api.call("viewer", "GET", f"/api/v1/sessions/{first}")).json()
    assert old["tariff_id"] == v1
    assert old["price"]["tariff_version"] == {
        "version_id": v1,
        "tariff_id": tariff_id,
        "version": 1,
    }
    assert Decimal(str(old["price"]["total_energy"])) == Decimal(10)
    assert Decimal(str(old["price"]["total_cost"]["excl_vat"])) == Decimal("25")
    assert [s["energy_mwh"] for s in old["samples"]] == [26_000_000]
    assert len(old["price"]["charging_periods"]) >= 1
    new = (await api.call("viewer", "GET", f"/api/v1/sessions/{second}")).json()
    assert new["tariff_id"] == edited["version_id"]
    assert Decimal(str(new["price"]["total_cost"]["excl_vat"])) == Decimal("5.1235")
    await cp.close()


async def test_tariff_input_errors_name_the_field(api: Api) -> None:
    bad = await api.call(
        "admin",
        "POST",
        "/api/v1/tariffs",
        {
            "currency": "NOK",
            "elements": [{"price_components": [{"type": "ENERGY", "price": "x", "step_size": 1}]}],
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "elements[0].price_components[0].price"
    for absurd, why in (("1e20", "at most"), ("9" * 30, "at most"), ("-1", "at least")):
        refused = await api.call(
            "admin",
            "POST",
            "/api/v1/tariffs",
            {
                "currency": "NOK",
                "elements": [
                    {"price_components": [{"type": "ENERGY", "price": absurd, "step_size": 1}]}
                ],
            },
        )
        assert refused.status_code == 422 and why in refused.json()["detail"], refused.text
        assert refused.json()["field"] == "elements[0].price_components[0].price"
    capped = await api.call(
        "admin",
        "POST",
        "/api/v1/tariffs",
        {
            "currency": "NOK",
            "min_price": {"excl_vat": 1e20},
            "elements": [{"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]}],
        },
    )
    assert capped.status_code == 422 and capped.json()["field"] == "min_price.excl_vat"
    missing = await api.call("admin", "POST", "/api/v1/tariffs", {"currency": "NOK"})
    assert missing.status_code == 422 and missing.json()["field"] == "elements"
    foreign = await api.call(
        "admin", "POST", "/api/v1/tariffs", {"currency": "EUR", "elements": []}
    )
    assert foreign.status_code == 422
    wrong_currency = await api.call(
        "admin",
        "POST",
        "/api/v1/tariffs?site_id=S1",
        {
            "currency": "EUR",
            "elements": [{"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]}],
        },
    )
    assert wrong_currency.status_code == 422 and wrong_currency.json()["field"] == "currency"
    simple = await api.call("admin", "POST", "/api/v1/tariffs/simple", {"text": "2.50 per parsec"})
    assert simple.status_code == 422 and simple.json()["field"] == "text"
    not_json = await api.client.post(
        "/api/v1/tariffs",
        content=b"{nope",
        headers={"Authorization": f"Bearer {api.tokens['admin']}"},
    )
    assert not_json.status_code == 422 and not_json.json()["detail"].startswith("body:")
    unknown = await api.call("admin", "PUT", "/api/v1/chargers/CP1/tariff", {"tariff_id": 999})
    assert unknown.status_code == 404
    nothing_written = (await api.call("super", "GET", "/api/v1/tariffs")).json()
    assert len(nothing_written) == 2  # the two seeded ones only


async def test_simple_tariff_and_the_site_currency(api: Api) -> None:
    made = await api.call(
        "admin",
        "POST",
        "/api/v1/tariffs/simple",
        {"text": "2.50 per kWh + 10 start fee", "vat_percent": "25"},
    )
    assert made.status_code == 201, made.text
    tariff = (await api.call("admin", "GET", f"/api/v1/tariffs/{made.json()['id']}")).json()
    assert tariff["site_id"] == "S1" and tariff["currency"] == "NOK"
    ocpi = tariff["versions"][0]["tariff"]
    assert {c["type"] for e in ocpi["elements"] for c in e["price_components"]} == {
        "ENERGY",
        "FLAT",
    }


async def test_session_filters(api: Api) -> None:
    cp = await Charger.connect(api.env.url("CP2"))
    await cp.boot()
    mine = (await cp.start("TAG1", 0, at(0)))["transactionId"]
    await cp.stop(mine, 500, at(5))
    other = (await cp.start("NOBODY", 0, at(-600)))["transactionId"]  # late and unknown: flagged
    await cp.stop(other, -5, at(-590))

    async def ids(query: str) -> list[int]:
        response = await api.call("viewer", "GET", f"/api/v1/sessions?{query}")
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()]

    seeded = api.seeded["session"]
    assert await ids("charger_id=CP2") == [other, mine]
    assert await ids(f"subscriber_id={api.seeded['active']}") == [mine, seeded]
    assert await ids("flagged=true") == [other]
    assert await ids("charger_id=CP2&flagged=false") == [mine]
    assert await ids("from=2026-10-14T08:00:00Z&to=2026-10-14T10:00:00%2B01:00") == [mine, seeded]
    assert await ids("limit=1") == [other]
    naive = await api.call("viewer", "GET", "/api/v1/sessions?from=2026-10-14T08:00:00")
    assert naive.status_code == 422 and naive.json()["field"] == "query.from"
    # the card changes hands: a session keeps the subscriber it started with (the snapshot
    # billing uses); only the old seeded session, which has none, follows the token's owner
    async with api.env.engine.begin() as conn:
        await conn.execute(
            update(tokens)
            .where(tokens.c.id_tag == "TAG1")
            .values(subscriber_id=api.seeded["suspended"])
        )
    assert await ids(f"subscriber_id={api.seeded['active']}") == [mine]
    assert await ids(f"subscriber_id={api.seeded['suspended']}") == [seeded]
    await cp.close()
