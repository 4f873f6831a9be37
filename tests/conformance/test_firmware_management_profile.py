"""OCTT-style Firmware Management cases: UpdateFirmware with its FirmwareStatusNotifications,
GetDiagnostics with its DiagnosticsStatusNotifications and a real upload over loopback.

The API is served by uvicorn on a real port (tests/support/served_api.py), so the simulator
uploads to evgate's own upload URL over HTTP, as a charger would.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from simulators.charger import SimCharger
from simulators.firmware import FirmwareSwitches
from tests.conformance.conftest import SimFactory, command, last_audit
from tests.integration.api.conftest import Api
from tests.integration.conftest import Env
from tests.support.served_api import served_api

FAST = 0.02  # virtual seconds between two statuses (the clock runs at wall speed here)
FIRMWARE_URL = "https://firmware.example.com/wallbox/wallbox-6.5.1.bin"


@pytest.fixture
async def served(env: Env, tmp_path: Path) -> AsyncIterator[Api]:
    async with served_api(env, tmp_path / "diagnostics") as api:
        yield api


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns something true; that value."""

    async def wait() -> Any:
        while not (value := await check()):
            await asyncio.sleep(0.02)
        return value

    return await asyncio.wait_for(wait(), timeout)


async def get(api: Api, path: str) -> Any:
    answer = await api.call("admin", "GET", path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def statuses(request: dict[str, Any]) -> list[str]:
    return [h["status"] for h in request["history"]]


async def finished(cp: SimCharger, api: Api, kind: str, last: str) -> dict[str, Any]:
    """The newest request, read once: after the simulator queued its ``last`` status and had
    every queued message answered (a notification is answered only once it is stored)."""
    action = f"{kind.title()}StatusNotification"

    async def queued() -> bool:
        return (action, last) in cp.firmware.reported

    await until(queued)
    await cp.drained()
    return dict((await get(api, f"/api/v1/chargers/CP1/{kind}"))["requests"][0])


async def test_tc_044_1_firmware_update_downloaded_installed(served: Api, sim: SimFactory) -> None:
    """UpdateFirmware accepted; Downloading, Downloaded, Installing, Installed, each stored
    before it is answered; then the charger reboots with the new firmware version."""
    cp = await sim(firmware=FirmwareSwitches(step_s=FAST))
    boots = cp.stats.boots
    assert (await get(served, "/api/v1/chargers/CP1"))["firmware"] == cp.spec.firmware != "6.5.1"
    body = {"location": FIRMWARE_URL, "retries": 2, "retryInterval": 30}
    answered = await command(served, "update-firmware", body)
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == {}
    action, sent = cp.received[-1]
    assert action == "UpdateFirmware" and sent["location"] == FIRMWARE_URL
    assert sent["retrieveDate"].endswith("Z")  # default: now, in the spec's date-time form
    audited = await last_audit(served)
    assert audited["action"] == "command.update-firmware"
    assert audited["before"]["payload"] == sent

    request = await finished(cp, served, "firmware", "Installed")
    assert statuses(request) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert request["status"] == "Installed" and request["answered_at"] is not None
    assert (request["location"], request["retries"], request["retry_interval"]) == (
        FIRMWARE_URL,
        2,
        30,
    )

    async def rebooted() -> bool:
        view = await get(served, "/api/v1/chargers/CP1")
        return cp.stats.boots > boots and view["firmware"] == "6.5.1"

    await until(rebooted)
    view = await get(served, "/api/v1/chargers/CP1")
    assert view["firmware_status"]["status"] == "Installed"


async def test_tc_044_2_firmware_update_download_failed(served: Api, sim: SimFactory) -> None:
    cp = await sim(firmware=FirmwareSwitches(step_s=FAST, fail_download=True))
    before = cp.spec.firmware
    body = {"location": FIRMWARE_URL, "retries": 1, "retryInterval": 0}
    assert (await command(served, "update-firmware", body)).status_code == 200
    request = await finished(cp, served, "firmware", "DownloadFailed")
    assert statuses(request) == ["Downloading", "DownloadFailed"]
    assert request["status"] == "DownloadFailed"
    view = await get(served, "/api/v1/chargers/CP1")
    assert view["firmware"] == before and view["firmware_status"]["status"] == "DownloadFailed"
    assert cp.firmware.installed == []


async def test_tc_044_3_firmware_update_installation_failed(served: Api, sim: SimFactory) -> None:
    cp = await sim(firmware=FirmwareSwitches(step_s=FAST, fail_install=True))
    body = {"location": FIRMWARE_URL, "retrieveDate": "2020-01-01T00:00:00Z"}
    assert (await command(served, "update-firmware", body)).status_code == 200
    request = await finished(cp, served, "firmware", "InstallationFailed")
    assert statuses(request) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
    assert request["retrieve_date"].startswith("2020-01-01T00:00:00")
    assert cp.firmware.installed == []


async def test_tc_045_1_get_diagnostics_uploaded(
    served: Api, sim: SimFactory, tmp_path: Path
) -> None:
    """GetDiagnostics without a location: the charger gets evgate's own upload URL, answers
    its fileName, reports Uploading, uploads over HTTP and reports Uploaded; the file is
    kept with its size and sha256 and an admin downloads the same bytes."""
    cp = await sim()
    answered = await command(served, "get-diagnostics", {})
    assert answered.status_code == 200, answered.text
    file_name = answered.json()["answer"]["fileName"]
    action, sent = cp.received[-1]
    assert action == "GetDiagnostics"
    assert sent["location"].startswith(f"{served.client.base_url}/upload/diagnostics/")
    token = sent["location"].rsplit("/", 1)[1]
    audited = await last_audit(served)
    assert audited["action"] == "command.get-diagnostics"
    assert audited["before"]["payload"]["location"].endswith("/upload/diagnostics/***")
    assert token not in str(audited)  # a viewer reads the audit log: it must not upload

    request = await finished(cp, served, "diagnostics", "Uploaded")
    assert statuses(request) == ["Uploading", "Uploaded"]
    assert request["file_name"] == file_name and request["uploads_to_evgate"] is True
    assert token not in str(request)  # the token is not shown back
    upload = cp.firmware.uploads[-1]
    assert (upload.method, upload.outcome) == ("PUT", "HTTP 201")
    kept = request["upload"]
    assert kept["name"] == file_name and kept["size"] == upload.size

    downloaded = await served.call("admin", "GET", kept["download"])
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == kept["sha256"]
    assert downloaded.content.startswith(b"charger CP1 ")
    on_disk = list((tmp_path / "diagnostics").rglob(file_name))
    assert len(on_disk) == 1 and on_disk[0].read_bytes() == downloaded.content
    viewer = await served.call("viewer", "GET", kept["download"])
    assert viewer.status_code == 403


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_tc_045_2_get_diagnostics_upload_failed(served: Api, sim: SimFactory) -> None:
    """A location nobody answers: Uploading, then UploadFailed after the retries; no file."""
    cp = await sim(firmware=FirmwareSwitches(step_s=FAST))
    location = f"http://127.0.0.1:{_closed_port()}/diagnostics"
    body = {"location": location, "retries": 1, "retryInterval": 0}
    answered = await command(served, "get-diagnostics", body)
    assert answered.status_code == 200 and answered.json()["answer"]["fileName"]
    request = await finished(cp, served, "diagnostics", "UploadFailed")
    assert statuses(request) == ["Uploading", "UploadFailed"]
    assert request["location"] == location and request["uploads_to_evgate"] is False
    assert request["upload"] is None
    assert [u.outcome for u in cp.firmware.uploads] == ["ConnectError", "ConnectError"]
