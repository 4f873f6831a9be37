"""Billing runs in a process of their own: the API's and the scheduler's.

A month of a large site costs tens of seconds of CPU; run inside `evgate serve` it would hold
the interpreter that acknowledges charger messages. So `serve` queues the run (a
``billing_runs`` row, state ``queued``) and starts ``evgate bill --run-id N`` as a child
process, which takes the row (``running``) and leaves it ``done`` or ``failed``. If the child
dies without doing so, the row is marked ``failed`` here with the reason; a run killed with
the server is marked ``abandoned`` by the next run of that month.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import BillingError
from billing.months import parse_period
from billing.run import billable_sites
from store import billing_store as bs

log = logging.getLogger("evgate.billing")


class BillingJobs:
    def __init__(self, engine: AsyncEngine, database_url: str) -> None:
        self.engine = engine
        self.database_url = database_url
        self._children: set[asyncio.Task[None]] = set()

    def _command(self, period: str, site_id: str | None, *extra: str) -> list[str]:
        site = ["--site", site_id] if site_id else []
        return [
            *(sys.executable, "-m", "config.cli", "bill", "--month", period, *site, *extra),
            *("--database-url", self.database_url),
        ]

    async def start(self, period: str, site_id: str | None, actor: str) -> int:
        """Queue a run and start its process; the run's id (its progress: ``status``)."""
        now = datetime.now(UTC)
        await billable_sites(self.engine, period, site_id, now)  # refuse what the run would
        async with self.engine.begin() as conn:
            run_id = await bs.start_run(conn, period, site_id, now, state="queued")
        proc = await asyncio.create_subprocess_exec(
            *self._command(period, site_id, "--run-id", str(run_id), "--actor", actor, "--json"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=os.environ.copy(),
        )
        task = asyncio.create_task(self._watch(run_id, proc))
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        return run_id

    async def run(self, period: str, site_id: str | None, actor: str) -> dict[str, Any]:
        """Start a run and wait for it (the scheduler's way); its row once ended."""
        run_id = await self.start(period, site_id, actor)
        while True:
            row = await self.status(run_id)
            if row is not None and row["state"] not in ("queued", "running"):
                return row
            await asyncio.sleep(0.5)

    async def dry_run(self, period: str, site_id: str | None) -> dict[str, Any]:
        """What a run would do, computed in a process of its own; its report."""
        parse_period(period)
        proc = await asyncio.create_subprocess_exec(
            *self._command(period, site_id, "--dry-run", "--json"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=os.environ.copy(),
        )
        out, err = await proc.communicate()
        if proc.returncode not in (0, 1):  # 1: some site failed, the report says which
            raise BillingError(_last_line(err) or f"the dry run exited {proc.returncode}")
        report: dict[str, Any] = json.loads(out)
        return report

    async def status(self, run_id: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = await bs.get_run(conn, run_id)
            if row is not None and row["state"] in ("queued", "running"):
                row["progress"] = {"invoices": await bs.run_invoices(conn, run_id)}
        return row

    async def _watch(self, run_id: int, proc: asyncio.subprocess.Process) -> None:
        _, err = await proc.communicate()
        row = await self.status(run_id)
        if row is not None and row["state"] in ("queued", "running"):
            reason = _last_line(err) or f"the billing process exited {proc.returncode}"
            log.error("billing run died", extra={"run": run_id, "reason": reason})
            async with self.engine.begin() as conn:
                await bs.finish_run(
                    conn, run_id, {"error": reason}, datetime.now(UTC), state="failed"
                )

    async def close(self) -> None:
        """Wait for the children's ends to be recorded (they run on if serve stops first)."""
        if self._children:
            await asyncio.wait(set(self._children), timeout=5)


def _last_line(err: bytes) -> str:
    lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""
