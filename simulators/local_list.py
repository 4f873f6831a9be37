"""The charger's local authorization list (OCPP 1.6 Local Auth List Management).

It keeps a version and idTag -> idTagInfo, answers SendLocalList (full or differential) and
GetLocalListVersion, and is what the charger authorizes from while it is offline, as a
Wallbox does: a tag on the list is let in only when it is Accepted there and not past its
expiryDate; a tag not on the list is left to LocalAuthorizeOffline.

Test switches: ``fail`` answers every update Failed; ``supported=False`` is a charger without
the profile (NotSupported, version -1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulators.configuration import Configuration

PROFILE = "LocalAuthListManagement"


class LocalList:
    def __init__(self, supported: bool = True, max_length: int = 1000) -> None:
        self.supported = supported
        self.max_length = max_length
        self.version = 0
        self.entries: dict[str, dict[str, Any]] = {}
        self.fail = False  # answer updates Failed (e.g. storage full)
        self.updates: list[dict[str, Any]] = []  # every update it accepted, in order

    def install(self, config: Configuration) -> None:
        """Its configuration keys, and the profile among SupportedFeatureProfiles."""
        if not self.supported:
            return
        profiles = config.text("SupportedFeatureProfiles")
        config.define("SupportedFeatureProfiles", f"{profiles},{PROFILE}", readonly=True)
        config.define("LocalAuthListEnabled", "true", kind="bool")
        config.define("LocalAuthListMaxLength", str(self.max_length), readonly=True, kind="int")
        config.define("SendLocalListMaxLength", str(self.max_length), readonly=True, kind="int")

    def enabled(self, config: Configuration) -> bool:
        return self.supported and config.flag("LocalAuthListEnabled")

    def get_version(self, config: Configuration) -> dict[str, Any]:
        """-1 without a list (or disabled), 0 when it is empty, else its version."""
        if not self.enabled(config):
            return {"listVersion": -1}
        return {"listVersion": self.version if self.entries else 0}

    def send(self, payload: dict[str, Any], config: Configuration) -> dict[str, Any]:
        if not self.enabled(config):
            return {"status": "NotSupported"}
        if self.fail:
            return {"status": "Failed"}
        version = payload.get("listVersion")
        entries = payload.get("localAuthorizationList") or []
        if not isinstance(version, int) or len(entries) > self.max_length:
            return {"status": "Failed"}
        if payload.get("updateType") == "Full":
            held: dict[str, dict[str, Any]] = {}
        elif version <= self.version:
            return {"status": "VersionMismatch"}
        else:
            held = dict(self.entries)
        for entry in entries:
            info = entry.get("idTagInfo")
            if info is None:
                held.pop(entry["idTag"], None)
            else:
                held[entry["idTag"]] = dict(info)
        if len(held) > self.max_length:
            return {"status": "Failed"}
        self.entries, self.version = held, version
        self.updates.append(payload)
        return {"status": "Accepted"}

    def status_of(self, id_tag: str, now: datetime | None = None) -> str | None:
        """The tag's status on the list (Expired once past its expiryDate); None: not on it."""
        info = self.entries.get(id_tag)
        if info is None:
            return None
        status = str(info.get("status"))
        expiry = info.get("expiryDate")
        if status == "Accepted" and expiry:
            at = datetime.fromisoformat(str(expiry))
            at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
            if at <= (now or datetime.now(UTC)):
                return "Expired"
        return status
