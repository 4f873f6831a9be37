"""Price a stored session: samples and status history -> SessionTrace -> the tariff engine.

The session is priced with the tariff *version* it snapshotted at start (sessions.tariff_id)
in its site's time zone; later tariff edits never change the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from tariffs import SessionTrace, TariffError, cdr_totals, parse_tariff, price_session
from tariffs.cdr import cdr_to_json

CHARGING_STATES = frozenset({"Charging"})
_THOUSAND = Decimal(1000)


def trace_of(
    session: dict[str, Any],
    samples: Sequence[dict[str, Any]],
    statuses: Sequence[tuple[datetime, str]],
) -> SessionTrace:
    """The plain trace of a session: register readings (Wh), charging/parking states, power."""
    start: datetime = session["started_at"]
    stop: datetime = session["stopped_at"] or max([start, *(s["ts"] for s in samples)])
    points: list[tuple[datetime, Decimal]] = [(start, Decimal(session["meter_start_wh"]))]
    for s in samples:
        if s["energy_mwh"] is not None and start <= s["ts"] <= stop:
            points.append((s["ts"], Decimal(s["energy_mwh"]) / _THOUSAND))
    if session["meter_stop_wh"] is not None:
        points.append((stop, Decimal(session["meter_stop_wh"])))
    meter: list[tuple[datetime, Decimal]] = []
    for ts, wh in sorted(points, key=lambda p: p[0]):
        if not meter or wh >= meter[-1][1]:  # a register never goes down: drop such readings
            meter.append((ts, wh))
    states = [
        (max(ts, start), "charging" if status in CHARGING_STATES else "parking")
        for ts, status in statuses
        if ts <= stop
    ]
    power = [(s["ts"], s["power_w"]) for s in samples if s["power_w"] is not None]
    return SessionTrace(
        started_at=start,
        stopped_at=stop,
        meter=meter,
        states=states,
        power=power if power else None,
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
        priced = price_session(tariff, trace_of(session, samples, statuses), tz)
    except TariffError as exc:
        return {"error": f"cannot price this session: {exc}"}
    cdr = cdr_to_json(priced)
    return {
        "currency": priced.currency,
        "charging_periods": cdr["charging_periods"],
        **cdr_totals(priced),
    }
