"""Pushing the derived local authorization list: on request (``push``), and in the
background of `evgate serve` (``LocalListJob``).

A push computes the list the charger should hold now (services/local_list_rules.py), takes
the difference from what it last accepted, and sends only that (a full update when nothing
is known of what it holds, or after a VersionMismatch); the answer is stored by the catalog's
hook. Nothing to send is no command at all, so a push repeated is harmless.

The job looks every ``interval`` seconds for chargers that are due (their site's tokens or
subscribers changed, or an entry they hold as Accepted expired) and online on any instance,
and pushes to them; a charger that is offline stays due and is pushed once it is back. With
several instances on one PostgreSQL database only the one holding the job's advisory lock
works a round. It runs on the API's loop, never on the one acknowledging charger messages.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.connection import CommandError
from services import local_list_rules as rules
from services.command_catalog import charger_version, send_by_name
from services.commands import CommandSender
from services.context import Actor
from services.local_list import PROBE_KEYS, PROBE_KEYS_201, wanted
from store import local_lists, locks, presence
from store.errors import EvgateError

log = logging.getLogger("evgate.local_list")
JOB = Actor("local-list")  # the audit log's name for what the job sends


async def push(
    engine: AsyncEngine,
    sender: CommandSender,
    actor: Actor,
    charger_id: str,
    *,
    full: bool = False,
    probe: bool = False,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Send the charger what its list lacks; ``full`` sends the whole list whatever it holds.

    ``probe``: when its support is not known, ask its SupportedFeatureProfiles first and send
    nothing to a charger without a local list. Returns what happened: ``status`` is the
    charger's answer, or ``UpToDate`` (nothing to send) or ``NotSupported`` (not sent).
    """
    at = datetime.now(UTC)
    async with engine.connect() as conn:
        facts, want = await wanted(conn, charger_id, at)
        actor.check_write(facts["site_id"])
        row = await local_lists.get(conn, charger_id)
    if row is None:
        async with engine.begin() as conn:
            await local_lists.ensure(conn, charger_id)
            row = await local_lists.get(conn, charger_id)
        assert row is not None
    seen = int(row["dirty"])
    if probe and row["supported"] is None:
        v201 = await charger_version(engine, charger_id) == "v201"
        ask = {"key": PROBE_KEYS_201 if v201 else PROBE_KEYS}
        try:
            await send_by_name(engine, sender, actor, charger_id, "get-configuration", ask, timeout)
        except CommandError as exc:
            await _no_answer(engine, charger_id, row["version"], exc)
            raise
        async with engine.connect() as conn:
            row = await local_lists.get(conn, charger_id)
        assert row is not None
        if not row["supported"]:  # not said (None) or no list: nothing is sent
            return {"charger_id": charger_id, "status": "NotSupported", "sent": False}
    update = rules.difference(None if full or row["full_next"] else row["entries"], want)
    if update is None:
        async with engine.begin() as conn:
            await local_lists.counted_off(conn, charger_id, seen)
        return {
            "charger_id": charger_id,
            "status": "UpToDate",
            "sent": False,
            "version": row["version"],
        }
    version = int(row["version"]) + 1
    try:
        answer = await send_by_name(
            engine, sender, actor, charger_id, "send-local-list", update.payload(version), timeout
        )
    except CommandError as exc:
        await _no_answer(engine, charger_id, version, exc)
        raise
    if answer.get("status") == "Accepted":
        async with engine.begin() as conn:
            await local_lists.counted_off(conn, charger_id, seen)
    return {
        "charger_id": charger_id,
        "status": answer.get("status"),
        "sent": True,
        "version": version,
        "update_type": update.update_type,
        "entries": len(update.entries),
        "answer": answer,
    }


async def _no_answer(engine: AsyncEngine, charger_id: str, version: int, exc: CommandError) -> None:
    """Offline: stays due, pushed when it is back. A CallError saying it does not know the
    action: no list. Otherwise (timeout, lost, another CallError): tried again later."""
    async with engine.begin() as conn:
        if exc.kind == "offline":
            return
        if exc.kind == "rejected" and exc.code in ("NotImplemented", "NotSupported"):
            await local_lists.set_supported(conn, charger_id, False)
        else:
            await local_lists.postpone(conn, charger_id, version, datetime.now(UTC))


class LocalListJob:
    """`evgate serve`'s background push of derived lists to the chargers that are due."""

    def __init__(
        self,
        engine: AsyncEngine,
        sender: CommandSender,
        *,
        interval: float = 5.0,
        timeout: float = 30.0,
        parallel: int = 20,
        clock: type[datetime] = datetime,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.interval = interval
        self.timeout = timeout
        self.parallel = parallel
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="evgate-local-lists")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the next round tries again (a push is idempotent)
                log.exception("local list round failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> dict[str, str]:
        """One round, by one instance at a time: charger id -> what its push did."""
        async with locks.held(self.engine, locks.LOCAL_LISTS) as mine:
            return await self._round() if mine else {}

    async def _round(self) -> dict[str, str]:
        now = self.clock.now(UTC)
        async with self.engine.connect() as conn:
            ids = await local_lists.due(conn, now)
            online = await presence.online(conn, ids, now) if ids else set()
        gate = asyncio.Semaphore(self.parallel)
        done: dict[str, str] = {}

        async def one(charger_id: str) -> None:
            async with gate:
                try:
                    result = await push(
                        self.engine,
                        self.sender,
                        JOB,
                        charger_id,
                        probe=True,
                        timeout=self.timeout,
                    )
                except (CommandError, EvgateError) as exc:
                    done[charger_id] = f"error: {exc}"
                    return
                done[charger_id] = str(result["status"])
                log.info(
                    "local list pushed",
                    extra={"charger": charger_id, "status": result["status"]},
                )

        await asyncio.gather(*(one(c) for c in ids if c in online))
        return done
