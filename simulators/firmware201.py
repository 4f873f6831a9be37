"""Firmware and log uploads of the 2.0.1 charger: the 1.6 FirmwareManager with 2.0.1 reports.

The steps (wait for retrieveDateTime, download, install, reboot; upload over HTTP) are the
1.6 ones; what changes is what is reported. FirmwareStatusNotification carries the
UpdateFirmware's requestId: DownloadScheduled when retrieveDateTime is ahead, Downloading,
Downloaded, SignatureVerified (when the request carried a signature), Installing,
InstallRebooting, then after the reboot (BootNotification reason FirmwareUpdate) Installed.
GetLog reports LogStatusNotification Uploading, then Uploaded or UploadFailure, with the
GetLog's requestId. A new UpdateFirmware while one is under way cancels it
(AcceptedCanceled), as 2.0.1 asks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from simulators import profiles201
from simulators.clock import to_ms
from simulators.firmware import Charger, FirmwareManager, Reply


class Charger201(Charger, Protocol):
    """What the 2.0.1 manager uses of SimCharger201 besides the 1.6 charger's parts."""

    _boot_reason: str


@dataclass
class Firmware201(FirmwareManager):
    firmware_request: int | None = None  # the UpdateFirmware under way
    log_request: int | None = None  # the GetLog under way
    log_status: str = "Idle"  # what a triggered LogStatusNotification says
    signed: bool = False  # the UpdateFirmware carried a signature
    installed_pending: int | None = None  # requestId whose Installed follows the next boot
    _running: asyncio.Task[None] | None = field(default=None, repr=False)

    def _report(self, action: str, status: str) -> None:
        if action == "DiagnosticsStatusNotification":
            status = profiles201.LOG_STATUS.get(status, status)
            self.log_status = status
            self.reported.append(("LogStatusNotification", status))
            body = {"status": status, "requestId": self.log_request}
            self.charger._enqueue("LogStatusNotification", body, tx=False)
            return
        if status == "Installed":  # reported again once the new firmware booted
            self.installed_pending = self.firmware_request
            charger: Charger201 = self.charger  # type: ignore[assignment]
            charger._boot_reason = "FirmwareUpdate"
            status = "InstallRebooting"
        self._send_firmware(status)
        if status == "Downloaded" and self.signed:
            self._send_firmware("SignatureVerified")

    def _send_firmware(self, status: str, request_id: int | None = None) -> None:
        self.firmware_status = status
        self.reported.append(("FirmwareStatusNotification", status))
        rid = self.firmware_request if request_id is None else request_id
        body: dict[str, Any] = {"status": status}
        if rid is not None:
            body["requestId"] = rid
        self.charger._enqueue("FirmwareStatusNotification", body, tx=False)

    def booted(self) -> None:
        """BootNotification accepted: the firmware that was installing is now running."""
        if self.installed_pending is not None:
            rid, self.installed_pending = self.installed_pending, None
            self._send_firmware("Installed", rid)
            self.firmware_status = "Idle"

    def update_firmware_201(self, p: dict[str, Any]) -> Reply:
        request = profiles201.update_firmware(p)
        canceled = self._running is not None and not self._running.done()
        if canceled and self._running is not None:
            self._running.cancel()
        self.firmware_request = p["requestId"]
        self.signed = (p.get("firmware") or {}).get("signature") is not None
        _, run = self.update_firmware(request)
        assert run is not None
        retrieve = datetime.fromisoformat(str(request["retrieveDate"]).replace("Z", "+00:00"))
        if to_ms(retrieve) > self.charger.clock.now_ms():
            self._send_firmware("DownloadScheduled")

        async def tracked() -> None:
            self._running = asyncio.current_task()
            await run()

        return {"status": "AcceptedCanceled" if canceled else "Accepted"}, tracked

    def get_log(self, p: dict[str, Any]) -> Reply:
        request = profiles201.get_log(p)
        if self.switches.no_diagnostics:
            return {"status": "Rejected"}, None
        self.log_request = p["requestId"]
        answer, run = self.get_diagnostics(request)

        async def upload() -> None:
            if run is not None:
                await run()
            self.log_status = "Idle"

        return {"status": "Accepted", "filename": answer["fileName"]}, upload
