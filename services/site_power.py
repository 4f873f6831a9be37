"""A site's power limit, shared equally between the site's running sessions.

The limit (``sites.power_limit_w``, whole W) is shared by metering.power_share as one
TxProfile per session, in W, one period from 0 (services.smart_charging stores it like any
other profile). ``SiteSharer`` re-shares when a session starts or stops: the gateway calls
``changed`` after the commit, before the acknowledgement is written, and the sharing runs
later as a task of its own, one per site at a time, a burst of starts and stops becoming one
re-share. Each charger is reached through the command sender (this instance's socket or the
command bus), so a charger held by another instance gets its share too; one that cannot be
reached is logged and the others still get theirs.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from metering.power_share import MAX_SITE_POWER_W, equal_shares
from services import command_catalog
from services.commands import CommandSender
from services.context import Actor
from services.smart_charging import (
    SHARE_PROFILE_BASE,
    SHARE_STACK_LEVEL,
    exact,
    share_profile_id,
)
from store import audit, locks
from store import charging_profiles as profiles_store
from store.errors import Invalid

log = logging.getLogger("evgate.site_power")

# who sends the site's shares (the audit log's name for it)
SHARER = Actor("site-power-limit")
# advisory lock keys of the sites' re-shares: "evga" in the high 32 bits, the site's CRC-32
# in the low ones (store.locks' own keys have a zero high byte: no overlap)
SHARE_LOCK_BASE = 0x6576_6761 << 32
LOCK_RETRY_S = 0.1


def kw_to_w(kw: Decimal) -> int:
    """kW as entered (22, 7.4, 0.001) -> whole W, exactly; Invalid past 1 W of precision."""
    watts = kw * 1000
    if watts != watts.to_integral_value():
        raise Invalid(f"power limit {kw} kW is finer than 1 W (at most 3 decimals)")
    if not 0 < watts <= MAX_SITE_POWER_W:
        raise Invalid(f"power limit must be more than 0 and at most {MAX_SITE_POWER_W // 1000} kW")
    return int(watts)


def w_to_kw(watts: int | None) -> str | None:
    """22000 -> '22', 7400 -> '7.4' (exact)."""
    return None if watts is None else format(Decimal(watts) / 1000, "f")


async def set_power_limit(
    conn: AsyncConnection, actor: Actor, site_id: str, watts: int | None
) -> dict[str, Any]:
    """Store the site's power limit (None: none) in the caller's transaction, audited as
    ``site.power_limit``. The shares follow at the next re-share (``reshare``)."""
    actor.check_write(site_id)
    if watts is not None and not 0 < watts <= MAX_SITE_POWER_W:
        raise Invalid(f"power limit must be more than 0 and at most {MAX_SITE_POWER_W} W")
    before = await profiles_store.power_limit_w(conn, site_id)
    await profiles_store.set_power_limit_w(conn, site_id, watts)
    await audit.record(
        conn,
        actor.label,
        "site.power_limit",
        "site",
        site_id,
        site_id=site_id,
        before={"power_limit_w": before},
        after={"power_limit_w": watts},
    )
    return {"site_id": site_id, "power_limit_w": watts, "power_limit_kw": w_to_kw(watts)}


def share_payload(session: dict[str, Any], limit_w: int) -> dict[str, Any]:
    """The SetChargingProfile that gives a session its share: a TxProfile in W, one period."""
    return {
        "connectorId": session["connector_id"],
        "csChargingProfiles": {
            "chargingProfileId": share_profile_id(session["id"]),
            "transactionId": session["id"],
            "stackLevel": SHARE_STACK_LEVEL,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_w}],
            },
        },
    }


def _share_limit(row: dict[str, Any]) -> Decimal:
    period = row["profile"]["chargingSchedule"]["chargingSchedulePeriod"][0]
    return exact(period["limit"], "limit")


def lock_key(site_id: str) -> int:
    """The site's advisory lock (store.locks): one re-share of a site at a time, anywhere."""
    return SHARE_LOCK_BASE + zlib.crc32(site_id.encode())


async def reshare(
    engine: AsyncEngine, sender: CommandSender, site_id: str, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Give each running session of the site its share of the limit (or, with no limit,
    clear the shares in force); what was sent, one entry per session.

    A session whose share in force is already the right one is not sent again. A charger
    that cannot be reached (offline, a CallError, a timeout) is reported and logged; the
    others still get theirs. On PostgreSQL, a re-share of the same site by another instance
    is waited for (its advisory lock), so this one reads what that one stored.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with locks.held(engine, lock_key(site_id)) as mine:
            if mine:
                return await _reshare(engine, sender, site_id, timeout)
        if loop.time() > deadline:
            raise TimeoutError(f"site {site_id!r} is being re-shared elsewhere for too long")
        await asyncio.sleep(LOCK_RETRY_S)


async def _reshare(
    engine: AsyncEngine, sender: CommandSender, site_id: str, timeout: float
) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        limit = await profiles_store.power_limit_w(conn, site_id)
        in_force = await profiles_store.shares_in_force(conn, site_id, SHARE_PROFILE_BASE)
        if limit is None and not in_force:
            return []  # the common case: a site without a limit, nothing to undo
        running = await profiles_store.site_running_sessions(conn, site_id)
    current = {row["transaction_id"]: row for row in in_force}  # the newest per session

    async def send(session: dict[str, Any], name: str, payload: dict[str, Any]) -> dict[str, Any]:
        entry = {
            "charger_id": session["charger_id"],
            "connector_id": session["connector_id"],
            "session_id": session["id"],
            "command": name,
        }
        if name == "set-charging-profile":
            entry["limit_w"] = payload["csChargingProfiles"]["chargingSchedule"][
                "chargingSchedulePeriod"
            ][0]["limit"]
        try:
            answer = await command_catalog.send_by_name(
                engine, sender, SHARER, session["charger_id"], name, payload, timeout
            )
        except Exception as exc:  # one charger's failure is not the others'
            log.warning(
                "power share not delivered",
                extra={"charger": session["charger_id"], "site": site_id, "reason": str(exc)},
            )
            return {**entry, "status": None, "error": str(exc) or type(exc).__name__}
        return {**entry, "status": answer.get("status")}

    if limit is None:
        jobs = [
            send(session, "clear-charging-profile", {"id": current[session["id"]]["profile_id"]})
            for session in running
            if session["id"] in current
        ]
        return list(await asyncio.gather(*jobs))
    shares = equal_shares(limit, [s["id"] for s in running])
    lower: list[Coroutine[Any, Any, dict[str, Any]]] = []
    higher: list[Coroutine[Any, Any, dict[str, Any]]] = []
    for session in running:
        share, target = current.get(session["id"]), shares[session["id"]]
        if share is not None and _share_limit(share) == target:
            continue
        job = send(session, "set-charging-profile", share_payload(session, target))
        # a session without a share yet draws what its charger allows: it goes down too
        (higher if share is not None and _share_limit(share) < target else lower).append(job)
    # the shares that go down first, so the site stays under its limit while they change
    done = list(await asyncio.gather(*lower))
    return done + list(await asyncio.gather(*higher))


class SiteSharer:
    """Re-shares a site's limit after a session starts or stops, off the charger's path.

    ``changed`` only marks the site; a task per site (one at a time) waits ``delay`` so
    that a burst of starts and stops becomes one re-share, runs it, and runs again when the
    site changed meanwhile.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sender: CommandSender,
        delay: float = 0.05,
        timeout: float = 30.0,
    ) -> None:
        self.engine, self.sender = engine, sender
        self.delay, self.timeout = delay, timeout
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self.runs = 0  # re-shares done (tests and metrics)

    def changed(self, site_id: str | None, charger_id: str) -> None:
        """A session started or stopped on ``charger_id`` of ``site_id`` (after its commit)."""
        if site_id is None:
            return
        if site_id in self._tasks:
            self._again.add(site_id)
            return
        self._tasks[site_id] = asyncio.get_running_loop().create_task(
            self._run(site_id), name=f"evgate-reshare-{site_id}"
        )

    async def _run(self, site_id: str) -> None:
        try:
            while True:
                await asyncio.sleep(self.delay)
                self._again.discard(site_id)
                try:
                    await reshare(self.engine, self.sender, site_id, self.timeout)
                except Exception:
                    log.exception("power share failed", extra={"site": site_id})
                self.runs += 1
                if site_id not in self._again:
                    return
        finally:
            del self._tasks[site_id]

    async def idle(self) -> None:
        """Until no re-share is running or due."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
