"""The remote commands a charger can be sent by name: one row per OCPP 1.6 action.

A name is the kebab-case of the action (``get-configuration`` is GetConfiguration); the
request is the OCPP payload as the 1.6 specification writes it (camelCase), checked against
the ``ocpp`` library's bundled schema before anything is sent. A later command (send-local-list,
reserve-now, set-charging-profile, update-firmware, get-diagnostics) is one more row; a row may
carry a ``prepare`` hook that fills in what the caller may leave out (reserve-now's
reservationId) before the schema check, a ``before_send`` hook for a check the schema cannot
express (it raises store.errors), and an ``after_reply`` hook that stores what the charger's
answer means (a list version, a reservation's outcome, a profile in force) once the answer
has come back.
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
from services import firmware, local_list, reservations, smart_charging
from services.commands import CommandSender, check_remote_start, send
from services.context import Actor
from store.errors import Invalid, NotFound

# (engine, charger_id, payload): completes the payload in place, before the schema check
Prepare = Callable[[AsyncEngine, str, dict[str, Any]], Awaitable[None]]
# (engine, actor, charger_id, payload): raises store.errors to refuse before anything is sent
BeforeSend = Callable[[AsyncEngine, Actor, str, dict[str, Any]], Awaitable[None]]
# (engine, charger_id, payload, answer): stores what the answer means; runs after the audit
AfterReply = Callable[[AsyncEngine, str, dict[str, Any], dict[str, Any]], Awaitable[None]]
# (payload, public_url): the payload with what the operator may leave out filled in, before
# the schema check (a retrieveDate of now, evgate's own upload URL)
Defaults = Callable[[dict[str, Any], str | None], dict[str, Any]]
# payload -> the payload as the audit log keeps it (a secret in it masked)
Redact = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    action: str
    before_send: BeforeSend | None = None
    after_reply: AfterReply | None = None
    defaults: Defaults | None = None
    redact: Redact | None = None
    prepare: Prepare | None = None

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
    # Firmware Management
    "GetDiagnostics",
    "UpdateFirmware",
    # Reservation
    "CancelReservation",
    "ReserveNow",
    # Remote Trigger
    "TriggerMessage",
    # Smart Charging
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "SetChargingProfile",
    # Local Auth List Management
    "GetLocalListVersion",
    "SendLocalList",
)


async def _may_charge(
    engine: AsyncEngine, actor: Actor, charger_id: str, p: dict[str, Any]
) -> None:
    """A remote start's tag gets the verdict Authorize would give it, before it is sent; a
    chargingProfile it carries is checked as a TxProfile."""
    smart_charging.check_remote_start_profile(p)
    await check_remote_start(engine, actor, charger_id, str(p["idTag"]))


_PREPARE: dict[str, Prepare] = {"ReserveNow": reservations.fill_reservation_id}
_CHECKS: dict[str, BeforeSend] = {
    "RemoteStartTransaction": _may_charge,
    "GetDiagnostics": firmware.before_get_diagnostics,
    "UpdateFirmware": firmware.before_update_firmware,
    "SetChargingProfile": smart_charging.check_set_profile,
    "ClearChargingProfile": smart_charging.check_clear,
    "GetCompositeSchedule": smart_charging.check_composite,
    "ReserveNow": reservations.check_reserve,
    "CancelReservation": reservations.check_cancel,
    "SendLocalList": local_list.check_send,
}
_AFTER: dict[str, AfterReply] = {
    "GetDiagnostics": firmware.after_get_diagnostics,
    "UpdateFirmware": firmware.after_update_firmware,
    "RemoteStartTransaction": smart_charging.store_remote_start_profile,
    "SetChargingProfile": smart_charging.store_set_profile,
    "ClearChargingProfile": smart_charging.store_cleared,
    "ReserveNow": reservations.reserve_answered,
    "CancelReservation": reservations.cancel_answered,
    "GetConfiguration": local_list.after_configuration,
    "GetLocalListVersion": local_list.after_version,
    "SendLocalList": local_list.after_send,
}
_DEFAULTS: dict[str, Defaults] = {
    "GetDiagnostics": firmware.diagnostics_defaults,
    "UpdateFirmware": firmware.firmware_defaults,
}

_REDACT: dict[str, Redact] = {"GetDiagnostics": firmware.redacted_payload}

CATALOG: dict[str, Command] = {
    kebab(a): Command(
        kebab(a),
        a,
        before_send=_CHECKS.get(a),
        after_reply=_AFTER.get(a),
        defaults=_DEFAULTS.get(a),
        redact=_REDACT.get(a),
        prepare=_PREPARE.get(a),
    )
    for a in _ACTIONS
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
    public_url: str | None = None,
) -> dict[str, Any]:
    """The one way a command of the catalog is sent: what the caller may leave out filled in
    (``prepare`` completes ``payload`` in place, so the caller sees what was sent; ``defaults``
    makes a copy, since it may hold a secret such as evgate's own upload URL, ``public_url``),
    schema, before-send check, then services.commands.send (role check, audit under
    ``label``, default the name, a secret masked), then the after-reply hook."""
    command = find(name)
    if command.prepare is not None and isinstance(payload, dict):
        await command.prepare(engine, charger_id, payload)
    if command.defaults is not None:
        payload = command.defaults(payload, public_url)
    command.check(payload)
    if command.before_send is not None:
        await command.before_send(engine, actor, charger_id, payload)
    audited = command.redact(payload) if command.redact is not None else None
    answer = await send(
        engine,
        sender,
        actor,
        charger_id,
        label or command.name,
        command.action,
        payload,
        timeout,
        audited,
    )
    if command.after_reply is not None:
        await command.after_reply(engine, charger_id, payload, answer)
    return answer
