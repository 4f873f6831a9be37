"""Payment reminders (pure): when the next one is due, what fee it carries, and which dunning
settings the law allows.

Reminder fees are capped by law in the Nordic countries. evgate's defaults, per currency, are
its reading of the rules; a super-admin sets the real cap and count per site:

- Norway (NOK): a fee of at most a tenth of the inkassosats (NOK 700, so NOK 70.00), on at
  most two reminders, the first no sooner than 14 days after the due date.
- Sweden (SEK): at most SEK 60.00 for a written payment reminder, and only where the fee was
  agreed when the debt arose; evgate's default puts it on the first reminder only.
- Denmark (DKK): a rykkergebyr of at most DKK 100.00, on at most three reminders, at least ten
  days apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from billing.money import format_amount


@dataclass(frozen=True, slots=True)
class FeeLaw:
    cap: int  # minor units per reminder
    fee_reminders: int  # how many reminders may carry a fee
    min_interval_days: int  # days after the due date (and between reminders) before a fee


LAWS = {
    "NOK": FeeLaw(cap=7000, fee_reminders=2, min_interval_days=14),
    "SEK": FeeLaw(cap=6000, fee_reminders=1, min_interval_days=1),
    "DKK": FeeLaw(cap=10000, fee_reminders=3, min_interval_days=10),
}
OTHER = FeeLaw(cap=0, fee_reminders=0, min_interval_days=14)  # set by the super-admin


def law_of(currency: str) -> FeeLaw:
    """The default cap for the site's currency (no fee at all for a currency not listed)."""
    return LAWS.get(currency.upper(), OTHER)


def next_reminder(
    sent: int,
    due_at: datetime,
    last_at: datetime | None,
    now: datetime,
    count: int,
    interval_days: int,
) -> int | None:
    """The number of the reminder to send now (1-based), or None."""
    if sent >= count:
        return None
    since = last_at if last_at is not None else due_at
    if now >= since + timedelta(days=interval_days):
        return sent + 1
    return None


def fee_for(n: int, settings: dict[str, Any]) -> int:
    """Reminder ``n`` carries the site's fee only while fee-bearing reminders are left."""
    return int(settings["reminder_fee"]) if n <= int(settings["fee_reminders"]) else 0


def settings_problem(settings: dict[str, Any], currency: str) -> str | None:
    """Why these dunning settings may not be used, in one sentence, or None."""
    cap = int(settings["reminder_fee_cap"])
    fee = int(settings["reminder_fee"])
    if not 0 <= int(settings["reminder_count"]) <= 10:
        return "reminder_count must be between 0 and 10"
    if not 1 <= int(settings["reminder_interval_days"]) <= 365:
        return "reminder_interval_days must be between 1 and 365"
    if not 0 <= int(settings["fee_reminders"]) <= 10:
        return "fee_reminders must be between 0 and 10"
    if cap < 0 or fee < 0:
        return "reminder fees and their cap cannot be negative"
    if fee > cap:
        shown = format_amount(fee, currency), format_amount(cap, currency)
        return f"reminder_fee {shown[0]} exceeds the site's legal cap {shown[1]} {currency}"
    law = law_of(currency)
    if fee > 0 and int(settings["reminder_interval_days"]) < law.min_interval_days:
        return (
            f"a reminder with a fee needs at least {law.min_interval_days} days after the due "
            f"date and the previous reminder; reminder_interval_days is "
            f"{settings['reminder_interval_days']}"
        )
    return None


def effective(stored: dict[str, Any], currency: str) -> dict[str, Any]:
    """The stored settings with the currency's legal defaults where none were set."""
    law = law_of(currency)
    cap, count = stored.get("reminder_fee_cap"), stored.get("fee_reminders")
    return {
        **stored,
        "reminder_fee_cap": law.cap if cap is None else int(cap),
        "fee_reminders": law.fee_reminders if count is None else int(count),
    }
