"""PUT /api/v1/sites/{id}/security-profile: super-admin only, audited, a readable 422, and
the gateway applies it at the next connection."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from tests.integration.api.conftest import Api
from tests.integration.conftest import PASSWORD
from tests.support.ocpp_client import Charger

ROUTE = "/api/v1/sites/S2/security-profile"


async def test_super_admin_sets_it_and_plain_ws_is_refused_after(api: Api) -> None:
    assert (await api.call("super", "GET", "/api/v1/sites/S2")).json()["security_profile"] == 1
    ok = await Charger.connect(api.env.url("SECURE"), password=PASSWORD)
    await ok.close()
    changed = await api.call("super", "PUT", ROUTE, {"profile": 2})
    assert changed.status_code == 200, changed.text
    assert changed.json()["security_profile"] == 2 and changed.json()["id"] == "S2"
    entry = (await api.call("super", "GET", "/api/v1/audit?limit=1")).json()[0]
    assert entry["action"] == "site.security_profile" and entry["target_id"] == "S2"
    assert entry["before"] == {"security_profile": 1}
    assert entry["after"] == {"security_profile": 2}
    with pytest.raises(InvalidStatus) as info:
        await Charger.connect(api.env.url("SECURE"), password=PASSWORD)
    assert info.value.response.status_code == 403
    assert b"must connect with wss://" in info.value.response.body
    assert (await api.call("super", "PUT", ROUTE, {"profile": 1})).status_code == 200
    again = await Charger.connect(api.env.url("SECURE"), password=PASSWORD)
    await again.close()


async def test_only_a_super_admin(api: Api) -> None:
    for role, status in (("other_admin", 403), ("admin", 403), ("viewer", 403)):
        got = await api.call(role, "PUT", ROUTE, {"profile": 3})
        assert got.status_code == status, (role, got.text)
    assert (await api.call("anonymous", "PUT", ROUTE, {"profile": 3})).status_code == 401
    assert (await api.call("super", "GET", "/api/v1/sites/S2")).json()["security_profile"] == 1


@pytest.mark.parametrize("bad", [0, 4, "3", True, 2.0, None])
async def test_anything_but_1_2_3_is_a_readable_422(api: Api, bad: object) -> None:
    got = await api.call("super", "PUT", ROUTE, {"profile": bad})
    assert got.status_code == 422
    assert got.json()["field"] == "body.profile"
    assert got.json()["detail"].startswith(
        "body.profile: the security profile must be 1 (Basic Auth), 2 (TLS + Basic Auth) or 3 "
    )


async def test_unknown_site_and_extra_fields(api: Api) -> None:
    missing = await api.call("super", "PUT", "/api/v1/sites/NOPE/security-profile", {"profile": 2})
    assert missing.status_code == 404
    extra = await api.call("super", "PUT", ROUTE, {"profile": 2, "tls": True})
    assert extra.status_code == 422 and extra.json()["field"] == "body.tls"
