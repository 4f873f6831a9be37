"""The billing scheduler inside `evgate serve`: issue invoices on the 1st, daily dunning.

Every ``interval`` seconds it looks at each site: once the site's local month is over and no
finished run covers it, it bills that month (site by site, in the site's time zone; in
`evgate serve` through a ``runner`` that runs it in a process of its own); once a
day (UTC) it runs the dunning job. With several instances on one PostgreSQL database only the
one holding the scheduler's advisory lock works a tick; the jobs are idempotent anyway, so a
restart changes nothing: numbers stay gap-free under the series lock, each invoice exists once.
What it issues and marks overdue is audited as the ``scheduler``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from billing.dunning import daily
from billing.months import period_of, shift
from billing.run import Payer, RunOptions, run_billing
from store import billing_store as bs
from store import locks

log = logging.getLogger("evgate.billing")
SCHEDULER = "scheduler"  # the audit log's actor for what the scheduler issues and marks
# runs a month for a site and waits for its end: (period, site_id, actor) -> the run's row
Runner = Callable[[str, str, str], Awaitable[dict[str, Any]]]
# the daily card job (StripePayments.daily): (engine, now)
CardJob = Callable[[AsyncEngine, datetime], Awaitable[Any]]


class BillingScheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval: float = 300.0,
        payer: Payer | None = None,
        clock: type[datetime] = datetime,
        runner: Runner | None = None,
        cards: CardJob | None = None,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.payer = payer
        self.clock = clock
        self.runner = runner
        self.cards = cards
        self._task: asyncio.Task[None] | None = None
        self._last_daily: date | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="evgate-billing-scheduler")

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
            except Exception:  # keep scheduling: the next tick retries (jobs are idempotent)
                log.exception("billing scheduler tick failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> list[str]:
        """One look at the clock, by one instance at a time (the others skip this tick)."""
        async with locks.held(self.engine, locks.BILLING_SCHEDULER) as mine:
            return await self._tick() if mine else []

    async def _tick(self) -> list[str]:
        """Bill finished months, run the daily job once a day."""
        now = self.clock.now(UTC)
        done: list[str] = []
        async with self.engine.connect() as conn:
            sites = await bs.billing_sites(conn, None)
        for site in sites:
            period = shift(period_of(now, site["tz"]), -1)  # the last finished local month
            async with self.engine.connect() as conn:
                if await bs.run_done(conn, period, site["id"]):
                    continue
            if self.runner is not None:  # `evgate serve`: in a process of its own
                row = await self.runner(period, site["id"], SCHEDULER)
                invoices = (row.get("report") or {}).get("invoices")
            else:
                options = RunOptions(period, site["id"], now=now, actor=SCHEDULER)
                invoices = (await run_billing(self.engine, options, payer=self.payer)).invoices
            log.info(
                "billing run", extra={"site": site["id"], "period": period, "invoices": invoices}
            )
            done.append(f"{site['id']}:{period}")
        if self._last_daily != now.date():
            await daily(self.engine, now, actor=SCHEDULER)
            if self.cards is not None:  # due-date charges, retries of declined cards, refunds
                await self.cards(self.engine, now)
            self._last_daily = now.date()
            done.append("daily")
        return done
