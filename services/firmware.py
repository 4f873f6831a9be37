"""Firmware Management (OCPP 1.6): update-firmware and get-diagnostics, what the charger
answered and reported about them, and the diagnostics files chargers upload to evgate.

The hooks of services.command_catalog live here: ``*_defaults`` fill in what the operator
may leave out (a retrieveDate of now; for get-diagnostics, evgate's own upload URL with a
token of its own), ``before_*`` keep the request before it is sent (a charger may report
on it before its answer is back), ``after_*`` keep its answer. The status notifications
themselves are the gateway's (gateway.service.ChargingService.firmware_status).

An upload URL is ``{public_url}/upload/diagnostics/{token}``: the token is 256 random bits,
stored only as its sha256, and lets whoever holds it upload the file of that one request
(no bearer token: a charger has none). FTP is not served.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.context import Actor
from store import admin, firmware, presence
from store.errors import Conflict, Invalid, NotFound

UPLOAD_PATH = "/upload/diagnostics/"
FIRMWARE_STATUSES = (
    "Downloaded",
    "DownloadFailed",
    "Downloading",
    "Idle",
    "InstallationFailed",
    "Installing",
    "Installed",
)
DIAGNOSTICS_STATUSES = ("Idle", "Uploaded", "UploadFailed", "Uploading")
_TOKEN = re.compile(re.escape(UPLOAD_PATH) + r"([A-Za-z0-9_-]{32,128})$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def upload_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + UPLOAD_PATH + token


def _own_token(location: str) -> str | None:
    """The token of an evgate upload URL (any host: the path says it), else None."""
    found = _TOKEN.search(urlsplit(location).path)
    return found.group(1) if found else None


def _redacted(location: str) -> str:
    token = _own_token(location)
    return location.replace(token, "***") if token else location


def redacted_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """GetDiagnostics as the audit log keeps it: an upload token masked."""
    if "location" not in payload:
        return payload
    return {**payload, "location": _redacted(str(payload["location"]))}


def redacted_log_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """GetLog (2.0.1) as the audit log keeps it: an upload token masked."""
    log = payload.get("log")
    if not isinstance(log, dict) or "remoteLocation" not in log:
        return payload
    return {**payload, "log": {**log, "remoteLocation": _redacted(str(log["remoteLocation"]))}}


def _time(payload: dict[str, Any], key: str, command: str) -> datetime | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{command}: {key} {value!r} is not an ISO 8601 date-time") from None
    if at.tzinfo is None:
        raise Invalid(f"{command}: {key} {value!r} needs a time zone (e.g. a trailing Z)")
    return at.astimezone(UTC)


def _check_url(location: str, command: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(location)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise Invalid(
            f"{command}: location {location!r} must be an absolute URL ({', '.join(schemes)})"
        )


# -- command_catalog hooks ----------------------------------------------------------------


def firmware_defaults(payload: dict[str, Any], public_url: str | None) -> dict[str, Any]:
    """UpdateFirmware's retrieveDate defaults to now."""
    if "retrieveDate" in payload:
        return payload
    return {**payload, "retrieveDate": _iso(now())}


def diagnostics_defaults(payload: dict[str, Any], public_url: str | None) -> dict[str, Any]:
    """GetDiagnostics without a location uploads to evgate itself, with a fresh token."""
    if "location" in payload:
        return payload
    if not public_url:
        raise Invalid(
            "get-diagnostics: give location, or set evgate's public URL (EVGATE_PUBLIC_URL) "
            "so the charger can upload to evgate"
        )
    return {**payload, "location": upload_url(public_url, secrets.token_urlsafe(32))}


async def _writable_online(conn: AsyncConnection, actor: Actor, charger_id: str) -> None:
    charger = await admin.get_charger(conn, charger_id)
    actor.check_write(charger["site_id"])
    if charger_id not in await presence.online(conn, [charger_id], now()):
        raise Conflict(f"charger {charger_id!r} is not connected; nothing was sent")


async def before_update_firmware(
    engine: AsyncEngine, actor: Actor, charger_id: str, p: dict[str, Any]
) -> None:
    """Keep the request (the charger may report Downloading before its answer is back)."""
    location = str(p["location"])
    _check_url(location, "update-firmware", ("http", "https", "ftp", "ftps"))
    retrieve = _time(p, "retrieveDate", "update-firmware")
    async with engine.begin() as conn:
        await _writable_online(conn, actor, charger_id)
        await firmware.add_request(
            conn,
            "firmware",
            {
                "charger_id": charger_id,
                "location": location,
                "retrieve_date": retrieve,
                "retries": p.get("retries"),
                "retry_interval": p.get("retryInterval"),
                "requested_at": now(),
                "requested_by": actor.label,
            },
        )


async def before_get_diagnostics(
    engine: AsyncEngine, actor: Actor, charger_id: str, p: dict[str, Any]
) -> None:
    """Keep the request, and the digest of its upload token when it uploads to evgate."""
    location = str(p["location"])
    _check_url(location, "get-diagnostics", ("http", "https", "ftp", "ftps"))
    start = _time(p, "startTime", "get-diagnostics")
    stop = _time(p, "stopTime", "get-diagnostics")
    if start is not None and stop is not None and stop < start:
        raise Invalid("get-diagnostics: stopTime is before startTime")
    token = _own_token(location)
    async with engine.begin() as conn:
        await _writable_online(conn, actor, charger_id)
        if token is not None and await firmware.token_in_use(conn, digest(token)):
            raise Invalid("get-diagnostics: that upload URL belongs to another request")
        await firmware.add_request(
            conn,
            "diagnostics",
            {
                "charger_id": charger_id,
                "location": _redacted(location),  # the token only as its digest
                "token_digest": digest(token) if token is not None else None,
                "start_time": start,
                "stop_time": stop,
                "retries": p.get("retries"),
                "retry_interval": p.get("retryInterval"),
                "requested_at": now(),
                "requested_by": actor.label,
            },
        )


async def after_update_firmware(
    engine: AsyncEngine, charger_id: str, p: dict[str, Any], answer: dict[str, Any]
) -> None:
    async with engine.begin() as conn:
        await firmware.answered(conn, "firmware", charger_id, str(p["location"]), now())


async def after_get_diagnostics(
    engine: AsyncEngine, charger_id: str, p: dict[str, Any], answer: dict[str, Any]
) -> None:
    """GetDiagnostics.conf names the file the charger will upload (or none: nothing to)."""
    name = answer.get("fileName")
    token = _own_token(str(p["location"]))
    async with engine.begin() as conn:
        await firmware.answered(
            conn,
            "diagnostics",
            charger_id,
            _redacted(str(p["location"])),
            now(),
            {"file_name": str(name)[:255] if name is not None else None},
            digest(token) if token is not None else None,
        )


# -- reads --------------------------------------------------------------------------------


async def _readable(conn: AsyncConnection, actor: Actor, charger_id: str) -> None:
    charger = await admin.get_charger(conn, charger_id)
    actor.check_read(charger["site_id"])


async def firmware_requests(conn: AsyncConnection, actor: Actor, charger_id: str) -> dict[str, Any]:
    """The charger's update-firmware requests, newest first, each with its status history."""
    await _readable(conn, actor, charger_id)
    rows = await firmware.requests_of(conn, "firmware", charger_id)
    latest = (await firmware.latest_status(conn, "firmware", [charger_id])).get(charger_id)
    return {
        "charger_id": charger_id,
        "firmware_status": latest,
        "requests": rows,
        "other_notifications": await firmware.unattached(conn, "firmware", charger_id),
    }


def _diagnostics_view(row: dict[str, Any]) -> dict[str, Any]:
    upload = None
    if row["uploaded_at"] is not None:
        upload = {
            "name": row["upload_name"],
            "size": row["upload_size"],
            "sha256": row["upload_sha256"],
            "uploaded_at": row["uploaded_at"],
            "download": f"/api/v1/chargers/{row['charger_id']}/diagnostics/{row['id']}/file",
        }
    view = {
        k: v
        for k, v in row.items()
        if k != "token_digest" and not k.startswith("upload_") and k != "uploaded_at"
    }
    view["uploads_to_evgate"] = row["token_digest"] is not None
    view["upload"] = upload
    return view


async def diagnostics_requests(
    conn: AsyncConnection, actor: Actor, charger_id: str
) -> dict[str, Any]:
    """The charger's get-diagnostics requests, newest first, with history and upload."""
    await _readable(conn, actor, charger_id)
    rows = await firmware.requests_of(conn, "diagnostics", charger_id)
    latest = (await firmware.latest_status(conn, "diagnostics", [charger_id])).get(charger_id)
    return {
        "charger_id": charger_id,
        "diagnostics_status": latest,
        "requests": [_diagnostics_view(r) for r in rows],
        "other_notifications": await firmware.unattached(conn, "diagnostics", charger_id),
    }


async def latest_firmware_status(
    conn: AsyncConnection, charger_ids: list[str]
) -> dict[str, dict[str, Any]]:
    return await firmware.latest_status(conn, "firmware", charger_ids)


# -- uploads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    request_id: int
    charger_id: str
    name: str
    size: int
    sha256: str
    path: str


def safe_name(name: str | None, fallback: str) -> str:
    """A file name that is one path segment of plain characters."""
    base = _SAFE_NAME.sub("_", os.path.basename((name or "").replace("\\", "/"))).strip("._")
    return (base or fallback)[:200]


def _write(directory: Path, name: str, content: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    part = directory / f".{name}.part"
    with open(part, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)
    return path


async def check_upload_token(engine: AsyncEngine, token: str) -> None:
    """NotFound unless ``token`` is the upload token of a diagnostics request."""
    async with engine.connect() as conn:
        if not await firmware.token_in_use(conn, digest(token)):
            raise NotFound("no diagnostics request has this upload URL")


async def receive_upload(
    engine: AsyncEngine, token: str, name: str | None, content: bytes, directory: Path
) -> StoredFile:
    """Keep a charger's diagnostics file for the request its token names (NotFound for an
    unknown token). Uploading again replaces the file: a retried upload is the same file."""
    async with engine.connect() as conn:
        row = await firmware.diagnostics_by_token(conn, digest(token))
    if row is None:
        raise NotFound("no diagnostics request has this upload URL")
    fallback = row["file_name"] or f"diagnostics-{row['id']}"
    stored_name = safe_name(name or row["file_name"], safe_name(fallback, "diagnostics"))
    where = directory / safe_name(row["charger_id"], "charger") / str(row["id"])
    path = await asyncio.to_thread(_write, where, stored_name, content)
    sha = hashlib.sha256(content).hexdigest()
    async with engine.begin() as conn:
        await firmware.store_upload(
            conn,
            row["id"],
            {
                "upload_name": stored_name,
                "upload_size": len(content),
                "upload_sha256": sha,
                "upload_path": str(path),
                "uploaded_at": now(),
            },
        )
    return StoredFile(row["id"], row["charger_id"], stored_name, len(content), sha, str(path))


async def uploaded_file(
    conn: AsyncConnection, actor: Actor, charger_id: str, request_id: int
) -> StoredFile:
    """The file uploaded for a request of this charger (NotFound: no such request or file);
    for an admin of the charger's site (the file may say more than a viewer should see)."""
    charger = await admin.get_charger(conn, charger_id)
    actor.check_write(charger["site_id"])
    row = await firmware.diagnostics_request(conn, charger_id, request_id)
    if row is None:
        raise NotFound(f"charger {charger_id!r} has no diagnostics request {request_id}")
    if row["upload_path"] is None:
        raise NotFound(f"diagnostics request {request_id} has no uploaded file yet")
    if not os.path.isfile(row["upload_path"]):
        raise NotFound(f"the file of diagnostics request {request_id} is no longer on disk")
    return StoredFile(
        row["id"],
        charger_id,
        row["upload_name"],
        row["upload_size"],
        row["upload_sha256"],
        row["upload_path"],
    )
