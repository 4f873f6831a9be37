"""Remote commands to a charger: check the actor may act on it, send, audit the answer.

The command goes wherever the charger's socket is (this process's registry, or another
instance through the MQTT command bus); a failure is the gateway's CommandError, whose
``kind`` (offline, timeout, rejected, invalid) the entry points map.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.service import decide
from services.context import Actor
from store import admin, audit, charger_admin, charging
from store.errors import Conflict, Invalid


class CommandSender(Protocol):
    """Sends a remote command to a charger wherever its socket is (registry or command bus)."""

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float = 30
    ) -> dict[str, Any]: ...


async def send(
    engine: AsyncEngine,
    sender: CommandSender,
    actor: Actor,
    charger_id: str,
    command: str,
    action: str,
    payload: dict[str, Any],
    timeout: float = 30.0,
    audited: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send ``action`` and return the charger's answer; audited only once it is answered,
    with ``audited`` for the payload when given (one without a secret in it).

    No transaction is held while the charger thinks (up to ``timeout``).
    """
    async with engine.connect() as conn:
        charger = await admin.get_charger(conn, charger_id)
    actor.check_write(charger["site_id"])
    answer = await sender.call(charger_id, action, payload, timeout=timeout)
    async with engine.begin() as conn:
        await audit.record(
            conn,
            actor.label,
            f"command.{command}",
            "charger",
            charger_id,
            site_id=charger["site_id"],
            before={"action": action, "payload": payload if audited is None else audited},
            after=answer,
        )
    return answer


async def only_running_session(engine: AsyncEngine, charger_id: str) -> int:
    """The id of the charger's one running session (what a stop without an id stops)."""
    async with engine.connect() as conn:
        await admin.get_charger(conn, charger_id)
        running = await charger_admin.running_sessions(conn, charger_id)
    if not running:
        raise Conflict(f"charger {charger_id!r} has no running session to stop")
    if len(running) > 1:
        raise Invalid(f"charger {charger_id!r} runs {len(running)} sessions: give transaction_id")
    return int(running[0]["id"])


async def check_remote_start(
    engine: AsyncEngine, actor: Actor, charger_id: str, id_tag: str
) -> None:
    """Refuse (Invalid, with the reason) a remote start whose tag the charger's own Authorize
    would refuse, before anything is sent: the same verdict as Authorize and StartTransaction.
    """
    async with engine.connect() as conn:
        charger = await admin.get_charger(conn, charger_id)
        actor.check_write(charger["site_id"])
        key = (charger_id, charger["site_id"], id_tag)
        facts = (await charging.authorize_facts_of(conn, [key]))[key]
    status, reason = decide(*facts)
    if status != "Accepted":
        raise Invalid(f"token {id_tag!r} may not charge at {charger_id!r} ({status}): {reason}")
