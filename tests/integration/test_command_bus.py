"""A command given to instance B reaches a charger whose socket instance A holds (MQTT)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.command_bus import CommandBus
from gateway.connection import CommandError
from gateway.server import Gateway, GatewayOptions
from tests.integration.conftest import seed
from tests.support.ocpp_client import Charger
from tests.support.services import MQTT_URL, reachable, unavailable

pytestmark = pytest.mark.mqtt


@pytest.fixture
async def two_instances(
    engine: AsyncEngine,
) -> AsyncIterator[tuple[Gateway, CommandBus, Gateway, CommandBus]]:
    why = reachable(MQTT_URL, 1883)
    if why:
        unavailable("Mosquitto", why)
    await seed(engine)
    prefix = f"evgate-test-{uuid.uuid4().hex[:8]}"
    a, b = Gateway(engine, GatewayOptions(port=0)), Gateway(engine, GatewayOptions(port=0))
    await a.start()
    await b.start()
    bus_a = CommandBus(a.registry, MQTT_URL, prefix=prefix, ack_timeout=1.0)
    bus_b = CommandBus(b.registry, MQTT_URL, prefix=prefix, ack_timeout=1.0)
    bus_a.start()
    bus_b.start()
    await bus_a.wait_connected()
    await bus_b.wait_connected()
    yield a, bus_a, b, bus_b
    await bus_a.close()
    await bus_b.close()
    await a.close()
    await b.close()


async def test_command_reaches_the_instance_holding_the_socket(two_instances) -> None:  # type: ignore[no-untyped-def]
    a, _, b, bus_b = two_instances
    cp = await Charger.connect(f"ws://127.0.0.1:{a.port}/ocpp/CP1")
    await cp.boot()
    cp.answers["RemoteStopTransaction"] = {"status": "Accepted"}
    result = await bus_b.call("CP1", "RemoteStopTransaction", {"transactionId": 7})
    assert result == {"status": "Accepted"}
    assert cp.received_calls[-1] == ("RemoteStopTransaction", {"transactionId": 7})
    assert b.registry.get("CP1") is None and a.registry.get("CP1") is not None
    with pytest.raises(CommandError) as info:
        await bus_b.call("CP1", "Reset", {"type": "Sideways"})
    assert info.value.kind == "invalid"
    await cp.close()


async def test_offline_and_timeout(two_instances) -> None:  # type: ignore[no-untyped-def]
    a, _, _, bus_b = two_instances
    with pytest.raises(CommandError) as info:
        await bus_b.call("CP2", "Reset", {"type": "Soft"})
    assert info.value.kind == "offline"
    cp = await Charger.connect(f"ws://127.0.0.1:{a.port}/ocpp/CP2")
    await cp.boot()
    cp._reader.cancel()  # the charger stops answering
    with pytest.raises(CommandError) as info:
        await bus_b.call("CP2", "Reset", {"type": "Soft"}, timeout=0.5)
    assert info.value.kind == "timeout"
    await cp.ws.close()
