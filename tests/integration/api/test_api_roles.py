"""Every endpoint under every role: who may read, who may change, and nothing else.

Who may do what does not depend on the engine, so this matrix runs on SQLite only (the
property-based run and the flow tests cover every endpoint's SQL on PostgreSQL too).

Roles (conftest): anonymous, viewer (site S1), viewer_all (no site), other_admin (site S2),
admin (site S1), super. The resources acted on belong to S1 unless said otherwise. Roles are
tried in ROLES order, refused ones first; a refused call must leave no audit entry behind.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import ROLES, Api


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only here (overrides tests/conftest.py's two-engine db_url): a migrated copy."""
    shutil.copyfile(sqlite_template, tmp_path / "evgate.db")
    return f"sqlite+aiosqlite:///{tmp_path}/evgate.db"


READ = {"anonymous": 401, "viewer": 200, "viewer_all": 200, "other_admin": 403}
WRITE = {"anonymous": 401, "viewer": 403, "viewer_all": 403, "other_admin": 403}
SUPER = {**WRITE, "admin": 403}
LIST = {"anonymous": 401, "viewer": 200, "viewer_all": 200, "other_admin": 200}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # "{role}" and "{seed_name}" are filled in
    body: Any = None
    expected: dict[str, int] = field(default_factory=dict)

    def status(self, role: str) -> int:
        return self.expected[role]


def read(path: str, ok: int = 200, **over: int) -> Case:
    return Case("GET", path, None, {**READ, "admin": ok, "super": ok, **over})


def listing(path: str, **over: int) -> Case:
    return Case("GET", path, None, {**LIST, "admin": 200, "super": 200, **over})


def write(method: str, path: str, body: Any, ok: int = 200, **over: int) -> Case:
    return Case(method, path, body, {**WRITE, "admin": ok, "super": ok, **over})


def super_only(method: str, path: str, body: Any, ok: int = 200, **over: int) -> Case:
    return Case(method, path, body, {**SUPER, "super": ok, **over})


def public(method: str, path: str, body: Any, first: int, then: int) -> Case:
    return Case(method, path, body, {r: (first if r == "anonymous" else then) for r in ROLES})


TARIFF = {
    "currency": "NOK",
    "elements": [{"price_components": [{"type": "ENERGY", "price": "3.10", "step_size": 1}]}],
}
CASES: dict[str, Case] = {
    "healthz": public("GET", "/healthz", None, 200, 200),
    "metrics": public("GET", "/metrics", None, 200, 200),
    "list sites": listing("/api/v1/sites"),
    "create site": super_only(
        "POST",
        "/api/v1/sites",
        {"id": "NEW-{role}", "tz": "Europe/Oslo", "currency": "NOK", "vat_percent": "25"},
        201,
    ),
    "read site": read("/api/v1/sites/S1"),
    "site activity": read("/api/v1/sites/S1/activity"),
    "subscriber activity": read("/api/v1/subscribers/{active}/activity"),
    "update site": write("PATCH", "/api/v1/sites/S1", {"payment_terms_days": 14}),
    "change plan": super_only("PATCH", "/api/v1/sites/S1", {"plan": "business"}),
    "list chargers": listing("/api/v1/chargers"),
    "read charger": read("/api/v1/chargers/CP1"),
    "register charger": write("POST", "/api/v1/sites/S1/chargers", {"id": "N-{role}"}, 201),
    "approve charger": super_only("POST", "/api/v1/chargers/CP1/approve", {"site_id": "S1"}, 409),
    "set password": write(
        "PUT", "/api/v1/chargers/CP1/password", {"password": "a-long-enough-secret-1"}
    ),
    "assign tariff": write("PUT", "/api/v1/chargers/CP1/tariff", {"tariff_id": "{tariff_s1}"}),
    "monthly payment": super_only("PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": True}),
    # the charger is offline: a role that may command it gets 409, one that may not 401/403
    "remote start": write(
        "POST", "/api/v1/chargers/CP1/commands/remote-start", {"id_tag": "TAG1"}, 409
    ),
    "remote stop": write(
        "POST", "/api/v1/chargers/CP1/commands/remote-stop", {"transaction_id": 1}, 409
    ),
    "reset": write("POST", "/api/v1/chargers/CP1/commands/reset", {"type": "Soft"}, 409),
    "unlock": write("POST", "/api/v1/chargers/CP1/commands/unlock", {"connector_id": 1}, 409),
    "change availability": write(
        "POST",
        "/api/v1/chargers/CP1/commands/change-availability",
        {"connector_id": 0, "type": "Inoperative"},
        409,
    ),
    "trigger": write(
        "POST", "/api/v1/chargers/CP1/commands/trigger", {"message": "Heartbeat"}, 409
    ),
    "charging profiles": read("/api/v1/chargers/CP1/charging-profiles"),
    "site power limit": write("PUT", "/api/v1/sites/S1/power-limit", {"kw": "22"}),
    "create tariff": write("POST", "/api/v1/tariffs?site_id=S1", TARIFF, 201),
    # no site_id: a super-admin makes a tariff for every site, an admin one for its own site
    "create tariff, no site": write("POST", "/api/v1/tariffs", TARIFF, 201, other_admin=201),
    "create simple tariff": write(
        "POST", "/api/v1/tariffs/simple", {"text": "2.50 per kWh", "site_id": "S1"}, 201
    ),
    "list tariffs": listing("/api/v1/tariffs"),
    "read tariff": read("/api/v1/tariffs/{tariff_s1}"),
    "read global tariff": read("/api/v1/tariffs/{tariff_global}", other_admin=200),
    "edit tariff": write("PUT", "/api/v1/tariffs/{tariff_s1}", TARIFF),
    "edit global tariff": super_only("PUT", "/api/v1/tariffs/{tariff_global}", TARIFF),
    "invite": write("POST", "/api/v1/sites/S1/invitations", {"email": "{role}@example.no"}, 201),
    "list subscribers": listing("/api/v1/subscribers"),
    "read subscriber": read("/api/v1/subscribers/{active}"),
    "update subscriber": write(
        "PATCH",
        "/api/v1/subscribers/{active}",
        {"discount_percent": "15", "payment_terms_days": 10},
    ),
    # the second caller finds the state changed already: 409 says why
    "suspend": write("POST", "/api/v1/subscribers/{active}/suspend", None, super=409),
    "reactivate": write("POST", "/api/v1/subscribers/{suspended}/reactivate", None, super=409),
    "cancel": write("POST", "/api/v1/subscribers/{active}/cancel", None, super=409),
    "add token": write("POST", "/api/v1/subscribers/{active}/tokens", {"id_tag": "T-{role}"}, 201),
    "remove token": write(
        "DELETE", "/api/v1/subscribers/{active}/tokens/TAG1", None, 204, super=404
    ),
    "list sessions": listing("/api/v1/sessions"),
    "read session": read("/api/v1/sessions/{session}"),
    "audit log": listing("/api/v1/audit"),
    "create api token": super_only(
        "POST", "/api/v1/api-tokens", {"role": "viewer", "site_id": "S1"}, 201
    ),
    "list api tokens": super_only("GET", "/api/v1/api-tokens", None),
    "revoke api token": super_only("DELETE", "/api/v1/api-tokens/5", None, 204),
    # public: the invitation token is the credential, a bearer token changes nothing
    "show invitation": public("GET", "/api/v1/invitations/{invitation}", None, 200, 200),
    "accept invitation": public(
        "POST",
        "/api/v1/invitations/{invitation}/accept",
        {"name": "Kari", "email": "kari@example.no", "language": "nb", "payment_method": "manual"},
        201,
        409,
    ),
}


def fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in values:
            return values[value[1:-1]]  # a whole-field placeholder keeps its type (ids)
        return value.format(**values)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


@pytest.mark.parametrize("name", list(CASES))
async def test_endpoint_under_every_role(api: Api, name: str) -> None:
    case = CASES[name]
    # public endpoints first try the anonymous caller; the others the refused roles first
    for role in ROLES:
        values = {**api.seeded, "role": role}
        before = await api.audit_count()
        response = await api.call(
            role, case.method, fill(case.path, values), fill(case.body, values)
        )
        expected = case.status(role)
        assert response.status_code == expected, (role, response.status_code, response.text)
        if expected >= 400:
            body = response.json()
            assert isinstance(body["detail"], str) and body["detail"], body
            assert await api.audit_count() == before, f"{role}: a refused call left an audit entry"
        elif case.method != "GET" and case.expected.get("anonymous") != 200:
            assert await api.audit_count() == before + 1, f"{role}: a write without audit entry"


async def test_listings_show_only_what_a_token_may_see(api: Api) -> None:
    async def ids(role: str, path: str, key: str = "site_id") -> set[Any]:
        response = await api.call(role, "GET", path)
        assert response.status_code == 200, response.text
        return {row[key] for row in response.json()}

    assert await ids("admin", "/api/v1/sites", "id") == {"S1"}
    assert await ids("super", "/api/v1/sites", "id") == {"S1", "S2"}
    assert await ids("viewer_all", "/api/v1/sites", "id") == {"S1", "S2"}
    assert await ids("other_admin", "/api/v1/chargers") == {"S2"}
    assert await ids("viewer", "/api/v1/chargers") == {"S1"}
    assert await ids("super", "/api/v1/chargers") == {"S1", "S2"}
    assert await ids("other_admin", "/api/v1/subscribers") == {"S2"}
    assert await ids("admin", "/api/v1/subscribers") == {"S1"}
    # a site's tariffs and the global ones, never another site's
    assert await ids("other_admin", "/api/v1/tariffs") == {None}
    assert await ids("admin", "/api/v1/tariffs") == {"S1", None}
    mine = await api.call("other_admin", "POST", "/api/v1/tariffs", TARIFF)
    assert await ids("other_admin", "/api/v1/tariffs") == {"S2", None}
    read_by_s1 = await api.call("admin", "GET", f"/api/v1/tariffs/{mine.json()['id']}")
    assert read_by_s1.status_code == 403
    assert (await api.call("other_admin", "GET", "/api/v1/sessions?site_id=S1")).status_code == 403
    assert await ids("other_admin", "/api/v1/sessions", "id") == set()
    assert await ids("viewer", "/api/v1/sessions", "id") == {api.seeded["session"]}


async def test_secrets_never_come_back(api: Api) -> None:
    tokens = (await api.call("super", "GET", "/api/v1/api-tokens")).json()
    assert len(tokens) == 5 and all("token_hash" not in t and "token" not in t for t in tokens)
    await api.call("admin", "PUT", "/api/v1/chargers/CP1/password", {"password": "x" * 20})
    charger = (await api.call("admin", "GET", "/api/v1/chargers/CP1")).json()
    assert charger["has_password"] is True and "password_hash" not in charger
    entries = (await api.call("super", "GET", "/api/v1/audit")).json()
    assert entries[0]["action"] == "charger.password"
    assert entries[0]["after"] == {"has_password": True}


async def test_a_revoked_or_made_up_token_is_refused(api: Api) -> None:
    created = await api.call(
        "super", "POST", "/api/v1/api-tokens", {"role": "admin", "site_id": "S1"}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/sites/S1", headers=auth)).status_code == 200
    assert (
        await api.call("super", "DELETE", f"/api/v1/api-tokens/{created.json()['id']}")
    ).status_code == 204
    refused = await api.client.get("/api/v1/sites/S1", headers=auth)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    made_up = await api.client.get("/api/v1/sites", headers={"Authorization": "Bearer evg_nope"})
    assert made_up.status_code == 401
    basic = await api.client.get("/api/v1/sites", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
