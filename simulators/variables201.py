"""The 2.0.1 device model of the simulated charger: components and variables over the 1.6 keys.

GetVariables, SetVariables and GetBaseReport read and change the same Configuration the 1.6
charger has, so a heartbeat interval set either way is the one the charger uses. Names are
matched case-insensitively, as 2.0.1 asks. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.configuration import Configuration

REPORT_PAGE = 10  # reportData entries per NotifyReport


@dataclass(frozen=True, slots=True)
class Variable:
    component: str
    name: str
    data_type: str  # integer, boolean, string, MemberList
    key: str | None = None  # the Configuration key behind it; None: a fixed value
    instance: str | None = None  # the variable's instance
    unit: str | None = None


VARIABLES = (
    Variable("OCPPCommCtrlr", "HeartbeatInterval", "integer", "HeartbeatInterval", unit="s"),
    Variable(
        "OCPPCommCtrlr",
        "MessageAttempts",
        "integer",
        "TransactionMessageAttempts",
        "TransactionEvent",
    ),
    Variable(
        "OCPPCommCtrlr",
        "MessageAttemptInterval",
        "integer",
        "TransactionMessageRetryInterval",
        "TransactionEvent",
        unit="s",
    ),
    Variable(
        "OCPPCommCtrlr", "WebSocketPingInterval", "integer", "WebSocketPingInterval", unit="s"
    ),
    Variable(
        "SampledDataCtrlr", "TxUpdatedInterval", "integer", "MeterValueSampleInterval", unit="s"
    ),
    Variable("SampledDataCtrlr", "TxUpdatedMeasurands", "MemberList", "MeterValuesSampledData"),
    Variable("SampledDataCtrlr", "TxEndedMeasurands", "MemberList", "StopTxnSampledData"),
    Variable("AuthCtrlr", "AuthorizeRemoteStart", "boolean", "AuthorizeRemoteTxRequests"),
    Variable("AuthCtrlr", "LocalAuthorizeOffline", "boolean", "LocalAuthorizeOffline"),
    Variable("AuthCtrlr", "LocalPreAuthorize", "boolean", "LocalPreAuthorize"),
    Variable("TxCtrlr", "StopTxOnInvalidId", "boolean", "StopTransactionOnInvalidId"),
    Variable("SecurityCtrlr", "Identity", "string"),
    Variable("SecurityCtrlr", "SecurityProfile", "integer"),
    Variable("ChargingStation", "SupplyPhases", "integer"),
    Variable("DeviceDataCtrlr", "ItemsPerMessage", "integer", instance="GetReport"),
    # the 1.6 profiles the 2.0.1 charger takes too (their keys, or fixed values)
    Variable("ReservationCtrlr", "Enabled", "boolean"),
    Variable("ReservationCtrlr", "NonEvseSpecific", "boolean", "ReserveConnectorZeroSupported"),
    Variable("LocalAuthListCtrlr", "Enabled", "boolean", "LocalAuthListEnabled"),
    Variable("LocalAuthListCtrlr", "ItemsPerMessage", "integer", "SendLocalListMaxLength"),
    Variable("LocalAuthListCtrlr", "BytesPerMessage", "integer"),
    Variable("SmartChargingCtrlr", "Enabled", "boolean"),
    Variable("SmartChargingCtrlr", "RateUnit", "MemberList"),
    Variable("SmartChargingCtrlr", "ProfileStackLevel", "integer", "ChargeProfileMaxStackLevel"),
    Variable("SmartChargingCtrlr", "PeriodsPerSchedule", "integer", "ChargingScheduleMaxPeriods"),
    Variable(
        "SmartChargingCtrlr", "EntriesChargingProfiles", "integer", "MaxChargingProfilesInstalled"
    ),
)
# fixed values by component.name (a name alone: the first match)
FIXED = {
    "ItemsPerMessage": str(REPORT_PAGE),
    "ReservationCtrlr.Enabled": "true",
    "LocalAuthListCtrlr.BytesPerMessage": "65536",
    "SmartChargingCtrlr.Enabled": "true",
    "SmartChargingCtrlr.RateUnit": "A,W",
}

_STATUS = {"NotSupported": "UnknownVariable"}  # Configuration.change answers -> 2.0.1


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()


class DeviceModel:
    """The variables above; `fixed` gives the read-only values that are not keys."""

    def __init__(self, config: Configuration, fixed: dict[str, str]) -> None:
        self.config = config
        self.fixed = {**FIXED, **fixed}
        known = {entry["key"] for entry in config.get(None)["configurationKey"]}
        # a profile the charger was built without (no local list): its component is absent
        absent = {v.component for v in VARIABLES if v.key is not None and v.key not in known}
        self.variables = [v for v in VARIABLES if v.component not in absent]

    def _find(self, component: dict[str, Any], variable: dict[str, Any]) -> Variable | str:
        """The variable, or the 2.0.1 status saying what is unknown."""
        in_component = [v for v in self.variables if _same(v.component, component.get("name"))]
        if not in_component:
            return "UnknownComponent"
        for v in in_component:
            if _same(v.name, variable.get("name")) and _same(v.instance, variable.get("instance")):
                return v
        return "UnknownVariable"

    def value(self, v: Variable) -> str:
        if v.key is not None:
            return self.config.text(v.key)
        return self.fixed.get(f"{v.component}.{v.name}") or self.fixed[v.name]

    def readonly(self, v: Variable) -> bool:
        return v.key is None or self.config.get([v.key])["configurationKey"][0]["readonly"]

    def get(self, item: dict[str, Any]) -> dict[str, Any]:
        """One GetVariableResult."""
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"]}
        if item.get("attributeType", "Actual") != "Actual":
            return {**result, "attributeStatus": "NotSupportedAttributeType"}
        found = self._find(item["component"], item["variable"])
        if isinstance(found, str):
            return {**result, "attributeStatus": found}
        return {**result, "attributeStatus": "Accepted", "attributeValue": self.value(found)}

    def set(self, item: dict[str, Any]) -> dict[str, Any]:
        """One SetVariableResult: Accepted, Rejected (read-only, bad value), RebootRequired."""
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"]}
        if item.get("attributeType", "Actual") != "Actual":
            return {**result, "attributeStatus": "NotSupportedAttributeType"}
        found = self._find(item["component"], item["variable"])
        if isinstance(found, str):
            return {**result, "attributeStatus": found}
        if found.key is None:
            return {**result, "attributeStatus": "Rejected"}
        status = self.config.change(found.key, str(item.get("attributeValue", "")))
        return {**result, "attributeStatus": _STATUS.get(status, status)}

    def report(self, base: str) -> list[dict[str, Any]] | None:
        """reportData for a GetBaseReport: FullInventory (all), ConfigurationInventory (the
        writable ones); None for a report base it does not support."""
        if base not in ("FullInventory", "ConfigurationInventory"):
            return None
        out = []
        for v in self.variables:
            readonly = self.readonly(v)
            if base == "ConfigurationInventory" and readonly:
                continue
            variable: dict[str, Any] = {"name": v.name}
            if v.instance is not None:
                variable["instance"] = v.instance
            characteristics: dict[str, Any] = {"dataType": v.data_type, "supportsMonitoring": False}
            if v.unit is not None:
                characteristics["unit"] = v.unit
            out.append(
                {
                    "component": {"name": v.component},
                    "variable": variable,
                    "variableAttribute": [
                        {
                            "type": "Actual",
                            "value": self.value(v),
                            "mutability": "ReadOnly" if readonly else "ReadWrite",
                        }
                    ],
                    "variableCharacteristics": characteristics,
                }
            )
        return out
