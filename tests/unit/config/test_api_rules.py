"""Pure pieces of the config API and of the who-may-charge rule it switches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from config.api.auth import Principal
from config.api.errors import _field
from config.api.openapi import text as openapi_text
from config.api.output import percent
from config.api.pricing import timeline_of
from config.api.tariff_input import _decimal, ocpi_version, stored_json
from gateway.connection import CallStats
from gateway.service import decide

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("monthly", "token", "subscriber", "expected"),
    [
        (False, None, None, "Accepted"),  # unknown token, charger not in monthly mode
        (False, "active", None, "Accepted"),
        (False, "active", "suspended", "Accepted"),  # not billed monthly: the card still works
        (False, "blocked", "active", "Blocked"),
        (True, None, None, "Invalid"),
        (True, "active", None, "Invalid"),  # a site card of no subscriber
        (True, "active", "invited", "Invalid"),
        (True, "active", "cancelled", "Invalid"),
        (True, "active", "suspended", "Blocked"),
        (True, "blocked", "active", "Blocked"),
        (True, "active", "active", "Accepted"),
    ],
)
def test_who_may_charge(
    monthly: bool, token: str | None, subscriber: str | None, expected: str
) -> None:
    assert decide(monthly, token, subscriber)[0] == expected


@pytest.mark.parametrize(
    ("monthly", "token", "subscriber", "expires", "policy", "expected"),
    [
        (False, "active", None, T0, "open", "Expired"),  # at its expiry: expired
        (False, "active", None, T0 + timedelta(seconds=1), "open", "Accepted"),
        (True, "active", "active", T0 - timedelta(days=1), "open", "Expired"),
        (True, "active", "suspended", T0 - timedelta(days=1), "open", "Expired"),
        (False, "blocked", None, T0, "open", "Blocked"),  # blocked before expired
        (False, None, None, None, "registered", "Invalid"),
        (False, "active", None, None, "registered", "Accepted"),
        (True, None, None, None, "open", "Invalid"),  # monthly rules do not read the policy
        (True, "active", "active", None, "registered", "Accepted"),
    ],
)
def test_expiry_and_site_policy(
    monthly: bool,
    token: str | None,
    subscriber: str | None,
    expires: datetime | None,
    policy: str,
    expected: str,
) -> None:
    status, reason = decide(monthly, token, subscriber, expires, policy, at=T0)
    assert status == expected and reason
    if status == "Expired":
        assert reason == f"token expired at {expires.isoformat() if expires else ''}"


def test_roles() -> None:
    root = Principal.token(1, "", "super-admin", None)
    admin = Principal.token(2, "a", "admin", "S1")
    viewer = Principal.token(3, "", "viewer", "S1")
    auditor = Principal.token(4, "", "viewer", None)
    assert root.can_write("S2") and root.can_read(None)
    assert admin.can_write("S1") and not admin.can_write("S2") and not admin.can_write(None)
    assert admin.can_read("S1") and not admin.can_read("S2") and not admin.can_read(None)
    assert viewer.can_read("S1") and not viewer.can_write("S1") and not viewer.can_read("S2")
    assert auditor.can_read("S2") and auditor.can_read(None) and not auditor.can_write("S2")
    assert admin.visible_site(None) == "S1" and root.visible_site(None) is None
    assert auditor.visible_site(None) is None and admin.actor == "token:2 (a)"


def test_call_stats_are_a_cumulative_histogram_source() -> None:
    stats = CallStats()
    for seconds in (0.0005, 0.001, 0.003, 99.0):
        stats.observe("MeterValues", seconds)
    assert stats.by_action == {"MeterValues": 4}
    assert stats.buckets[0] == 2  # <= 1 ms (a bound is inclusive, as Prometheus' "le")
    assert stats.buckets[2] == 1 and stats.buckets[-1] == 1 and sum(stats.buckets) == 4
    for n in range(CallStats.MAX_ACTIONS + 5):
        stats.observe(f"Junk{n}", 0.1)
    assert len(stats.by_action) == CallStats.MAX_ACTIONS + 1 and stats.by_action["other"] == 6


def test_exact_numbers_in_and_out() -> None:
    assert _decimal("0.1") == Decimal("0.1")
    with pytest.raises(ValueError):
        _decimal("1e999999")
    _, text, _ = ocpi_version(
        {
            "currency": "NOK",
            "elements": [
                {
                    "price_components": [
                        {
                            "type": "ENERGY",
                            "price": Decimal("0.12345678901234567890"),
                            "step_size": 1,
                        }
                    ]
                }
            ],
        }
    )
    assert "0.12345678901234567890" in text
    assert stored_json(text)["elements"][0]["price_components"][0]["price"] == Decimal(
        "0.12345678901234567890"
    )
    assert percent(1500) == "15.00" and percent(1250) == "12.50"
    assert _field(("body", "elements", 0, "price")) == "body.elements[0].price"


def test_trace_from_stored_rows_drops_a_register_that_goes_down() -> None:
    """The API prices the one trace (metering.session_timeline) of the stored rows."""
    session = {
        "started_at": T0,
        "stopped_at": T0 + timedelta(hours=1),
        "meter_start_wh": 1000,
        "meter_stop_wh": 3000,
        "energy_wh": 2000,
    }
    samples = [
        {"ts": T0 + timedelta(minutes=10), "energy_mwh": 1_500_500, "power_w": 7400},
        {"ts": T0 + timedelta(minutes=20), "energy_mwh": 900_000, "power_w": 7400},  # glitch
        {"ts": T0 + timedelta(hours=2), "energy_mwh": 9_000_000, "power_w": None},  # after stop
    ]
    statuses = [
        (T0 - timedelta(minutes=1), "Preparing"),
        (T0 + timedelta(minutes=5), "Charging"),
        (T0 + timedelta(minutes=50), "SuspendedEV"),
    ]
    timeline = timeline_of(session, samples, statuses)
    # the energy goes where it charged: none before 5 min, none after 50 min
    assert [(round((ts - T0).total_seconds() / 60), wh) for ts, wh in timeline.meter] == [
        (0, Decimal(1000)),
        (5, Decimal(1000)),
        (10, Decimal("1500.5")),
        (50, Decimal(3000)),
        (60, Decimal(3000)),
    ]
    assert timeline.states == (
        (T0, "parking"),
        (T0 + timedelta(minutes=5), "charging"),
        (T0 + timedelta(minutes=50), "parking"),
    )
    assert (timeline.charging_s, timeline.parking_s) == (45 * 60, 15 * 60)


def test_docs_openapi_json_is_current() -> None:
    path = Path(__file__).parents[3] / "docs" / "openapi.json"
    assert path.read_text() == openapi_text(), (
        "docs/openapi.json is stale: run `python -m config.api.openapi > docs/openapi.json`"
    )
