"""Remote commands: sent over the charger's socket, answered with the charger's own answer.

409 when no instance holds a socket for the charger (offline, never sent), 502
``connection_lost`` when the socket dropped after sending, 504 when it does not answer in
time, 502 ``call_error`` when it answers with a CallError (config/api/errors.py maps
CommandError). Short routes with snake_case bodies for the everyday commands (their values
1.6's, translated for a 2.0.1 charger like any 1.6 command); every command of
services.command_catalog by its kebab-case name with the OCPP payload itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Writer
from config.api.context import api_context
from config.api.types import ChargerIdPath, IdTag
from services import command_catalog, commands

router = APIRouter(prefix="/api/v1/chargers/{charger_id}/commands", tags=["remote commands"])

ConnectorId = Annotated[int, Field(ge=0, le=100)]
TransactionId = Annotated[int, Field(ge=1, le=2**31 - 1)]


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
    """A short route's 1.6 command, sent by its catalog name (so a 2.0.1 charger gets it in
    its own terms; the caller is checked and the command audited under ``command``)."""
    return await _by_name(request, who, charger_id, command_catalog.kebab(action), payload, command)


def _reply(charger_id: str, command: str, answer: dict[str, Any]) -> dict[str, Any]:
    """What every command route answers: the charger's payload, and its status on top."""
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
    return await _by_name(
        request, who, charger_id, "remote-start-transaction", payload, "remote-start"
    )


@router.post("/remote-stop", summary="RemoteStopTransaction")
async def remote_stop(
    request: Request, charger_id: ChargerIdPath, body: RemoteStop, who: Writer
) -> dict[str, Any]:
    transaction_id = body.transaction_id
    if transaction_id is None:
        transaction_id = await commands.only_running_session(
            api_context(request).engine, charger_id
        )
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


CommandName = Annotated[
    str,
    Path(
        description="kebab-case OCPP 1.6 or 2.0.1 action (docs/ocpp201.md: a charger of either "
        "version takes either name where both have the command): "
        + ", ".join(sorted({*command_catalog.CATALOG, *command_catalog.CATALOG_201})),
        examples=["get-configuration"],
    ),
]


@router.post("/{name}", summary="Any OCPP 1.6 or 2.0.1 command of the catalog, by name")
async def by_name(
    request: Request,
    charger_id: ChargerIdPath,
    name: CommandName,
    who: Writer,
    body: Annotated[
        dict[str, Any],
        Body(
            description="the OCPP request payload (camelCase) of the charger's version, or of "
            "the other version where evgate translates it, checked against the official schema",
            examples=[{"key": ["HeartbeatInterval"]}],
        ),
    ],
) -> dict[str, Any]:
    return await _by_name(request, who, charger_id, name, body)


async def _by_name(
    request: Request,
    who: Writer,
    charger_id: str,
    name: str,
    payload: dict[str, Any],
    label: str | None = None,
) -> dict[str, Any]:
    ctx = api_context(request)
    answer = await command_catalog.send_by_name(
        ctx.engine,
        ctx.sender,
        who,
        charger_id,
        name,
        payload,
        ctx.command_timeout,
        label,
        public_url=ctx.public_url or str(request.base_url).rstrip("/"),
    )
    # the payload as sent, with what evgate filled in (reserve-now's reservationId)
    return {**_reply(charger_id, label or name, answer), "request": payload}
