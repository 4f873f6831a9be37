"""Price a stored session: its one trace (``metering.session_timeline``) -> the tariff engine.

The session is priced with the tariff *version* it snapshotted at start (sessions.tariff_id)
in its site's time zone; later tariff edits never change the result. The trace is the one the
gateway stored the session's times from and the billing run prices from, so this price is the
invoice line's (before rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from metering import Timeline, session_timeline
from tariffs import TariffError, cdr_totals, parse_tariff, price_session
from tariffs.cdr import cdr_to_json


def timeline_of(
    session: dict[str, Any],
    samples: Sequence[dict[str, Any]],
    statuses: Sequence[tuple[datetime, str]],
) -> Timeline:
    """The session's trace; an open session's runs to its last sample."""
    start: datetime = session["started_at"]
    stop: datetime = session["stopped_at"] or max([start, *(s["ts"] for s in samples)])
    energy = session["energy_wh"] if session["stopped_at"] is not None else None
    return session_timeline(
        start,
        stop,
        meter_start_wh=session["meter_start_wh"],
        energy_wh=energy,
        samples=[(s["ts"], s["energy_mwh"], s["power_w"]) for s in samples],
        statuses=statuses,
    )


def price(
    session: dict[str, Any],
    samples: Sequence[dict[str, Any]],
    statuses: Sequence[tuple[datetime, str]],
    tariff_json: Any,
    tz: str,
) -> dict[str, Any]:
    """The OCPI CDR view of a session (periods and totals), or the reason it has none."""
    try:
        tariff = parse_tariff(tariff_json)
        priced = price_session(tariff, timeline_of(session, samples, statuses).trace(), tz)
    except TariffError as exc:
        return {"error": f"cannot price this session: {exc}"}
    cdr = cdr_to_json(priced)
    return {
        "currency": priced.currency,
        "charging_periods": cdr["charging_periods"],
        **cdr_totals(priced),
    }
