"""evgate simulators: a Wallbox-style OCPP 1.6J or 2.0.1 charge point, scenarios, a fleet.

Nothing here imports the server side: the simulator sees a central system only through its
socket, as a real charger does, so it can test evgate (or any OCPP 1.6J or 2.0.1 central system)
from outside.
"""

from simulators.charger import SimCharger
from simulators.charger201 import SimCharger201
from simulators.clock import VirtualClock
from simulators.physics import EV, ChargerSpec
from simulators.quirks import Quirks
from simulators.session import SessionRecord

__all__ = [
    "EV",
    "ChargerSpec",
    "Quirks",
    "SessionRecord",
    "SimCharger",
    "SimCharger201",
    "VirtualClock",
]
