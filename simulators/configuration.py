"""The charger's OCPP 1.6 configuration keys (Get/ChangeConfiguration)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SAMPLED_DEFAULT = (
    "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,"
    "Current.Offered,Power.Offered"
)


@dataclass(slots=True)
class Key:
    value: str
    readonly: bool = False
    kind: str = "str"  # "int", "bool", "str"
    reboot: bool = False  # a change takes effect only after a reboot


class Configuration:
    """Key store with the 1.6 answers: Accepted, Rejected (read-only or bad value),
    RebootRequired (stored, effective after a reboot), NotSupported (unknown key)."""

    def __init__(self, connectors: int, heartbeat_s: int, sample_s: int, fw5: bool) -> None:
        self._keys: dict[str, Key] = {
            "HeartbeatInterval": Key(str(heartbeat_s), kind="int"),
            "MeterValueSampleInterval": Key(str(sample_s), kind="int"),
            "MeterValuesSampledData": Key(SAMPLED_DEFAULT),
            "StopTxnSampledData": Key("Energy.Active.Import.Register"),
            "ClockAlignedDataInterval": Key("0", kind="int"),
            "ConnectionTimeOut": Key("60", kind="int"),
            "NumberOfConnectors": Key(str(connectors), readonly=True, kind="int"),
            "AuthorizeRemoteTxRequests": Key("false", kind="bool"),
            "LocalAuthorizeOffline": Key("true", kind="bool"),
            "LocalPreAuthorize": Key("false", kind="bool"),
            "StopTransactionOnInvalidId": Key("true", kind="bool"),
            "TransactionMessageAttempts": Key("3", kind="int"),
            "TransactionMessageRetryInterval": Key("10", kind="int"),
            "WebSocketPingInterval": Key("0", kind="int", reboot=True),
            "ChargeProfileMaxStackLevel": Key("0" if fw5 else "10", readonly=True, kind="int"),
            "ChargingScheduleAllowedChargingRateUnit": Key("Current,Power", readonly=True),
            "ChargingScheduleMaxPeriods": Key("24", readonly=True, kind="int"),
            "MaxChargingProfilesInstalled": Key("10", readonly=True, kind="int"),
            "SupportedFeatureProfiles": Key(
                "Core,RemoteTrigger,SmartCharging,Reservation", readonly=True
            ),
            "GetConfigurationMaxKeys": Key("50", readonly=True, kind="int"),
            "ReserveConnectorZeroSupported": Key("true", readonly=True, kind="bool"),
        }

    def define(self, key: str, value: str, readonly: bool = False, kind: str = "str") -> None:
        """Add a key (or set one anew): what an optional profile brings."""
        self._keys[key] = Key(value, readonly=readonly, kind=kind)

    def get(self, keys: list[str] | None) -> dict[str, Any]:
        wanted = keys if keys else list(self._keys)
        known = [
            {"key": k, "readonly": self._keys[k].readonly, "value": self._keys[k].value}
            for k in wanted
            if k in self._keys
        ]
        unknown = [k for k in wanted if k not in self._keys]
        answer: dict[str, Any] = {"configurationKey": known}
        if unknown:
            answer["unknownKey"] = unknown
        return answer

    def change(self, key: str, value: str) -> str:
        entry = self._keys.get(key)
        if entry is None:
            return "NotSupported"
        if entry.readonly:
            return "Rejected"
        if entry.kind == "int" and not (value.isdigit() and len(value) < 10):
            return "Rejected"
        if entry.kind == "bool" and value.lower() not in ("true", "false"):
            return "Rejected"
        entry.value = value.lower() if entry.kind == "bool" else value
        return "RebootRequired" if entry.reboot else "Accepted"

    def set(self, key: str, value: str) -> None:
        """Set a key as the charger's maker would, read-only or not (tests, quirks)."""
        self._keys[key].value = value

    def int(self, key: str) -> int:
        return int(self._keys[key].value)

    def flag(self, key: str) -> bool:
        return self._keys[key].value == "true"

    def text(self, key: str) -> str:
        return self._keys[key].value
