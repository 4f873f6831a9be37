"""What the schema cannot say about a charging profile, and the site limit's kW <-> W."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.site_power import kw_to_w, share_payload, w_to_kw
from services.smart_charging import (
    SHARE_PROFILE_BASE,
    check_profile,
    check_remote_start_profile,
    exact,
    is_share,
)
from store.errors import Invalid


def profile(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 6.0},
                {"startPeriod": 600, "limit": 16.1},
            ],
        },
    }
    schedule = changes.pop("schedule", None)
    if schedule is not None:
        base["chargingSchedule"] = {**base["chargingSchedule"], **schedule}
    return {**base, **changes}


def test_a_sound_profile_passes() -> None:
    check_profile(profile(), 1, "p")
    check_profile(profile(chargingProfilePurpose="ChargePointMaxProfile"), 0, "p")
    recurring = profile(
        chargingProfileKind="Recurring",
        recurrencyKind="Daily",
        schedule={"startSchedule": "2026-12-01T00:00:00Z", "duration": 86_400},
    )
    check_profile(recurring, 1, "p")


@pytest.mark.parametrize(
    ("changes", "connector", "needle"),
    [
        ({"stackLevel": -1}, 1, "p.stackLevel"),
        ({"chargingProfileId": -5}, 1, "p.chargingProfileId"),
        ({"chargingProfilePurpose": "ChargePointMaxProfile"}, 1, "connectorId 0"),
        ({"transactionId": 5}, 1, "p.transactionId is only for a TxProfile"),
        ({"chargingProfileKind": "Recurring"}, 1, "p.recurrencyKind"),
        ({"recurrencyKind": "Daily"}, 1, "only for a Recurring"),
        (
            {"validFrom": "2026-12-02T00:00:00Z", "validTo": "2026-12-01T00:00:00Z"},
            1,
            "p.validTo must be after validFrom",
        ),
        ({"schedule": {"chargingRateUnit": "kW"}}, 1, "chargingRateUnit must be A or W"),
        ({"schedule": {"duration": 0}}, 1, "duration"),
        ({"schedule": {"minChargingRate": -1}}, 1, "minChargingRate"),
        ({"schedule": {"chargingSchedulePeriod": []}}, 1, "at least one period"),
        (
            {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 60, "limit": 6}]}},
            1,
            "chargingSchedulePeriod[0].startPeriod must be 0",
        ),
        (
            {
                "schedule": {
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 6},
                        {"startPeriod": 600, "limit": 8},
                        {"startPeriod": 300, "limit": 10},
                    ]
                }
            },
            1,
            "chargingSchedulePeriod[2].startPeriod must be after",
        ),
        (
            {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": -0.1}]}},
            1,
            "chargingSchedulePeriod[0].limit must be between",
        ),
        (
            {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.25}]}},
            1,
            "at most one decimal",
        ),
        (
            {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": True}]}},
            1,
            "must be a number",
        ),
        (
            {
                "schedule": {
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6, "numberPhases": 0}]
                }
            },
            1,
            "numberPhases must be 1, 2 or 3",
        ),
    ],
)
def test_what_the_schema_cannot_say_is_invalid_naming_the_field(
    changes: dict[str, Any], connector: int, needle: str
) -> None:
    with pytest.raises(Invalid) as refused:
        check_profile(profile(**changes), connector, "p")
    assert needle in str(refused.value)


def test_a_remote_starts_profile_is_a_tx_profile_without_a_transaction() -> None:
    tx = profile(chargingProfilePurpose="TxProfile")
    check_remote_start_profile({"idTag": "T", "chargingProfile": tx})
    check_remote_start_profile({"idTag": "T"})
    with pytest.raises(Invalid, match="TxProfile"):
        check_remote_start_profile({"idTag": "T", "chargingProfile": profile()})
    with pytest.raises(Invalid, match="transactionId"):
        check_remote_start_profile({"idTag": "T", "chargingProfile": {**tx, "transactionId": 1}})


def test_limits_are_read_as_the_decimals_they_were_written_as() -> None:
    assert exact(6.0, "l") == Decimal("6.0")
    assert exact(16.1, "l") == Decimal("16.1")  # not 16.10000000000000142...
    assert exact(22000, "l") == Decimal(22000)


def test_kilowatts_to_whole_watts_exactly_and_back() -> None:
    assert kw_to_w(Decimal("22")) == 22_000
    assert kw_to_w(Decimal("7.4")) == 7_400
    assert kw_to_w(Decimal("0.001")) == 1
    for bad in ("0", "-3", "1.0001", "1000001"):
        with pytest.raises(Invalid, match="power limit"):
            kw_to_w(Decimal(bad))
    assert w_to_kw(22_000) == "22" and w_to_kw(7_400) == "7.4" and w_to_kw(1) == "0.001"
    assert w_to_kw(None) is None


def test_a_share_is_a_tx_profile_in_whole_watts_of_its_own_id_range() -> None:
    payload = share_payload({"id": 42, "connector_id": 2}, 3_333)
    p = payload["csChargingProfiles"]
    assert payload["connectorId"] == 2 and p["transactionId"] == 42
    assert p["chargingProfileId"] == SHARE_PROFILE_BASE + 42
    assert p["chargingSchedule"] == {
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3_333}],
    }
    assert type(p["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]) is int
    check_profile(p, 2, "share")  # a share passes the checks every profile passes
    row = {"purpose": "TxProfile", "profile_id": p["chargingProfileId"]}
    assert is_share(row) and not is_share({**row, "profile_id": 7})
