"""Firmware Management over HTTP: a charger's firmware updates and diagnostics requests with
their status history, the diagnostics file it uploaded, and the upload door itself.

``PUT`` or ``POST /upload/diagnostics/{token}`` is where a charger sent get-diagnostics
without a location uploads: the body itself, or a multipart form with a ``file`` field. It
takes no bearer token (the token in the path names one request and lets only its file in),
the token is looked up before any of the body is read, and a body past the diagnostics limit
is refused with 413. FTP is not served.
"""

from __future__ import annotations

from email.message import Message
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from config.api.auth import Reader, Writer
from config.api.context import api_context, reading
from config.api.types import BigId, ChargerIdPath
from services import firmware
from store.errors import Invalid

router = APIRouter(prefix="/api/v1", tags=["firmware management"])
uploads = APIRouter(tags=["firmware management"])

UploadToken = Annotated[
    str,
    PathParam(
        description="the token of evgate's own upload URL, as get-diagnostics sent it",
        min_length=32,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
    ),
]


@router.get("/chargers/{charger_id}/firmware", summary="firmware updates and their statuses")
async def firmware_updates(
    request: Request, charger_id: ChargerIdPath, who: Reader
) -> dict[str, Any]:
    async with reading(request) as conn:
        return await firmware.firmware_requests(conn, who, charger_id)


@router.get(
    "/chargers/{charger_id}/diagnostics",
    summary="diagnostics requests, their statuses and uploaded files",
)
async def diagnostics(request: Request, charger_id: ChargerIdPath, who: Reader) -> dict[str, Any]:
    async with reading(request) as conn:
        return await firmware.diagnostics_requests(conn, who, charger_id)


@router.get(
    "/chargers/{charger_id}/diagnostics/{request_id}/file",
    summary="the diagnostics file a charger uploaded (an admin of its site)",
    response_class=FileResponse,
)
async def diagnostics_file(
    request: Request, charger_id: ChargerIdPath, request_id: BigId, who: Writer
) -> FileResponse:
    async with reading(request) as conn:
        found = await firmware.uploaded_file(conn, who, charger_id, request_id)
    return FileResponse(
        found.path,
        filename=found.name,
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": found.sha256},
    )


def _params(header: str, value: str) -> Message:
    message = Message()
    message[header] = value
    return message


def _from_multipart(body: bytes, content_type: str) -> tuple[str | None, bytes]:
    """(file name, content) of the form's ``file`` field (else its first file)."""
    boundary = _params("content-type", content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise Invalid("file: a multipart body needs a boundary in its Content-Type")
    found: list[tuple[str | None, str | None, bytes]] = []
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _params("content-disposition", headers.get("content-disposition", ""))
        name = disposition.get_param("name", header="content-disposition")
        filename = disposition.get_filename()
        found.append(
            (
                name if isinstance(name, str) else None,
                filename,
                content.removesuffix(b"\r\n"),
            )
        )
    for name, filename, content in found:
        if name == "file":
            return filename, content
    for _, filename, content in found:
        if filename is not None:
            return filename, content
    raise Invalid("file: the multipart form has no 'file' field")


async def _body(request: Request, limit: int) -> bytes:
    too_large = HTTPException(
        413, f"the diagnostics file is larger than {limit} bytes (EVGATE_DIAGNOSTICS_MAX_BYTES)"
    )
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + 64 * 1024:
        raise too_large  # (a form's own lines may add a little to the file)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit + 64 * 1024:
            raise too_large
    return bytes(body)


async def _upload(request: Request, token: str) -> dict[str, Any]:
    ctx = api_context(request)
    await firmware.check_upload_token(ctx.engine, token)  # before any of the body is read
    body = await _body(request, ctx.diagnostics_max_bytes)
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        name, content = _from_multipart(body, content_type)
    else:
        disposition = request.headers.get("content-disposition")
        name = _params("content-disposition", disposition).get_filename() if disposition else None
        name = request.query_params.get("name") or name
        content = body
    if len(content) > ctx.diagnostics_max_bytes:
        raise HTTPException(
            413,
            f"the diagnostics file is larger than {ctx.diagnostics_max_bytes} bytes "
            "(EVGATE_DIAGNOSTICS_MAX_BYTES)",
        )
    stored = await firmware.receive_upload(
        ctx.engine, token, name, content, Path(ctx.diagnostics_dir)
    )
    return {
        "request_id": stored.request_id,
        "charger_id": stored.charger_id,
        "name": stored.name,
        "size": stored.size,
        "sha256": stored.sha256,
    }


@uploads.put(
    "/upload/diagnostics/{token}",
    status_code=201,
    summary="a charger uploads its diagnostics file (the body itself)",
)
async def upload_put(request: Request, token: UploadToken) -> dict[str, Any]:
    return await _upload(request, token)


@uploads.post(
    "/upload/diagnostics/{token}",
    status_code=201,
    summary="a charger uploads its diagnostics file (multipart form field 'file', or the body)",
)
async def upload_post(request: Request, token: UploadToken) -> dict[str, Any]:
    return await _upload(request, token)
