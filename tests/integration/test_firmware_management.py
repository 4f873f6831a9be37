"""Firmware Management end to end on both engines: notifications stored before they are
answered, the requests' rows and answers, the upload door over a real loopback socket, bad
input, and the CLI's reads."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config.cli import main
from simulators.charger import SimCharger
from simulators.firmware import FirmwareSwitches
from store import firmware, migrate
from store.batcher import Batch
from store.db import create_engine
from store.firmware_schema import diagnostics_requests, firmware_status_history
from tests.integration.api.conftest import Api, api
from tests.integration.conftest import Env, env, seed
from tests.support.ocpp_client import CallErrorReceived, Charger
from tests.support.served_api import served_api

__all__ = ["api", "env"]

FW = "https://firmware.example.com/wallbox-6.6.0.bin"


@pytest.fixture
async def served(env: Env, tmp_path: Path) -> AsyncIterator[Api]:
    async with served_api(env, tmp_path / "diag", diagnostics_max_bytes=4096) as served:
        yield served


@pytest.fixture
async def charger(env: Env) -> AsyncIterator[Charger]:
    cp = await Charger.connect(env.url("CP1"))
    cp.answers["UpdateFirmware"] = {}
    cp.answers["GetDiagnostics"] = {"fileName": "cp1-diag.zip"}
    await cp.boot()
    yield cp
    await cp.close()


async def history(env: Env) -> list[tuple[str, int | None, str]]:
    async with env.engine.connect() as conn:
        rows = await conn.execute(
            select(
                firmware_status_history.c.kind,
                firmware_status_history.c.request_id,
                firmware_status_history.c.status,
            ).order_by(firmware_status_history.c.id)
        )
        return [(k, r, s) for k, r, s in rows]


async def command(api: Api, name: str, body: dict[str, Any], role: str = "admin") -> Any:
    return await api.call(role, "POST", f"/api/v1/chargers/CP1/commands/{name}", body)


async def test_notifications_are_stored_when_answered(env: Env, api: Api, charger: Charger) -> None:
    """Every answer to a status notification comes after its row is committed: each is read
    back the moment its CallResult arrives, no waiting."""
    await charger.call("FirmwareStatusNotification", {"status": "Idle"})
    assert await history(env) == [("firmware", None, "Idle")]  # triggered: about no request

    sent = await command(api, "update-firmware", {"location": FW, "retries": 3})
    assert sent.status_code == 200, sent.text
    (request,) = (await api.call("admin", "GET", "/api/v1/chargers/CP1/firmware")).json()[
        "requests"
    ]
    assert request["answered_at"] is not None and request["status"] is None
    assert request["retries"] == 3 and request["retrieve_date"] is not None
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        assert await charger.call("FirmwareStatusNotification", {"status": status}) == {}
        assert (await history(env))[-1] == ("firmware", request["id"], status)
    await charger.call("FirmwareStatusNotification", {"status": "Idle"})
    shown = (await api.call("admin", "GET", "/api/v1/chargers/CP1/firmware")).json()
    assert [h["status"] for h in shown["requests"][0]["history"]] == [
        "Downloading",
        "Downloaded",
        "Installing",
        "Installed",
    ]
    assert shown["requests"][0]["status"] == "Installed"  # Idle changes no request
    assert [n["status"] for n in shown["other_notifications"]] == ["Idle", "Idle"]
    assert shown["firmware_status"]["status"] == "Idle"

    await charger.call("DiagnosticsStatusNotification", {"status": "Uploading"})
    assert (await history(env))[-1] == ("diagnostics", None, "Uploading")  # no request yet
    with pytest.raises(CallErrorReceived) as refused:
        await charger.call("FirmwareStatusNotification", {"status": "Exploded"})
    assert refused.value.code in ("PropertyConstraintViolation", "FormationViolation")
    assert (await history(env))[-1][2] == "Uploading"  # nothing kept of it


async def test_get_diagnostics_keeps_the_request_and_its_file_name(
    env: Env, api: Api, charger: Charger
) -> None:
    sent = await command(api, "get-diagnostics", {"startTime": "2026-12-01T00:00:00Z"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["answer"] == {"fileName": "cp1-diag.zip"}
    action, payload = charger.received_calls[-1]
    # no public URL configured: the API's own base URL, and a token of 256 random bits
    assert action == "GetDiagnostics"
    assert payload["location"].startswith("http://evgate.test/upload/diagnostics/")
    token = payload["location"].rsplit("/", 1)[1]
    assert len(token) >= 43
    async with env.engine.connect() as conn:
        row = (await conn.execute(select(diagnostics_requests))).mappings().one()
    assert row["token_digest"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(row))  # only its digest is kept
    assert row["file_name"] == "cp1-diag.zip"
    assert row["start_time"] == datetime(2026, 12, 1, tzinfo=UTC)
    await charger.call("DiagnosticsStatusNotification", {"status": "Uploading"})
    assert (await history(env))[-1] == ("diagnostics", row["id"], "Uploading")


async def test_bad_input_is_refused_naming_the_field(api: Api, charger: Charger) -> None:
    cases = [
        ({"location": "not a url"}, "location"),
        ({"location": FW, "retrieveDate": "tomorrow"}, "retrieveDate"),
        ({"retrieveDate": "2026-12-01T00:00:00Z"}, "location"),
        ({"location": FW, "retries": "three"}, "retries"),
    ]
    for body, field in cases:
        answer = await command(api, "update-firmware", body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.json()["detail"], answer.text
    bad = await command(
        api,
        "get-diagnostics",
        {"startTime": "2026-12-02T00:00:00Z", "stopTime": "2026-12-01T00:00:00Z"},
    )
    assert bad.status_code == 422 and "stopTime" in bad.json()["detail"]
    assert (await command(api, "update-firmware", {"location": FW}, "viewer")).status_code == 403
    other = await command(api, "update-firmware", {"location": FW}, "other_admin")
    assert other.status_code == 403
    assert not [a for a, _ in charger.received_calls if a == "UpdateFirmware"]
    shown = (await api.call("admin", "GET", "/api/v1/chargers/CP1/firmware")).json()
    assert shown["requests"] == []


async def test_an_offline_charger_gets_nothing_and_nothing_is_kept(api: Api) -> None:
    answer = await command(api, "update-firmware", {"location": FW})
    assert answer.status_code == 409 and "not connected" in answer.json()["detail"]
    answer = await command(api, "get-diagnostics", {})
    assert answer.status_code == 409
    for kind in ("firmware", "diagnostics"):
        shown = await api.call("admin", "GET", f"/api/v1/chargers/CP1/{kind}")
        assert shown.json()["requests"] == []
    assert (await api.call("admin", "GET", "/api/v1/chargers/NOPE/firmware")).status_code == 404


async def _token(served: Api, charger: Charger) -> str:
    sent = await command(served, "get-diagnostics", {})
    assert sent.status_code == 200, sent.text
    location: str = charger.received_calls[-1][1]["location"]
    assert location.startswith(str(served.client.base_url))
    return location.rsplit("/", 1)[1]


async def test_the_upload_door_over_loopback(served: Api, charger: Charger, tmp_path: Path) -> None:
    """Multipart POST, raw PUT (a retry replaces the file), the admin's download of the same
    bytes, and no bearer token needed: the path's token is the key."""
    token = await _token(served, charger)
    http = served.client
    form = await http.post(
        f"/upload/diagnostics/{token}",
        files={"file": ("../../etc/cp1 diag.log", b"line one\r\nline two\r\n", "text/plain")},
        data={"note": "from the charger"},
    )
    assert form.status_code == 201, form.text
    assert form.json()["name"] == "cp1_diag.log"  # one safe path segment
    assert form.json()["size"] == len(b"line one\r\nline two\r\n")

    binary = bytes(range(256)) * 8  # every byte value, CR and LF included
    put = await http.put(f"/upload/diagnostics/{token}?name=cp1-diag.zip", content=binary)
    assert put.status_code == 201, put.text
    assert put.json()["sha256"] == hashlib.sha256(binary).hexdigest()

    shown = (await served.call("admin", "GET", "/api/v1/chargers/CP1/diagnostics")).json()
    (request,) = shown["requests"]
    assert request["upload"]["name"] == "cp1-diag.zip" and request["upload"]["size"] == 2048
    assert token not in str(shown)
    got = await served.call("admin", "GET", request["upload"]["download"])
    assert got.status_code == 200 and got.content == binary
    assert got.headers["x-content-sha256"] == hashlib.sha256(binary).hexdigest()
    assert 'filename="cp1-diag.zip"' in got.headers["content-disposition"]
    assert list((tmp_path / "diag").rglob("*.part")) == []
    missing = await served.call("admin", "GET", "/api/v1/chargers/CP1/diagnostics/999/file")
    assert missing.status_code == 404


async def test_the_upload_door_refuses(served: Api, charger: Charger) -> None:
    token = await _token(served, charger)
    http = served.client
    unknown = await http.put(f"/upload/diagnostics/{'x' * 43}", content=b"hello")
    assert unknown.status_code == 404 and "upload URL" in unknown.json()["detail"]
    malformed = await http.put("/upload/diagnostics/short", content=b"hello")
    assert malformed.status_code == 422
    big = b"y" * (4096 + 64 * 1024 + 1)
    declared = await http.put(f"/upload/diagnostics/{token}", content=big)
    assert declared.status_code == 413 and "larger than 4096 bytes" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(100):
            yield b"z" * 1024

    chunked = await http.put(f"/upload/diagnostics/{token}", content=chunks())
    assert chunked.status_code == 413
    just_over = await http.put(f"/upload/diagnostics/{token}", content=b"w" * 4097)
    assert just_over.status_code == 413
    shown = (await served.call("admin", "GET", "/api/v1/chargers/CP1/diagnostics")).json()
    assert shown["requests"][0]["upload"] is None  # nothing refused was kept


async def test_a_form_without_a_file_field_is_422(served: Api, charger: Charger) -> None:
    token = await _token(served, charger)
    body = b'--B\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--B--\r\n'
    answer = await served.client.post(
        f"/upload/diagnostics/{token}",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=B"},
    )
    assert answer.status_code == 422 and "'file'" in answer.json()["detail"]


async def test_the_simulator_uploads_a_form_too(env: Env, served: Api) -> None:
    cp = SimCharger(
        f"ws://127.0.0.1:{env.gateway.port}/ocpp",
        "CP2",
        backoff=(0.05, 0.2),
        firmware=FirmwareSwitches(step_s=0.01, upload_method="POST"),
    )
    await cp.start(timeout=10)
    try:
        sent = await served.call(
            "admin", "POST", "/api/v1/chargers/CP2/commands/get-diagnostics", {}
        )
        assert sent.status_code == 200, sent.text

        async def uploaded() -> None:
            while ("DiagnosticsStatusNotification", "Uploaded") not in cp.firmware.reported:
                assert ("DiagnosticsStatusNotification", "UploadFailed") not in (
                    cp.firmware.reported
                )
                await asyncio.sleep(0.02)

        await asyncio.wait_for(uploaded(), 10)
        await cp.drained()
    finally:
        await cp.stop(drain_timeout=2)
    shown = (await served.call("admin", "GET", "/api/v1/chargers/CP2/diagnostics")).json()
    request = shown["requests"][0]
    assert request["status"] == "Uploaded"
    assert cp.firmware.uploads[-1].method == "POST"
    assert request["upload"]["size"] == cp.firmware.uploads[-1].size


def test_the_cli_shows_firmware_and_diagnostics(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    async def setup() -> None:
        engine = create_engine(db_url)
        try:
            await migrate.upgrade(engine)
            await seed(engine)
            async with engine.begin() as conn:
                row = {"charger_id": "CP1", "requested_at": at, "requested_by": "cli"}
                await firmware.add_request(
                    conn, "firmware", {**row, "location": FW, "retrieve_date": at}
                )
                await firmware.add_request(
                    conn, "diagnostics", {**row, "location": "https://up.example.com/d"}
                )
            for kind, status in (("firmware", "Downloading"), ("diagnostics", "UploadFailed")):
                async with engine.begin() as conn:
                    batch = Batch(conn)
                    await firmware.record_status(batch, "CP1", kind, status, at)
                    await batch.flush()
        finally:
            await engine.dispose()

    asyncio.run(setup())
    assert main(["chargers", "firmware", "CP1", "--database-url", db_url]) == 0
    out = capsys.readouterr().out
    assert FW in out and "Downloading" in out and "2026-12-03T12:00:00" in out
    assert main(["chargers", "diagnostics", "CP1", "--json", "--database-url", db_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["requests"][0]["status"] == "UploadFailed"
    assert shown["requests"][0]["history"][0]["status"] == "UploadFailed"
    assert main(["chargers", "diagnostics", "NOPE", "--database-url", db_url]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "evgate: no charger 'NOPE'"
