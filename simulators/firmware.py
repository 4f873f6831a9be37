"""Firmware Management on the simulated charger: UpdateFirmware and GetDiagnostics (OCPP 1.6).

UpdateFirmware is answered at once; at retrieveDate (charger time) the charger reports
Downloading, Downloaded, Installing and Installed, one ``step_s`` of virtual time apart, then
reboots and boots with the new firmwareVersion (``FirmwareSwitches.version``, else taken from
the location's file name: ``.../wallbox-6.5.0.bin`` installs 6.5.0). ``fail_download`` ends
in DownloadFailed (after ``retries`` further tries, ``retryInterval`` apart), ``fail_install``
in InstallationFailed; neither reboots. With ``fetch`` the firmware is really fetched (HTTP
GET) and a failed fetch is a DownloadFailed.

GetDiagnostics is answered with the fileName it will upload; the charger then reports
Uploading, really uploads a small generated text file to the location over HTTP (PUT of the
body, or with ``upload_method="POST"`` a multipart form with a ``file`` field), and reports
Uploaded for a 2xx answer, else UploadFailed (after its retries). FTP locations fail: the
simulator speaks HTTP only. Every notification goes through the charger's ordered queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from simulators.clock import VirtualClock, iso_seconds, to_ms
from simulators.physics import ChargerSpec
from simulators.rpc import AfterReply


class Charger(Protocol):
    """What of simulators.charger.SimCharger this module uses (it imports us, not we it)."""

    id: str
    clock: VirtualClock
    spec: ChargerSpec
    stats: Any
    connectors: dict[int, Any]

    def _enqueue(
        self, action: str, payload: dict[str, Any], tx_ref: int | None = None, tx: bool = True
    ) -> None: ...

    def install_firmware(self, version: str) -> None: ...

    async def reboot(self, hard: bool = False) -> None: ...


Reply = tuple[dict[str, Any], AfterReply]

_VERSION = re.compile(r"(\d+(?:\.\d+)+)")


@dataclass
class FirmwareSwitches:
    """How the simulated charger behaves when asked to update or upload (test switches)."""

    fail_download: bool = False  # DownloadFailed instead of Downloaded
    fail_install: bool = False  # InstallationFailed instead of Installed
    version: str | None = None  # the version installed; None: from the location's file name
    fetch: bool = False  # really GET the firmware (http/https); a failed GET: DownloadFailed
    step_s: float = 5.0  # virtual seconds between two statuses
    upload_method: str = "PUT"  # PUT (the body) | POST (multipart, field "file")
    no_diagnostics: bool = False  # answer without a fileName: nothing to upload
    upload_timeout_s: float = 10.0  # wall-clock seconds one HTTP request may take


@dataclass
class Upload:
    """One upload attempt, as the simulator saw it."""

    location: str
    method: str
    size: int
    outcome: str  # "HTTP 201", or the error


def version_from(location: str) -> str | None:
    """The version in a firmware file's name: ``.../fw-6.5.0.bin`` -> ``6.5.0``."""
    name = urlsplit(location).path.rsplit("/", 1)[-1]
    found = _VERSION.search(name)
    return found.group(1) if found else None


@dataclass
class FirmwareManager:
    charger: Charger
    switches: FirmwareSwitches = field(default_factory=FirmwareSwitches)
    firmware_status: str = "Idle"  # what a triggered FirmwareStatusNotification says
    diagnostics_status: str = "Idle"
    uploads: list[Upload] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)  # versions installed, in order
    reported: list[tuple[str, str]] = field(default_factory=list)  # (action, status) queued

    def _report(self, action: str, status: str) -> None:
        if action == "FirmwareStatusNotification":
            self.firmware_status = status
        else:
            self.diagnostics_status = status
        self.reported.append((action, status))
        self.charger._enqueue(action, {"status": status}, tx=False)

    async def _step(self) -> None:
        await self.charger.clock.sleep(self.switches.step_s)

    # -- UpdateFirmware -------------------------------------------------------------------

    def update_firmware(self, p: dict[str, Any]) -> Reply:
        location = str(p.get("location", ""))
        retrieve = _parse(p.get("retrieveDate"))
        retries, interval = int(p.get("retries") or 0), int(p.get("retryInterval") or 0)

        async def run() -> None:
            if retrieve is not None:
                await self.charger.clock.sleep_until_ms(to_ms(retrieve))
            self._report("FirmwareStatusNotification", "Downloading")
            for attempt in range(retries + 1):
                await self._step()
                if await self._downloaded(location):
                    break
                if attempt < retries:
                    await self.charger.clock.sleep(interval)
            else:
                self._report("FirmwareStatusNotification", "DownloadFailed")
                self.firmware_status = "Idle"
                return
            self._report("FirmwareStatusNotification", "Downloaded")
            await self._step()
            self._report("FirmwareStatusNotification", "Installing")
            await self._step()
            if self.switches.fail_install:
                self._report("FirmwareStatusNotification", "InstallationFailed")
                self.firmware_status = "Idle"
                return
            version = self.switches.version or version_from(location)
            self._report("FirmwareStatusNotification", "Installed")
            self.firmware_status = "Idle"
            if version is not None:
                self.installed.append(version)
                self.charger.install_firmware(version)
            await self.charger.reboot()  # boots again with the new firmwareVersion

        return {}, run

    async def _downloaded(self, location: str) -> bool:
        if self.switches.fail_download:
            return False
        if not self.switches.fetch:
            return True
        import httpx  # only a simulator that really fetches loads an HTTP client

        try:
            async with httpx.AsyncClient(timeout=self.switches.upload_timeout_s) as client:
                answer = await client.get(location)
        except (httpx.HTTPError, ValueError):
            return False
        return answer.is_success

    # -- GetDiagnostics -------------------------------------------------------------------

    def get_diagnostics(self, p: dict[str, Any]) -> Reply:
        if self.switches.no_diagnostics:
            return {}, None
        location = str(p.get("location", ""))
        retries, interval = int(p.get("retries") or 0), int(p.get("retryInterval") or 0)
        now_ms = self.charger.clock.now_ms()
        name = f"{self.charger.id}-diagnostics-{iso_seconds(now_ms).replace(':', '')}.log"
        content = self.diagnostics_file(p, now_ms)

        async def run() -> None:
            self._report("DiagnosticsStatusNotification", "Uploading")
            for attempt in range(retries + 1):
                if await self._upload(location, name, content):
                    self._report("DiagnosticsStatusNotification", "Uploaded")
                    break
                if attempt < retries:
                    await self.charger.clock.sleep(interval)
            else:
                self._report("DiagnosticsStatusNotification", "UploadFailed")
            self.diagnostics_status = "Idle"

        return {"fileName": name}, run

    def diagnostics_file(self, p: dict[str, Any], now_ms: int) -> bytes:
        """A small log: who, when, what was asked, the configuration and connectors."""
        c = self.charger
        lines = [
            f"charger {c.id} vendor {c.spec.vendor} model {c.spec.model}",
            f"firmware {c.spec.firmware}",
            f"written {iso_seconds(now_ms)}",
            f"window {p.get('startTime', '-')} .. {p.get('stopTime', '-')}",
            f"boots {c.stats.boots} connects {c.stats.connects}",
        ]
        lines += [
            f"connector {n} status {conn.status} register_mj {conn.register_mj}"
            for n, conn in sorted(c.connectors.items())
        ]
        return ("\n".join(lines) + "\n").encode()

    async def _upload(self, location: str, name: str, content: bytes) -> bool:
        method = self.switches.upload_method.upper()
        if urlsplit(location).scheme.lower() not in ("http", "https"):
            self.uploads.append(Upload(location, method, len(content), "not HTTP"))
            return False
        import httpx  # only a simulator that uploads loads an HTTP client

        await self._step()
        try:
            async with httpx.AsyncClient(timeout=self.switches.upload_timeout_s) as client:
                if method == "POST":
                    answer = await client.post(
                        location, files={"file": (name, content, "text/plain")}
                    )
                else:
                    answer = await client.put(
                        location,
                        content=content,
                        headers={
                            "Content-Type": "text/plain",
                            "Content-Disposition": f'attachment; filename="{name}"',
                        },
                    )
        except httpx.HTTPError as exc:
            self.uploads.append(Upload(location, method, len(content), type(exc).__name__))
            return False
        self.uploads.append(Upload(location, method, len(content), f"HTTP {answer.status_code}"))
        return answer.is_success


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
