"""Payload builders for what a Wallbox sends: meter samples, statuses, boot."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulators.physics import ChargerSpec, Flow, register_text

EAIR = "Energy.Active.Import.Register"
VENDOR_ID = "com.wallbox"


def sampled_values(
    spec: ChargerSpec,
    register_mj: int,
    flow: Flow | None,
    limit_a: int | None,
    context: str,
    measurands: set[str],
    kwh: bool = False,
    zero_power: bool = False,
) -> list[dict[str, Any]]:
    """The Wallbox sample set: register, power, currents, voltages, offered current/power."""

    def sv(measurand: str, value: str, unit: str, phase: str | None = None) -> dict[str, Any]:
        item = {
            "value": value,
            "context": context,
            "measurand": measurand,
            "location": "Outlet",
            "unit": unit,
        }
        if phase is not None:
            item["phase"] = phase
        return item

    out = []
    if EAIR in measurands:
        out.append(sv(EAIR, register_text(register_mj, kwh), "kWh" if kwh else "Wh"))
    power = 0 if flow is None or zero_power else flow.power_w
    if "Power.Active.Import" in measurands:
        out.append(sv("Power.Active.Import", str(power), "W"))
    if "Current.Import" in measurands:
        amps = flow.current_a() if flow is not None else Decimal(0)
        used = min(spec.phases, flow.ev.phases) if flow is not None else 0
        for n in range(1, 4):
            out.append(
                sv("Current.Import", str(amps if n <= used else Decimal("0.0")), "A", f"L{n}")
            )
    if "Voltage" in measurands:
        for n in range(1, 4):
            volts = spec.voltage_v if n <= spec.phases else 0
            out.append(sv("Voltage", f"{volts}.0", "V", f"L{n}-N"))
    offered_a = spec.max_current_a if limit_a is None else min(limit_a, spec.max_current_a)
    if "Current.Offered" in measurands:
        out.append(sv("Current.Offered", str(offered_a), "A"))
    if "Power.Offered" in measurands:
        out.append(sv("Power.Offered", str(offered_a * spec.phases * spec.voltage_v), "W"))
    return out


def status(connector_id: int, state: str, timestamp: str, error: str = "NoError") -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "errorCode": error,
        "status": state,
        "timestamp": timestamp,
        "vendorId": VENDOR_ID,
    }


def boot(spec: ChargerSpec, serial: str) -> dict[str, Any]:
    return {
        "chargePointVendor": spec.vendor,
        "chargePointModel": spec.model,
        "chargePointSerialNumber": serial[:25],
        "firmwareVersion": spec.firmware,
    }
