"""The legal limits on reminder fees (pure): the currency's defaults, the cap, the count."""

from __future__ import annotations

from typing import Any

import pytest

from billing.dunning_rules import LAWS, effective, fee_for, law_of, settings_problem


def settings(**over: Any) -> dict[str, Any]:
    base = {
        "reminder_count": 2,
        "reminder_interval_days": 14,
        "reminder_fee": 7000,
        "reminder_fee_cap": None,
        "fee_reminders": None,
    }
    return {**base, **over}


def test_each_nordic_currency_has_its_cap_and_others_allow_no_fee() -> None:
    assert (law_of("NOK").cap, law_of("nok").fee_reminders) == (7000, 2)
    assert (law_of("SEK").cap, law_of("SEK").fee_reminders) == (6000, 1)
    assert (law_of("DKK").cap, law_of("DKK").fee_reminders) == (10000, 3)
    assert law_of("EUR").cap == 0 and set(LAWS) == {"NOK", "SEK", "DKK"}


def test_a_stored_cap_wins_over_the_default_and_null_means_the_default() -> None:
    assert effective(settings(), "NOK")["reminder_fee_cap"] == 7000
    chosen = settings(reminder_fee_cap=5000, fee_reminders=1)
    assert effective(chosen, "NOK") == chosen
    assert effective(settings(), "DKK")["fee_reminders"] == 3


@pytest.mark.parametrize(
    ("currency", "over", "problem"),
    [
        ("NOK", {}, None),
        ("NOK", {"reminder_fee": 7001}, "exceeds the site's legal cap 70.00 NOK"),
        ("SEK", {"reminder_fee": 6001}, "legal cap 60.00 SEK"),
        ("EUR", {"reminder_fee": 1}, "legal cap 0.00 EUR"),
        ("EUR", {"reminder_fee": 500, "reminder_fee_cap": 500}, None),
        ("NOK", {"reminder_interval_days": 13}, "at least 14 days"),
        ("NOK", {"reminder_interval_days": 7, "reminder_fee": 0}, None),  # no fee: any interval
        ("DKK", {"reminder_interval_days": 10, "reminder_fee": 10000}, None),
        ("NOK", {"reminder_count": 11}, "reminder_count"),
        ("NOK", {"reminder_fee_cap": -1, "reminder_fee": 0}, "negative"),
    ],
)
def test_settings_the_law_refuses_are_named(
    currency: str, over: dict[str, Any], problem: str | None
) -> None:
    found = settings_problem(effective(settings(**over), currency), currency)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_only_the_first_fee_reminders_carry_the_fee() -> None:
    s = effective(settings(reminder_count=4, reminder_fee=5000), "NOK")
    assert [fee_for(n, s) for n in (1, 2, 3, 4)] == [5000, 5000, 0, 0]
    s = effective(settings(reminder_fee=5000, fee_reminders=0), "NOK")
    assert fee_for(1, s) == 0
