"""The generic command route: schema errors, unknown names, and each way a command can fail."""

from __future__ import annotations

from simulators.charger import SimCharger
from tests.integration.api.conftest import Api
from tests.support.ocpp_client import Charger


def _sim(api: Api, **options: object) -> SimCharger:
    url = f"ws://127.0.0.1:{api.env.gateway.port}/ocpp"
    return SimCharger(url, "CP1", backoff=(0.05, 0.2), **options)  # type: ignore[arg-type]


async def test_a_payload_the_schema_refuses_is_a_422_naming_the_field(api: Api) -> None:
    before = await api.audit_count()
    path = "/api/v1/chargers/CP1/commands/change-configuration"
    missing = await api.call("admin", "POST", path, {"key": "HeartbeatInterval"})
    assert missing.status_code == 422
    assert "value" in missing.json()["detail"]
    wrong = await api.call("admin", "POST", path, {"key": "HeartbeatInterval", "value": 60})
    assert wrong.status_code == 422
    assert "ChangeConfiguration.value" in wrong.json()["detail"]
    assert await api.audit_count() == before


async def test_an_unknown_command_is_a_404_listing_the_known_ones(api: Api) -> None:
    answered = await api.call("admin", "POST", "/api/v1/chargers/CP1/commands/make-coffee", {})
    assert answered.status_code == 404
    detail = answered.json()["detail"]
    assert "make-coffee" in detail and "get-configuration" in detail
    assert "trigger-message" in detail


async def test_a_viewer_may_not_send_a_command(api: Api) -> None:
    answered = await api.call("viewer", "POST", "/api/v1/chargers/CP1/commands/clear-cache", {})
    assert answered.status_code == 403


async def test_never_sent_lost_timeout_and_call_error_are_told_apart(api: Api) -> None:
    path = "/api/v1/chargers/CP1/commands/clear-cache"
    offline = await api.call("admin", "POST", path, {})
    assert offline.status_code == 409 and offline.json()["error"] == "not_connected"

    dropping = _sim(api, drop_on=frozenset({"ClearCache"}))
    await dropping.start(timeout=10)
    lost = await api.call("admin", "POST", path, {})
    assert lost.status_code == 502, lost.text
    assert lost.json()["error"] == "connection_lost"
    assert "may or may not have acted" in lost.json()["detail"]
    assert dropping.received[-1] == ("ClearCache", {})
    await dropping.stop(drain_timeout=2)

    cp = await Charger.connect(api.env.url("CP1"))
    await cp.boot()
    cp._reader.cancel()  # connected, and silent
    silent = await api.call("admin", "POST", path, {})
    assert silent.status_code == 504 and silent.json()["error"] == "timeout"
    await cp.ws.close()

    refusing = _sim(api, call_error={"ClearCache": "NotSupported"})
    await refusing.start(timeout=10)
    refused = await api.call("admin", "POST", path, {})
    assert refused.status_code == 502
    assert refused.json()["error"] == "call_error" and refused.json()["code"] == "NotSupported"
    await refusing.stop(drain_timeout=2)
