"""The remote commands a charger can be sent by name: one row per OCPP 1.6 action.

A name is the kebab-case of the action (``get-configuration`` is GetConfiguration); the
request is the OCPP payload as the 1.6 specification writes it (camelCase), checked against
the ``ocpp`` library's bundled schema before anything is sent. A later command (send-local-list,
reserve-now, set-charging-profile, update-firmware, get-diagnostics) is one more row; a row may
carry a ``before_send`` hook for a check the schema cannot express (it raises store.errors),
and an ``after_reply`` hook that stores what the charger's answer means (a list version, a
reservation's outcome, a profile in force) once the answer has come back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import schemas
from gateway.ocpp16 import VERSION
from gateway.ocpp_j import OcppError
from services import local_list
from services.commands import CommandSender, check_remote_start, send
from services.context import Actor
from store.errors import Invalid, NotFound

# (engine, actor, charger_id, payload): raises store.errors to refuse before anything is sent
BeforeSend = Callable[[AsyncEngine, Actor, str, dict[str, Any]], Awaitable[None]]
# (engine, charger_id, payload, answer): stores what the answer means; runs after the audit
AfterReply = Callable[[AsyncEngine, str, dict[str, Any], dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    action: str
    before_send: BeforeSend | None = None
    after_reply: AfterReply | None = None

    def schema(self) -> dict[str, Any]:
        """The official request schema (the library ships one per action)."""
        found = schemas.schema(VERSION, self.action)
        assert found is not None, f"the ocpp library has no schema for {self.action}"
        return found

    def check(self, payload: dict[str, Any]) -> None:
        """Invalid naming the field when the payload breaks the action's schema."""
        try:
            schemas.check(VERSION, self.action, payload)
        except OcppError as exc:
            raise Invalid(f"{self.name}: {exc.description}") from None


def kebab(action: str) -> str:
    """GetConfiguration -> get-configuration."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", action).lower()


_ACTIONS = (
    # Core
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "DataTransfer",
    "GetConfiguration",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    # Remote Trigger
    "TriggerMessage",
    # Local Auth List Management
    "GetLocalListVersion",
    "SendLocalList",
)


async def _may_charge(
    engine: AsyncEngine, actor: Actor, charger_id: str, p: dict[str, Any]
) -> None:
    """A remote start's tag gets the verdict Authorize would give it, before it is sent."""
    await check_remote_start(engine, actor, charger_id, str(p["idTag"]))


_CHECKS: dict[str, BeforeSend] = {
    "RemoteStartTransaction": _may_charge,
    "SendLocalList": local_list.check_send,
}
_AFTER: dict[str, AfterReply] = {
    "GetConfiguration": local_list.after_configuration,
    "GetLocalListVersion": local_list.after_version,
    "SendLocalList": local_list.after_send,
}

CATALOG: dict[str, Command] = {
    kebab(a): Command(kebab(a), a, _CHECKS.get(a), _AFTER.get(a)) for a in _ACTIONS
}


def find(name: str) -> Command:
    """The catalog row for ``name``; NotFound listing the known names."""
    command = CATALOG.get(name)
    if command is None:
        raise NotFound(f"unknown command {name!r}; known: {', '.join(sorted(CATALOG))}")
    return command


async def send_by_name(
    engine: AsyncEngine,
    sender: CommandSender,
    actor: Actor,
    charger_id: str,
    name: str,
    payload: dict[str, Any],
    timeout: float = 30.0,
    label: str | None = None,
) -> dict[str, Any]:
    """The one way a command of the catalog is sent: schema, before-send check, then
    services.commands.send (role check, audit under ``label``, default the name)."""
    command = find(name)
    command.check(payload)
    if command.before_send is not None:
        await command.before_send(engine, actor, charger_id, payload)
    answer = await send(
        engine, sender, actor, charger_id, label or command.name, command.action, payload, timeout
    )
    if command.after_reply is not None:
        await command.after_reply(engine, charger_id, payload, answer)
    return answer
