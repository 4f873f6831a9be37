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

A charger that speaks 2.0.1 is sent the ``CATALOG_201`` rows. ``resolve`` picks the row by the
charger's recorded version; a 1.6 command for a 2.0.1 charger keeps its 1.6 row's hooks (so
evgate's own services, which speak 1.6, record what they always record) and only its wire
payload is 2.0.1's (services/command_translation.py), and a 2.0.1 one for a 1.6 charger is
translated first and then is a 1.6 command.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import schemas
from gateway.ocpp16 import VERSION
from gateway.ocpp_j import OcppError
from services import command_translation as translation
from services import firmware, local_list, reservations, smart_charging
from services.commands import CommandSender, check_remote_start, send
from services.context import Actor
from store import admin, charging
from store.errors import EvgateError, Invalid, NotFound

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
    version: str = VERSION  # v16 | v201

    def schema(self) -> dict[str, Any]:
        """The official request schema (the library ships one per action)."""
        found = schemas.schema(self.version, schemas.request_name(self.version, self.action))
        assert found is not None, f"the ocpp library has no schema for {self.action}"
        return found

    def check(self, payload: dict[str, Any]) -> None:
        """Invalid naming the field when the payload breaks the action's schema."""
        try:
            schemas.check(self.version, schemas.request_name(self.version, self.action), payload)
        except OcppError as exc:
            raise Invalid(f"{self.name}: {exc.description}") from None

    def accepts(self, payload: dict[str, Any]) -> bool:
        try:
            self.check(payload)
        except Invalid:
            return False
        return True


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


_ACTIONS_201 = (
    "RequestStartTransaction",
    "RequestStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "TriggerMessage",
    "GetVariables",
    "SetVariables",
    "GetBaseReport",
    "ClearCache",
    "SendLocalList",
    "GetLocalListVersion",
    "ReserveNow",
    "CancelReservation",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "UpdateFirmware",
    "GetLog",
    "DataTransfer",
)


async def _may_charge_201(
    engine: AsyncEngine, actor: Actor, charger_id: str, p: dict[str, Any]
) -> None:
    await check_remote_start(engine, actor, charger_id, str(p["idToken"]["idToken"]))


_REDACT_201: dict[str, Redact] = {"GetLog": firmware.redacted_log_payload}

# the OCPP 2.0.1 rows: a charger that speaks 2.0.1 is sent these (same kebab-case names)
CATALOG_201: dict[str, Command] = {
    kebab(a): Command(
        kebab(a),
        a,
        before_send=_may_charge_201 if a == "RequestStartTransaction" else None,
        redact=_REDACT_201.get(a),
        version="v201",
    )
    for a in _ACTIONS_201
}


def find(name: str) -> Command:
    """The catalog row for ``name`` (the 1.6 one where both versions have it); NotFound
    listing the known names."""
    command = CATALOG.get(name) or CATALOG_201.get(name)
    if command is None:
        known = sorted({*CATALOG, *CATALOG_201})
        raise NotFound(f"unknown command {name!r}; known: {', '.join(known)}")
    return command


async def charger_version(engine: AsyncEngine, charger_id: str) -> str:
    """v201 for a charger recorded as speaking 2.0.1, else v16."""
    async with engine.connect() as conn:
        charger = await admin.get_charger(conn, charger_id)
    return "v201" if charger.get("ocpp_version") == "ocpp2.0.1" else VERSION


@dataclass(frozen=True, slots=True)
class Route:
    """How a command goes out: ``command`` is the row whose hooks run on ``payload`` (in that
    row's version); ``wire`` is the 2.0.1 row it is sent as when a 1.6 command is translated
    for a 2.0.1 charger (None: it is sent as ``command``)."""

    command: Command
    payload: dict[str, Any]
    wire: Command | None = None


def _wire_201(action: str) -> Command | None:
    """The 2.0.1 row a 1.6 action is translated into, when evgate translates it."""
    translated = (
        action in translation.TO_201
        or action in translation.TO_201_WITH_ID
        or action in ("RemoteStopTransaction", "SetChargingProfile")
    )
    target = translation.EQUIVALENT_201.get(action)
    return CATALOG_201.get(kebab(target)) if translated and target else None


async def _fits(
    engine: AsyncEngine,
    charger_id: str,
    row: Command,
    payload: Any,
    public_url: str | None,
) -> bool:
    """Whether ``payload`` is this row's, once what the caller may leave out is filled in (on
    a copy: reserve-now without its reservationId is still a 1.6 reserve-now)."""
    if not isinstance(payload, dict):
        return False
    if row.accepts(payload):
        return True
    if row.prepare is None and row.defaults is None:
        return False
    trial = copy.deepcopy(payload)
    try:
        if row.prepare is not None:
            await row.prepare(engine, charger_id, trial)
        if row.defaults is not None:
            trial = row.defaults(trial, public_url)
    except EvgateError:
        return False
    return row.accepts(trial)


async def resolve(
    engine: AsyncEngine,
    charger_id: str,
    name: str,
    payload: dict[str, Any],
    public_url: str | None = None,
) -> Route:
    """How to send ``name`` to this charger, in its own version.

    A 2.0.1 charger: a payload of the 1.6 row, where evgate translates it, goes the 1.6 way
    (the 1.6 row's hooks run on it, then it is translated; so a payload both versions share,
    such as cancel-reservation's, is recorded as a 1.6 one is); otherwise the 2.0.1 row's.
    A 1.6 charger: the 1.6 row's payload as it is; a 2.0.1 payload is translated to 1.6 first
    and then goes the 1.6 way. Anything else: the row whose schema check then refuses it."""
    version = await charger_version(engine, charger_id)
    row16, row201 = CATALOG.get(name), CATALOG_201.get(name)
    if row16 is None and row201 is None:
        find(name)  # NotFound with the known names
    if version == "v201":
        wire = _wire_201(row16.action) if row16 is not None else None
        if (
            row16 is not None
            and wire is not None
            and (row201 is None or await _fits(engine, charger_id, row16, payload, public_url))
        ):
            return Route(row16, payload, wire)  # its own check follows
        if row201 is not None:
            return Route(row201, payload)
        raise Invalid(f"{name} has no OCPP 2.0.1 equivalent evgate translates")
    if row16 is not None and (
        row201 is None or await _fits(engine, charger_id, row16, payload, public_url)
    ):
        return Route(row16, payload)
    assert row201 is not None
    if not row201.accepts(payload):
        return Route(row16 or row201, payload)  # its Invalid follows
    target = translation.EQUIVALENT_16.get(row201.action)
    row = CATALOG.get(kebab(target)) if target else None
    if row is None or (
        row201.action not in translation.TO_16 and row201.action != "RequestStopTransaction"
    ):
        raise Invalid(f"{name} has no OCPP 1.6 equivalent evgate translates")
    if row201.action == "RequestStopTransaction":
        return Route(row, await _stop_to_16(engine, charger_id, str(payload["transactionId"])))
    return Route(row, translation.TO_16[row201.action](payload))


def _request_id() -> int:
    """An id for a 2.0.1 request that carries one (remoteStartId, requestId)."""
    return secrets.randbelow(2**31 - 1) + 1


async def _to_201(
    engine: AsyncEngine, charger_id: str, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    if action == "RemoteStopTransaction":
        return translation.stop_to_201(
            await _transaction_ref(engine, charger_id, payload["transactionId"])
        )
    if action == "SetChargingProfile":  # a TxProfile names its transaction
        tx = payload["csChargingProfiles"].get("transactionId")
        found = await _transaction_ref(engine, charger_id, tx) if tx is not None else None
        return translation.set_profile_to_201(payload, found)
    with_id = translation.TO_201_WITH_ID.get(action)
    if with_id is not None:
        return with_id(payload, _request_id())
    return translation.TO_201[action](payload)


async def _transaction_ref(engine: AsyncEngine, charger_id: str, session_id: Any) -> str:
    """The 2.0.1 transactionId (the charger's own string) of an evgate session."""
    async with engine.connect() as conn:
        session = await charging.get_session(conn, int(session_id))
    if session is None or session["charger_id"] != charger_id or not session["transaction_ref"]:
        raise NotFound(f"no 2.0.1 transaction {session_id} on {charger_id!r}")
    return str(session["transaction_ref"])


async def _stop_to_16(engine: AsyncEngine, charger_id: str, ref: str) -> dict[str, Any]:
    """A 2.0.1-style stop of a 1.6 session: its transactionId is the session id."""
    if not ref.isdigit():
        raise Invalid(f"transactionId {ref!r} of a 1.6 charger is a session id")
    return translation.stop_to_16(int(ref))


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
    route = await resolve(engine, charger_id, name, payload, public_url)
    command, payload = route.command, route.payload
    if command.prepare is not None and isinstance(payload, dict):
        await command.prepare(engine, charger_id, payload)
    if command.defaults is not None:
        payload = command.defaults(payload, public_url)
    command.check(payload)
    if command.before_send is not None:
        await command.before_send(engine, actor, charger_id, payload)
    wire, sent = command, payload
    if route.wire is not None:  # a 1.6 command for a 2.0.1 charger: its 2.0.1 payload
        wire, sent = route.wire, await _to_201(engine, charger_id, command.action, payload)
        wire.check(sent)
    audited = wire.redact(sent) if wire.redact is not None else None
    answer = await send(
        engine, sender, actor, charger_id, label or name, wire.action, sent, timeout, audited
    )
    if command.after_reply is not None:
        # the 1.6 hook reads a translated command's answer in 1.6's terms
        view = answer
        if route.wire is not None and command.action in translation.ANSWER_TO_16:
            view = translation.ANSWER_TO_16[command.action](answer)
        await command.after_reply(engine, charger_id, payload, view)
    return answer
