"""Wrong passwords are slowed down per charger id (429 with Retry-After), without holding up
the charger whose password is known, or any other charger."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from gateway.auth import FailureThrottle
from tests.integration.conftest import PASSWORD, Env
from tests.support.ocpp_client import Charger


async def test_repeated_wrong_passwords_for_one_id_get_429(env: Env) -> None:
    # lockouts from 30 s, so that no lockout runs out while the test runs on a slow machine
    env.gateway.throttles = (FailureThrottle(free=5, base=30), FailureThrottle(free=50))
    good = await Charger.connect(env.url("SECURE"), password=PASSWORD)  # known from now on
    await good.close()
    codes = []
    for _ in range(12):
        with pytest.raises(InvalidStatus) as info:
            await Charger.connect(env.url("SECURE"), password="wrong-password-guess-1")
        codes.append(info.value.response.status_code)
    assert codes[:6] == [401] * 6 and set(codes[6:]) == {429}, codes  # 5 free, then locked
    retry = info.value.response.headers["Retry-After"]
    assert retry.isdigit() and 1 <= int(retry) <= 30
    # the charger itself still gets in (its password is checked by the cached digest)
    again = await Charger.connect(env.url("SECURE"), password=PASSWORD)
    assert "currentTime" in await again.call("Heartbeat", {})
    await again.close()
    # and so does every other charger
    other = await Charger.connect(env.url("CP1"))
    assert "currentTime" in await other.call("Heartbeat", {})
    await other.close()
