"""When the next payment reminder is due (pure): up to N, every ``interval`` days after due."""

from __future__ import annotations

from datetime import datetime, timedelta


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
