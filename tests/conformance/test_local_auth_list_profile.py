"""OCTT-style Local Auth List Management cases, central system side.

The API sends (an explicit list through the generic command route, or the list evgate
derives from the site's tokens through ``local-list/push``), the simulator's list answers,
and what the answer means is stored per charger (``charger_local_lists``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from services import local_list_job
from services.context import CLI
from services.tokens import set_state
from simulators.charger import SimCharger
from store import local_lists
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api

FULL = {
    "listVersion": 5,
    "updateType": "Full",
    "localAuthorizationList": [
        {"idTag": "TAG1", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "TAG2", "idTagInfo": {"status": "Blocked"}},
    ],
}
# the list evgate derives for CP1 (S1, not in monthly payment, open policy) from the seed
DERIVED = {
    "BLOCKED": {"status": "Blocked"},
    "SUSP": {"status": "Accepted"},
    "TAG1": {"status": "Accepted"},
    "TAG2": {"status": "Accepted"},
}


async def stored(api: Api, charger: str = "CP1") -> dict[str, Any]:
    async with api.env.engine.connect() as conn:
        row = await local_lists.get(conn, charger)
    assert row is not None, f"no local list row for {charger}"
    return row


async def push(api: Api, charger: str = "CP1", **body: Any) -> dict[str, Any]:
    answered = await api.call("admin", "POST", f"/api/v1/chargers/{charger}/local-list/push", body)
    assert answered.status_code == 200, answered.text
    result: dict[str, Any] = answered.json()
    return result


async def test_tc_042_get_local_list_version(api: Api, sim: SimFactory) -> None:
    """After an accepted update, the charger reports that update's version."""
    cp = await sim()
    assert (await push(api))["status"] == "Accepted"
    answered = await command(api, "get-local-list-version", {})
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == {"listVersion": 1}
    assert cp.received[-1] == ("GetLocalListVersion", {})
    assert (await stored(api))["version"] == 1
    assert (await stored(api))["full_next"] is False  # it holds what we sent
    audited = await last_audit(api)
    assert audited["action"] == "command.get-local-list-version"
    assert audited["after"] == {"listVersion": 1}


async def test_tc_042_get_local_list_version_empty(api: Api, sim: SimFactory) -> None:
    await sim()
    answered = await command(api, "get-local-list-version", {})
    assert answered.json()["answer"] == {"listVersion": 0}
    assert (await stored(api))["supported"] is True


async def test_tc_042_get_local_list_version_not_supported(api: Api, sim: SimFactory) -> None:
    """-1: no local list; evgate then pushes nothing to it on its own."""
    await sim(local_list=False)
    answered = await command(api, "get-local-list-version", {})
    assert answered.json()["answer"] == {"listVersion": -1}
    assert (await stored(api))["supported"] is False


async def test_tc_043_send_local_list_full(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    answered = await command(api, "send-local-list", FULL)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "Accepted"
    assert cp.received[-1] == ("SendLocalList", FULL)
    assert cp.local_list.version == 5
    assert cp.local_list.entries == {"TAG1": {"status": "Accepted"}, "TAG2": {"status": "Blocked"}}
    row = await stored(api)
    assert row["version"] == 5 and row["last_status"] == "Accepted"
    assert row["entries"] == cp.local_list.entries
    audited = await last_audit(api)
    assert audited["action"] == "command.send-local-list"
    assert audited["before"] == {"action": "SendLocalList", "payload": FULL}


async def test_tc_043_send_local_list_differential(api: Api, sim: SimFactory) -> None:
    cp = await sim()
    await command(api, "send-local-list", FULL)
    diff = {
        "listVersion": 6,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "TAG3", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "TAG2"},  # no idTagInfo: off the list
        ],
    }
    answered = await command(api, "send-local-list", diff)
    assert answered.json()["status"] == "Accepted"
    assert cp.local_list.entries == {"TAG1": {"status": "Accepted"}, "TAG3": {"status": "Accepted"}}
    row = await stored(api)
    assert row["version"] == 6 and row["entries"] == cp.local_list.entries


async def test_send_local_list_version_mismatch_makes_the_next_push_full(
    api: Api, sim: SimFactory
) -> None:
    """Behaviour: a differential not newer than the charger's version is VersionMismatch;
    what it holds is then unknown, so evgate's next update is a full one."""
    cp = await sim()
    await command(api, "send-local-list", FULL)
    stale = {"listVersion": 5, "updateType": "Differential", "localAuthorizationList": []}
    answered = await command(api, "send-local-list", stale)
    assert answered.json()["status"] == "VersionMismatch"
    row = await stored(api)
    assert row["last_status"] == "VersionMismatch" and row["full_next"] is True
    assert row["version"] == 5  # still the last accepted
    pushed = await push(api)
    assert (pushed["status"], pushed["update_type"], pushed["version"]) == ("Accepted", "Full", 6)
    assert cp.local_list.entries == DERIVED and cp.local_list.version == 6
    assert (await stored(api))["full_next"] is False


async def test_send_local_list_failed_is_stored_and_retried_later(
    api: Api, sim: SimFactory
) -> None:
    cp = await sim()
    cp.local_list.fail = True
    pushed = await push(api)
    assert pushed["status"] == "Failed" and pushed["update_type"] == "Full"
    row = await stored(api)
    assert row["last_status"] == "Failed" and row["version"] == 0
    assert row["failures"] == 1 and row["retry_at"] is not None and row["full_next"] is True
    assert cp.local_list.entries == {}


async def test_send_local_list_not_supported(api: Api, sim: SimFactory) -> None:
    await sim(local_list=False)
    pushed = await push(api)
    assert pushed["status"] == "NotSupported"
    assert (await stored(api))["supported"] is False


async def test_send_local_list_bad_requests_are_422_naming_the_field(
    api: Api, sim: SimFactory
) -> None:
    cp = await sim()
    before = len(cp.received)
    zero = await command(api, "send-local-list", {**FULL, "listVersion": 0})
    assert zero.status_code == 422 and "listVersion" in zero.json()["detail"]
    twice = {**FULL, "localAuthorizationList": [FULL["localAuthorizationList"][0]] * 2}  # type: ignore[index]
    dup = await command(api, "send-local-list", twice)
    assert dup.status_code == 422 and "given twice" in dup.json()["detail"]
    schema = await command(api, "send-local-list", {"listVersion": 1})
    assert schema.status_code == 422 and "updateType" in schema.json()["detail"]
    assert len(cp.received) == before  # nothing reached the charger


async def test_push_sends_only_what_changed(api: Api, sim: SimFactory) -> None:
    """Behaviour: the derived list goes out full once, then as differences; unchanged, nothing."""
    cp = await sim()
    first = await push(api)
    assert (first["update_type"], first["entries"], first["version"]) == ("Full", 4, 1)
    assert cp.local_list.entries == DERIVED
    async with api.env.engine.begin() as conn:
        await set_state(conn, CLI, "S1", "TAG2", "blocked")
    view = (await api.call("viewer", "GET", "/api/v1/chargers/CP1/local-list")).json()
    assert view["pending"] is True and view["due"] == {"update_type": "Differential", "entries": 1}
    second = await push(api)
    assert (second["update_type"], second["entries"], second["version"]) == ("Differential", 1, 2)
    assert cp.received[-1] == (
        "SendLocalList",
        {
            "listVersion": 2,
            "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "TAG2", "idTagInfo": {"status": "Blocked"}}],
        },
    )
    sent = len(cp.received)
    third = await push(api)
    assert third == {"charger_id": "CP1", "status": "UpToDate", "sent": False, "version": 2}
    assert len(cp.received) == sent
    view = (await api.call("viewer", "GET", "/api/v1/chargers/CP1/local-list")).json()
    assert view["pending"] is False and view["due"] is None and view["version"] == 2


async def test_monthly_payment_charger_never_lists_a_non_subscriber_as_accepted(
    api: Api, sim: SimFactory
) -> None:
    cp = await sim()
    switched = await api.call(
        "super", "PUT", "/api/v1/chargers/CP1/monthly-payment", {"enabled": True}
    )
    assert switched.status_code == 200, switched.text
    await push(api)
    assert cp.local_list.entries == {
        "BLOCKED": {"status": "Blocked"},
        "SUSP": {"status": "Blocked"},  # a suspended subscriber's card
        "TAG1": {"status": "Accepted"},  # the active subscriber's
        "TAG2": {"status": "Invalid"},  # nobody's: refused offline too
    }


async def _offline_start(cp: SimCharger, tag: str) -> bool:
    await cp.plug_in(1)
    record = await cp.swipe(1, tag)
    if record is not None:
        await cp.end(1)
    await cp.unplug(1)
    return record is not None


async def test_automatic_push_after_a_token_is_blocked(api: Api, sim: SimFactory) -> None:
    """Behaviour: blocking a card marks its site's chargers due; the job (as in evgate serve)
    pushes to those online, and the offline charger refuses the card from its list."""
    cp = await sim()
    job = local_list_job.LocalListJob(api.env.engine, api.env.gateway.registry, timeout=5)
    assert await job.tick() == {}  # nothing changed yet
    async with api.env.engine.begin() as conn:
        await set_state(conn, CLI, "S1", "TAG2", "blocked")
    done = await job.tick()
    assert done == {"CP1": "Accepted"}  # CP2 is not connected: it stays due
    actions = [action for action, _ in cp.received]
    assert actions[-2:] == ["GetConfiguration", "SendLocalList"]  # support asked once first
    assert cp.local_list.entries["TAG2"] == {"status": "Blocked"}
    assert (await stored(api, "CP2"))["dirty"] == 1
    assert await job.tick() == {}  # idempotent: nothing more to send to CP1
    audited = await last_audit(api)
    assert audited["actor"] == "local-list" and audited["action"] == "command.send-local-list"
    await cp.set_network(False)
    assert not await _offline_start(cp, "TAG2")  # Blocked on its list
    assert await _offline_start(cp, "TAG1")  # Accepted on its list


async def test_automatic_push_reaches_a_charger_when_it_comes_back(
    api: Api, sim: SimFactory
) -> None:
    """Behaviour: a charger offline when its site changed gets the list once it is online."""
    job = local_list_job.LocalListJob(api.env.engine, api.env.gateway.registry, timeout=5)
    suspended = await api.call(
        "admin", "POST", f"/api/v1/subscribers/{api.seeded['active']}/suspend"
    )
    assert suspended.status_code == 200, suspended.text
    assert await job.tick() == {}  # no charger online
    assert (await stored(api, "CP2"))["dirty"] == 1
    cp2 = await sim("CP2")
    for _ in range(50):  # its presence is committed right after it connects
        done = await job.tick()
        if done:
            break
        await asyncio.sleep(0.05)
    assert done == {"CP2": "Accepted"}
    assert cp2.local_list.entries["TAG1"] == {"status": "Accepted"}  # not monthly: still in
    assert (await stored(api, "CP2"))["dirty"] == 0


async def test_a_charger_without_the_profile_is_asked_once_and_left_alone(
    api: Api, sim: SimFactory
) -> None:
    cp = await sim(local_list=False)
    job = local_list_job.LocalListJob(api.env.engine, api.env.gateway.registry, timeout=5)
    async with api.env.engine.begin() as conn:
        await set_state(conn, CLI, "S1", "TAG2", "blocked")
    assert await job.tick() == {"CP1": "NotSupported"}
    assert [a for a, _ in cp.received] == ["GetConfiguration"]
    async with api.env.engine.begin() as conn:
        await set_state(conn, CLI, "S1", "TAG2", "active")
    assert await job.tick() == {}
    assert [a for a, _ in cp.received] == ["GetConfiguration"]
