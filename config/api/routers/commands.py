"""Remote commands: sent over the charger's socket, answered with the charger's own answer.

409 when this process holds no socket for the charger (offline), 504 when it does not
answer in time, 502 when it answers with a CallError.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Writer
from config.api.context import api_context, reading, transaction
from config.api.types import ChargerIdPath, IdTag
from gateway.connection import CommandError
from store import admin, audit, charger_admin

router = APIRouter(prefix="/api/v1/chargers/{charger_id}/commands", tags=["remote commands"])

ConnectorId = Annotated[int, Field(ge=0, le=100)]
TransactionId = Annotated[int, Field(ge=1, le=2**31 - 1)]
_STATUS = {"offline": 409, "timeout": 504, "rejected": 502, "invalid": 422}


class RemoteStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_tag: IdTag
    connector_id: Annotated[int, Field(ge=1, le=100)] | None = None


class RemoteStop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transaction_id: TransactionId | None = Field(
        None, description="the session id; default: the charger's only running session"
    )


class Reset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["Soft", "Hard"] = "Soft"


class Unlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connector_id: Annotated[int, Field(ge=1, le=100)]


class ChangeAvailability(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connector_id: ConnectorId = Field(description="0: the whole charger")
    type: Literal["Operative", "Inoperative"]


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Literal[
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    ]
    connector_id: Annotated[int, Field(ge=1, le=100)] | None = None


async def send(
    request: Request,
    who: Writer,
    charger_id: str,
    command: str,
    action: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Check the caller may act on the charger, send, audit, return the charger's answer."""
    async with reading(request) as conn:
        charger = await admin.get_charger(conn, charger_id)
    who.check_write(charger["site_id"])
    ctx = api_context(request)
    try:
        answer = await ctx.sender.call(charger_id, action, payload, timeout=ctx.command_timeout)
    except CommandError as exc:
        raise HTTPException(_STATUS.get(exc.kind, 502), str(exc)) from None
    async with transaction(request) as conn:
        await audit.record(
            conn,
            who.actor,
            f"command.{command}",
            "charger",
            charger_id,
            site_id=charger["site_id"],
            before={"action": action, "payload": payload},
            after=answer,
        )
    return {
        "charger_id": charger_id,
        "command": command,
        "status": answer.get("status"),
        "answer": answer,
    }


@router.post("/remote-start", summary="RemoteStartTransaction")
async def remote_start(
    request: Request, charger_id: ChargerIdPath, body: RemoteStart, who: Writer
) -> dict[str, Any]:
    payload: dict[str, Any] = {"idTag": body.id_tag}
    if body.connector_id is not None:
        payload["connectorId"] = body.connector_id
    return await send(request, who, charger_id, "remote-start", "RemoteStartTransaction", payload)


@router.post("/remote-stop", summary="RemoteStopTransaction")
async def remote_stop(
    request: Request, charger_id: ChargerIdPath, body: RemoteStop, who: Writer
) -> dict[str, Any]:
    transaction_id = body.transaction_id
    if transaction_id is None:
        async with reading(request) as conn:
            await admin.get_charger(conn, charger_id)
            running = await charger_admin.running_sessions(conn, charger_id)
        if not running:
            raise HTTPException(409, f"charger {charger_id!r} has no running session to stop")
        if len(running) > 1:
            raise HTTPException(
                422, f"charger {charger_id!r} runs {len(running)} sessions: give transaction_id"
            )
        transaction_id = int(running[0]["id"])
    return await send(
        request,
        who,
        charger_id,
        "remote-stop",
        "RemoteStopTransaction",
        {"transactionId": transaction_id},
    )


@router.post("/reset", summary="Reset (Soft or Hard)")
async def reset(
    request: Request, charger_id: ChargerIdPath, body: Reset, who: Writer
) -> dict[str, Any]:
    return await send(request, who, charger_id, "reset", "Reset", {"type": body.type})


@router.post("/unlock", summary="UnlockConnector")
async def unlock(
    request: Request, charger_id: ChargerIdPath, body: Unlock, who: Writer
) -> dict[str, Any]:
    return await send(
        request, who, charger_id, "unlock", "UnlockConnector", {"connectorId": body.connector_id}
    )


@router.post("/change-availability", summary="ChangeAvailability")
async def change_availability(
    request: Request, charger_id: ChargerIdPath, body: ChangeAvailability, who: Writer
) -> dict[str, Any]:
    payload = {"connectorId": body.connector_id, "type": body.type}
    return await send(
        request, who, charger_id, "change-availability", "ChangeAvailability", payload
    )


@router.post("/trigger", summary="TriggerMessage")
async def trigger(
    request: Request, charger_id: ChargerIdPath, body: Trigger, who: Writer
) -> dict[str, Any]:
    payload: dict[str, Any] = {"requestedMessage": body.message}
    if body.connector_id is not None:
        payload["connectorId"] = body.connector_id
    return await send(request, who, charger_id, "trigger", "TriggerMessage", payload)
