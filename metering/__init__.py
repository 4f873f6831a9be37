"""evgate metering: what a session measured, as pure functions of plain data. No I/O.

The gateway, billing and the config API all need the same answers, and billing must not
import the gateway, so they live in this room of their own:

- ``readings``: ``parse_reading`` (the register and power of one OCPP meterValue, exactly),
  ``parse_timestamp``, ``sane_timestamp`` (a charger clock that is wildly off),
  ``MAX_REGISTER_WH`` (past it a register reading is no meter's) and
  ``session_energy`` (stop register - start register, cross-checked with the samples).
- ``trace``: ``session_timeline`` (the one charging/parking/idle timeline of a session, its
  charging and parking seconds and its meter readings with the energy where it charged) and
  ``Timeline.trace()`` (the same as a ``tariffs.SessionTrace``); ``CHARGING_STATES`` and
  ``PARKING_STATES``. The rules are in ``metering/trace.py``.
"""

from metering.readings import (
    CLOCK_AHEAD_LIMIT,
    EAIR,
    EARLIEST_SANE,
    MAX_REGISTER_WH,
    POWER,
    EnergyResult,
    Reading,
    parse_reading,
    parse_timestamp,
    sane_timestamp,
    session_energy,
)
from metering.trace import (
    CHARGING_STATES,
    PARKING_STATES,
    Timeline,
    session_timeline,
    status_state,
)

__all__ = [
    "CHARGING_STATES",
    "CLOCK_AHEAD_LIMIT",
    "EAIR",
    "EARLIEST_SANE",
    "MAX_REGISTER_WH",
    "PARKING_STATES",
    "POWER",
    "EnergyResult",
    "Reading",
    "Timeline",
    "parse_reading",
    "parse_timestamp",
    "sane_timestamp",
    "session_energy",
    "session_timeline",
    "status_state",
]
