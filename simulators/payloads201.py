"""OCPP 2.0.1 payload builders for the Wallbox-style charger: boot, status, token, meter values.

2.0.1 sends sampled values as JSON numbers. Energy is an integer count of milli-joules here, so
a value is written from integers: whole Wh as an int, a reading with decimals as the exact
decimal text placed in the JSON as a number (`orjson.Fragment`), never a float or a Decimal.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import orjson

from simulators.physics import MJ_PER_WH, ChargerSpec, Flow

EAIR = "Energy.Active.Import.Register"
TOKEN_TYPE = "ISO14443"  # an RFID card
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")

Number = int | orjson.Fragment

# the 1.6-style connector states the charger keeps -> 2.0.1 connector status
CONNECTOR_STATUS = {
    "Available": "Available",
    "Preparing": "Occupied",
    "Charging": "Occupied",
    "SuspendedEV": "Occupied",
    "SuspendedEVSE": "Occupied",
    "Finishing": "Occupied",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Faulted",
}
# ... and the transaction's chargingState while one runs
CHARGING_STATE = {
    "Charging": "Charging",
    "SuspendedEV": "SuspendedEV",
    "SuspendedEVSE": "SuspendedEVSE",
    "Preparing": "EVConnected",
    "Finishing": "EVConnected",
}


def number(text: str) -> Number:
    """A JSON number from exact decimal text: "15" -> 15, "532363.9" -> the number 532363.9."""
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a decimal number")
    return orjson.Fragment(text.encode()) if "." in text else int(text)


def wire(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a central system reads it (numbers with decimals as Decimal)."""
    import json

    parsed: dict[str, Any] = json.loads(orjson.dumps(payload), parse_float=Decimal)
    return parsed


def register_value(register_mj: int, kwh: bool = False, whole: bool = False) -> Number:
    """The register: decimal Wh floored to 0.1 Wh; `whole`: floored to Wh (Begin/End, like
    1.6's meterStart/meterStop); `kwh`: the same reading in kWh."""
    if whole:
        wh = register_mj // MJ_PER_WH
        return number(f"{wh // 1000}.{wh % 1000:03d}") if kwh else wh
    tenths = register_mj // (MJ_PER_WH // 10)
    if kwh:
        return number(f"{tenths // 10_000}.{tenths % 10_000:04d}")
    return number(f"{tenths // 10}.{tenths % 10}")


def _sv(
    value: Number, context: str, measurand: str, unit: str, phase: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "value": value,
        "context": context,
        "measurand": measurand,
        "location": "Outlet",
        "unitOfMeasure": {"unit": unit},
    }
    if phase is not None:
        item["phase"] = phase
    return item


def register_sample(register_mj: int, context: str, kwh: bool = False) -> dict[str, Any]:
    """The register alone, as Transaction.Begin and Transaction.End carry it (whole Wh)."""
    return _sv(register_value(register_mj, kwh, whole=True), context, EAIR, "kWh" if kwh else "Wh")


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
    """The Wallbox sample set as 2.0.1 numbers: register, power, currents, voltages, offered."""
    out = []
    if EAIR in measurands:
        out.append(_sv(register_value(register_mj, kwh), context, EAIR, "kWh" if kwh else "Wh"))
    power = 0 if flow is None or zero_power else flow.power_w
    if "Power.Active.Import" in measurands:
        out.append(_sv(power, context, "Power.Active.Import", "W"))
    if "Current.Import" in measurands:
        amps = flow.current_a() if flow is not None else Decimal(0)
        used = min(spec.phases, flow.ev.phases) if flow is not None else 0
        for n in range(1, 4):
            value = number(str(amps)) if n <= used else 0
            out.append(_sv(value, context, "Current.Import", "A", f"L{n}"))
    if "Voltage" in measurands:
        for n in range(1, 4):
            volts = spec.voltage_v if n <= spec.phases else 0
            out.append(_sv(volts, context, "Voltage", "V", f"L{n}-N"))
    offered_a = spec.max_current_a if limit_a is None else min(limit_a, spec.max_current_a)
    if "Current.Offered" in measurands:
        out.append(_sv(offered_a, context, "Current.Offered", "A"))
    if "Power.Offered" in measurands:
        offered_w = offered_a * spec.phases * spec.voltage_v
        out.append(_sv(offered_w, context, "Power.Offered", "W"))
    return out


def meter_value(timestamp: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    return {"timestamp": timestamp, "sampledValue": values}


def id_token(tag: str) -> dict[str, Any]:
    return {"idToken": tag, "type": TOKEN_TYPE}


def status(evse_id: int, connector_status: str, timestamp: str) -> dict[str, Any]:
    """StatusNotification: one connector (1) per EVSE, the EVSE numbered as the connector."""
    return {
        "timestamp": timestamp,
        "connectorStatus": connector_status,
        "evseId": evse_id,
        "connectorId": 1,
    }


def boot(spec: ChargerSpec, serial: str, reason: str) -> dict[str, Any]:
    return {
        "chargingStation": {
            "model": spec.model,
            "vendorName": spec.vendor,
            "serialNumber": serial[:25],
            "firmwareVersion": spec.firmware,
        },
        "reason": reason,
    }


def transaction_event(
    event_type: str,
    timestamp: str,
    trigger: str,
    seq_no: int,
    transaction_id: str,
    evse_id: int,
    charging_state: str | None = None,
    meter_values: list[dict[str, Any]] | None = None,
    offline: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """TransactionEvent; `extra` holds optional top-level fields (idToken, numberOfPhasesUsed)
    and `stoppedReason` / `remoteStartId` / `timeSpentCharging` for transactionInfo."""
    info: dict[str, Any] = {"transactionId": transaction_id}
    if charging_state is not None:
        info["chargingState"] = charging_state
    for key in ("stoppedReason", "remoteStartId", "timeSpentCharging"):
        if extra.get(key) is not None:
            info[key] = extra.pop(key)
        extra.pop(key, None)
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": timestamp,
        "triggerReason": trigger,
        "seqNo": seq_no,
        "transactionInfo": info,
        "evse": {"id": evse_id, "connectorId": 1},
    }
    if offline:
        payload["offline"] = True
    if meter_values:
        payload["meterValue"] = meter_values
    payload.update({k: v for k, v in extra.items() if v is not None})
    return payload
