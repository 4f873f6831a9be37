"""The monthly billing run (I/O): stream sessions, price, assemble, issue numbered invoices.

Idempotent and restartable: an invoice is unique per (subscriber, period) and a session per
invoice_sessions row; each batch of subscribers is written, numbered and issued in one
transaction, so a run killed anywhere leaves whole invoices or none, and a re-run carries on
in the same order with the same numbers. See docs/billing.md.

The drafts' state and their issue are billing.lifecycle's decision; every issued invoice gets
an audit entry (``options.actor``) and an outbox event, and the finished run one audit entry.
A dry run goes through the same steps but writes nothing: a subscriber that already has an
invoice for the period is reported as already invoiced, as the real run would skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing import mails
from billing.assembly import InvoiceDraft, PricedUsage, assemble
from billing.balances import carry_period
from billing.errors import BillingError
from billing.fees import fees_for
from billing.holdback import hold_reason
from billing.kid import build_kid
from billing.lifecycle import Figures, InvoiceEvent, InvoiceState, next_state
from billing.months import month_bounds, parse_period, period_of
from billing.numbering import invoice_number, invoice_series
from billing.parties import buyer_snapshot, seller_snapshot
from billing.pricing import SessionTotals, VersionPricer
from store import audit, presence, session_reviews
from store import billing_store as bs

log = logging.getLogger("evgate.billing")
T = TypeVar("T")

HELD_BACK_LISTED = 1000  # held-back sessions named in a run's report (all are counted)
# SQLite has one writer: a run's write transaction holds `evgate serve`'s group commits (and so
# the chargers' acks) for as long as it lasts. While a server runs on the same SQLite file (a
# live instance in store.presence), a run writes at most this many sessions per transaction
# and then leaves the lock free for as long as it held it: acks wait a few milliseconds, not
# hundreds (bench/loop_isolation.py); without a server the run writes at full speed.
SQLITE_ROWS = 100
POLITE_GAP = 1.0  # the pause after such a transaction, as a share of its length

Progress = Callable[[int], None]  # called with the number of sessions just handled
Payer = Callable[[AsyncEngine, str], Awaitable[Any]]  # charges a period's autopay invoices


@dataclass
class RunOptions:
    period: str
    site_id: str | None = None
    dry_run: bool = False
    now: datetime | None = None
    batch_size: int = 250  # subscribers per transaction
    actor: str = "cli"  # who the audit log names: "cli", "scheduler", an API token
    run_id: int | None = None  # a queued run row to take (a worker process's run)


@dataclass
class RunReport:
    period: str
    dry_run: bool
    run_id: int | None = None
    invoices: int = 0
    subscribers: int = 0
    sessions: int = 0
    energy_wh: int = 0
    already_invoiced: int = 0
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    held_back: list[dict[str, Any]] = field(default_factory=list)
    held_back_count: int = 0
    # flagged sessions a person excluded from billing, that stopped in this period
    excluded: list[dict[str, Any]] = field(default_factory=list)
    excluded_count: int = 0
    conflicts: list[int] = field(default_factory=list)
    # sites that could not be billed, with the one-line reason; every other site is billed
    failed_sites: dict[str, str] = field(default_factory=dict)
    balance_carried: int = 0  # credit balances moved into this run's invoices (minor units)

    def add(self, draft: InvoiceDraft) -> None:
        self.invoices += 1
        self.subscribers += 1
        self.sessions += len(draft.session_ids)
        self.energy_wh += draft.energy_wh
        t = self.totals.setdefault(draft.currency, {"net": 0, "vat": 0, "total": 0})
        t["net"] += draft.net
        t["vat"] += draft.vat
        t["total"] += draft.total

    def hold(self, session_id: int, reason: str) -> None:
        self.held_back_count += 1
        if len(self.held_back) < HELD_BACK_LISTED:
            self.held_back.append({"session_id": session_id, "reason": reason})

    def exclude(self, session_id: int) -> None:
        self.excluded_count += 1
        if len(self.excluded) < HELD_BACK_LISTED:
            self.excluded.append({"session_id": session_id, "reason": "excluded"})

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Pricers:
    """Tariff versions parsed and compiled once per run (the per-version cache)."""

    def __init__(self, conn: AsyncConnection, tz: str) -> None:
        self.conn, self.tz = conn, tz
        self.cache: dict[int, VersionPricer | None] = {}
        self.utc = bs.parse_utc(conn)  # streamed times -> aware UTC

    async def get(self, version_id: int) -> VersionPricer | None:
        if version_id not in self.cache:
            ocpi = await bs.tariff_version_json(self.conn, version_id)
            self.cache[version_id] = (
                None if ocpi is None else VersionPricer.from_ocpi(ocpi, self.tz)
            )
        return self.cache[version_id]


@dataclass
class _Site:
    row: dict[str, Any]
    start: datetime
    end: datetime
    subscribers: dict[int, dict[str, Any]]
    plans: dict[int, list[dict[str, Any]]]
    # who sells and who buys, as the invoices issued now keep them (billing/parties.py)
    seller: dict[str, Any] | None = None
    buyers: dict[int, dict[str, Any]] = field(default_factory=dict)
    # flagged sessions a person reviewed: {session id: "approve" | "exclude"}
    reviews: dict[int, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.row["id"])


async def billable_sites(
    engine: AsyncEngine, period: str, site_id: str | None, now: datetime, dry_run: bool = False
) -> list[dict[str, Any]]:
    """The sites a run of ``period`` bills, or the BillingError that refuses the run: a bad
    period, an unknown site, a month not over yet in some site's zone (a dry run may)."""
    parse_period(period)
    async with engine.connect() as conn:
        site_rows = await bs.billing_sites(conn, site_id)
    if site_id is not None and not site_rows:
        raise BillingError(f"no site {site_id!r}: check `evgate sites list`")
    for row in site_rows:
        if month_bounds(period, row["tz"])[1] > now and not dry_run:
            raise BillingError(
                f"{period} is not over yet at site {row['id']} ({row['tz']}): "
                "bill it from the 1st of the next month, or use --dry-run"
            )
    return site_rows


async def run_billing(
    engine: AsyncEngine,
    options: RunOptions,
    progress: Progress | None = None,
    payer: Payer | None = None,
) -> RunReport:
    """Bill ``options.period`` for one site or all; return what was done."""
    now = options.now or datetime.now(UTC)
    report = RunReport(options.period, options.dry_run)
    site_rows = await billable_sites(engine, options.period, options.site_id, now, options.dry_run)
    if not options.dry_run:
        async with engine.begin() as conn:
            if options.run_id is not None:
                await bs.claim_run(conn, options.run_id, now)
                report.run_id = options.run_id
            else:
                report.run_id = await bs.start_run(conn, options.period, options.site_id, now)
            await bs.abandon_runs(conn, options.period, options.site_id, report.run_id)
    polite = False  # a server writes to this SQLite file too: leave it room (SQLITE_ROWS)
    if engine.dialect.name == "sqlite" and not options.dry_run:
        async with engine.connect() as conn:
            polite = await presence.any_live(conn, now)
    for row in site_rows:
        try:
            await _bill_site(engine, row, options, now, report, progress, polite)
        except Exception as exc:  # one site's bad data must not stop the others' invoices
            log.exception("billing a site failed", extra={"site": row["id"]})
            report.failed_sites[row["id"]] = _reason(exc)
    if not options.dry_run:
        moves = await carry_period(engine, options.site_id, options.actor, now)
        report.balance_carried = sum(m["amount"] for m in moves)
        if payer is not None:  # after the carry: a card pays only what is left
            await payer(engine, options.period)
        async with engine.begin() as conn:
            await bs.finish_run(
                conn,
                report.run_id or 0,
                report.as_dict(),
                datetime.now(UTC),
                "failed" if report.failed_sites else "done",
            )
            await audit.record(
                conn,
                options.actor,
                "billing_run.finish",
                "billing_run",
                report.run_id or 0,
                site_id=options.site_id,
                after={k: v for k, v in report.as_dict().items() if k != "held_back"},
            )
    return report


def _reason(exc: BaseException) -> str:
    """One line for a report: what went wrong, not where."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


async def _load_site(engine: AsyncEngine, row: dict[str, Any], period: str) -> _Site:
    start, end = month_bounds(period, row["tz"])
    async with engine.connect() as conn:
        subs = await bs.site_subscribers(conn, row["id"])
        plans = await bs.site_plans(conn, row["id"])
        seller = await bs.get_seller(conn, row["id"])
        buyers = await bs.buyers_of(conn, list(subs))
        reviews = await session_reviews.decisions_of_site(conn, row["id"])
    return _Site(row, start, end, subs, plans, seller_snapshot(seller), buyers, reviews)


async def _bill_site(
    engine: AsyncEngine,
    row: dict[str, Any],
    options: RunOptions,
    now: datetime,
    report: RunReport,
    progress: Progress | None,
    polite: bool = False,
) -> None:
    site = await _load_site(engine, row, options.period)
    invoiced: set[int] = set()
    if options.dry_run:  # what the real run's insert would skip (UNIQUE(subscriber, period))
        async with engine.connect() as conn:
            invoiced = await bs.invoiced_subscribers(conn, site.id, options.period)
    pending: list[_Priced] = []
    rows = 0  # sessions in pending
    max_rows = SQLITE_ROWS if polite else 2**62
    # one batch is written while the next is priced (the database works in its own thread
    # or server); batches still commit one after the other, in subscriber order
    writing: asyncio.Task[None] | None = None
    try:
        async for priced in drafts_for_site(engine, site, options.period, report, progress):
            if options.dry_run:
                if priced[0].subscriber_id in invoiced:
                    report.already_invoiced += 1
                else:
                    report.add(priced[0])
                continue
            pending.append(priced)
            rows += len(priced[1])
            if len(pending) >= options.batch_size or rows >= max_rows:
                if writing is not None:
                    await writing
                writing = asyncio.create_task(
                    _issue(
                        engine, site, pending, options.period, now, report, options.actor, polite
                    )
                )
                pending, rows = [], 0
        if writing is not None:
            await writing
            writing = None
        if pending:
            await _issue(engine, site, pending, options.period, now, report, options.actor, polite)
    finally:
        if writing is not None and not writing.done():
            writing.cancel()


# A draft with its sessions' times as streamed, {session_id: (started_at, stopped_at)}: the
# stored form, which the invoice lines are written with (see bs.insert_lines)
_Priced = tuple[InvoiceDraft, dict[int, tuple[Any, Any]]]
_OWNER = itemgetter(bs.BILLABLE_COLUMNS.index("owner"))


async def drafts_for_site(
    engine: AsyncEngine,
    site: _Site,
    period: str,
    report: RunReport,
    progress: Progress | None = None,
    *,
    end: datetime | None = None,
    subscriber_id: int | None = None,
) -> AsyncIterator[_Priced]:
    """One draft per subscriber with billable sessions or fees due, in subscriber order, with
    its sessions' streamed times."""
    tz = site.row["tz"]
    async with engine.connect() as read, engine.connect() as aux:
        pricers = _Pricers(aux, tz)
        fee_owners = sorted(s for s in site.plans if subscriber_id is None or s == subscriber_id)
        group: list[Any] = []
        owner: int | None = None
        stream = _prefetch(bs.stream_billable(read, site.id, end or site.end, subscriber_id))
        async for chunk in stream:
            for key, rows in groupby(chunk, _OWNER):
                if group and key != owner:
                    async for d in _flush(
                        site, period, owner, group, fee_owners, pricers, aux, report
                    ):
                        yield d
                    if progress:
                        progress(len(group))
                    group = []
                owner = key
                group.extend(rows)
        if group:
            async for d in _flush(site, period, owner, group, fee_owners, pricers, aux, report):
                yield d
            if progress:
                progress(len(group))
        for sub in fee_owners:  # subscribers with fees but no sessions left
            draft = _draft(site, period, sub, [])
            if draft is not None:
                yield draft, {}
        fee_owners.clear()


async def _prefetch(chunks: AsyncIterator[T], depth: int = 2) -> AsyncIterator[T]:
    """Fetch the next chunks while the current one is priced (the fetch waits on the
    database's thread or server, the pricing on Python)."""
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(depth)

    async def produce() -> None:
        try:
            async for chunk in chunks:
                await queue.put((True, chunk))
            await queue.put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            await queue.put((False, exc))

    task = asyncio.create_task(produce())
    try:
        while True:
            more, item = await queue.get()
            if not more:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _flush(
    site: _Site,
    period: str,
    owner: int | None,
    group: list[Any],
    fee_owners: list[int],
    pricers: _Pricers,
    aux: AsyncConnection,
    report: RunReport,
) -> AsyncIterator[_Priced]:
    # subscribers with only fees, whose ids come before this owner
    while owner is not None and fee_owners and fee_owners[0] < owner:
        draft = _draft(site, period, fee_owners.pop(0), [])
        if draft is not None:
            yield draft, {}
    if owner is not None and fee_owners and fee_owners[0] == owner:
        fee_owners.pop(0)
    known = owner is not None and owner in site.subscribers
    cache = pricers.cache
    utc = pricers.utc
    usage: list[PricedUsage] = []
    times: dict[int, tuple[Any, Any]] = {}
    restricted: list[tuple[Any, VersionPricer]] = []
    start = site.start
    # rows in bs.BILLABLE_COLUMNS order, unpacked once: the hot loop of a run (a million)
    for row in group:
        sid, charger, _, started, stopped, wh, charging, parking, _, tariff, flags, _ = row
        pricer = cache.get(tariff)
        if flags != "[]" or pricer is None or wh is None or not known:
            review = site.reviews.get(sid) if flags != "[]" else None
            if review == "exclude":  # never billed; reported in the month it stopped
                if utc(stopped) >= start:
                    report.exclude(sid)
                continue
            reason = hold_reason(
                () if flags == "[]" else json.loads(flags),
                wh,
                tariff,
                owner if known else None,
                approved=review == "approve",
            )
            if reason is None:
                pricer = await pricers.get(tariff)
                if pricer is None:
                    reason = "unknown_tariff_version"
            if reason is not None or pricer is None:
                report.hold(sid, reason or "unknown_tariff_version")
                continue
        times[sid] = (started, stopped)
        linear = pricer.linear
        if linear is None:  # restricted tariff: priced below, with the group's samples
            restricted.append((row, pricer))
            continue
        charging, parking = charging or 0, parking or 0
        stopped_at = utc(stopped)
        usage.append(
            PricedUsage(
                sid,
                charger,
                utc(started),
                stopped_at,
                wh,
                charging,
                parking,
                linear.net(wh, charging, parking),
                stopped_at < start,
                pricer.linear_prices,
            )
        )
    # restricted (e.g. time-of-day) tariffs: a session inside one window of a clock-only
    # tariff from its totals; the others from their trace (samples and statuses read together)
    traced: list[tuple[SessionTotals, Any, VersionPricer]] = []
    for row, pricer in restricted:
        sid, charger, connector, started, stopped, wh, charging, parking, meter_start = row[:9]
        totals = SessionTotals(
            utc(started), utc(stopped), wh, charging or 0, parking or 0, meter_start
        )
        net = pricer.net_of_totals(totals)
        if net is None:
            traced.append((totals, row, pricer))
            continue
        usage.append(
            PricedUsage(
                sid,
                charger,
                totals.started_at,
                totals.stopped_at,
                wh,
                totals.charging_s,
                totals.parking_s,
                net,
                totals.stopped_at < start,
                pricer.prices_of_totals(totals),
            )
        )
    keys = [(r[0], r[1], r[2], t.started_at, t.stopped_at) for t, r, _ in traced]
    inputs = await bs.trace_inputs_of(aux, keys) if traced else {}
    for totals, row, pricer in traced:
        sid, charger = row[:2]
        timeline = pricer.timeline(totals, *inputs[sid])
        net, prices = pricer.priced(timeline)
        usage.append(  # the line shows the times priced: the trace's (the stored ones)
            PricedUsage(
                sid,
                charger,
                totals.started_at,
                totals.stopped_at,
                totals.energy_wh,
                timeline.charging_s,
                timeline.parking_s,
                net,
                totals.stopped_at < start,
                prices,
            )
        )
    if known and owner is not None:
        draft = _draft(site, period, owner, usage)
        if draft is not None:
            yield draft, times


def _draft(site: _Site, period: str, sub_id: int, usage: list[PricedUsage]) -> InvoiceDraft | None:
    sub = site.subscribers.get(sub_id)
    if sub is None:
        return None
    fees = fees_for(site.plans.get(sub_id, []), period)
    if not usage and not fees:
        return None
    return assemble(
        subscriber_id=sub_id,
        site_id=site.id,
        period=period,
        currency=site.row["currency"],
        site_vat_bp=int(site.row["vat_bp"]),
        usage=usage,
        fees=fees,
        discount_bp=int(sub["discount_bp"] or 0),
    )


async def _issue(
    engine: AsyncEngine,
    site: _Site,
    drafts: list[_Priced],
    period: str,
    now: datetime,
    report: RunReport,
    actor: str,
    polite: bool = False,
) -> None:
    """Write, number and issue a batch in one transaction; on a conflict, one by one."""
    started = time.monotonic()
    try:
        async with engine.begin() as conn:
            done = await _write(conn, site, drafts, now, report.run_id, actor)
        if polite:  # leave the single writer's lock free as long as we held it (SQLITE_ROWS)
            await asyncio.sleep((time.monotonic() - started) * POLITE_GAP)
    except DBAPIError as exc:
        if len(drafts) == 1:
            sub_id = drafts[0][0].subscriber_id
            log.warning("invoice of subscriber %s not issued: %s", sub_id, exc)
            report.conflicts.append(sub_id)
            return
        for priced in drafts:
            await _issue(engine, site, [priced], period, now, report, actor, polite)
        return
    for (draft, _times), written in zip(drafts, done, strict=True):
        if written:
            report.add(draft)
        else:
            report.already_invoiced += 1


async def _write(
    conn: AsyncConnection,
    site: _Site,
    priced: list[_Priced],
    now: datetime,
    run_id: int | None,
    actor: str,
) -> list[bool]:
    series = invoice_series(site.row)
    ids = await bs.insert_invoices(
        conn,
        [
            _invoice_row(site, site.subscribers[d.subscriber_id], d, series, now, run_id)
            for d, _ in priced
        ],
    )
    written = [(ids[d.subscriber_id], d, t) for d, t in priced if d.subscriber_id in ids]
    lines: list[tuple[Any, ...]] = []
    billed: list[tuple[int, int]] = []
    for invoice_id, draft, times in written:
        for pos, ln in enumerate(draft.lines, 1):
            sid = ln.session_id
            started, stopped = times[sid] if sid is not None else (None, None)
            lines.append(
                (
                    invoice_id,
                    pos,
                    ln.kind,
                    ln.description,
                    sid,
                    ln.charger_id,
                    started,
                    stopped,
                    ln.energy_wh,
                    ln.charging_s,
                    ln.parking_s,
                    ln.late,
                    ln.net,
                    ln.vat_bp,
                    ln.unit_prices,
                )
            )
            if sid is not None:
                billed.append((sid, invoice_id))
    await bs.insert_lines(conn, lines, billed)
    if written:
        first = await bs.take_numbers(conn, series, len(written))
        kid_mode = (await bs.site_billing_settings(conn, site.id))["kid_mode"]
        numbered = []
        for offset, (invoice_id, draft, _) in enumerate(written):
            sub = site.subscribers[draft.subscriber_id]
            terms = sub["payment_terms_days"] or site.row["payment_terms_days"] or 30
            due_at = now + timedelta(days=int(terms))
            state = next_state(
                InvoiceState.DRAFT, InvoiceEvent.ISSUE, Figures(draft.total, due_at=due_at), now
            )
            numbered.append(
                {
                    "b_id": invoice_id,
                    "number": first + offset,
                    "number_text": invoice_number(series, first + offset),
                    "kid": build_kid(draft.subscriber_id, first + offset, kid_mode),
                    "state": state.value,
                    "issued_at": now,
                    "due_at": due_at,
                }
            )
        await bs.set_numbers(conn, numbered, InvoiceState.DRAFT, actor)
        await mails.invoices_issued(
            conn,
            site.row,
            [
                (
                    site.subscribers[d.subscriber_id],
                    {**n, "period": d.period, "total": d.total, "currency": d.currency},
                )
                for n, (_, d, _) in zip(numbered, written, strict=True)
            ],
            now,
        )
    return [d.subscriber_id in ids for d, _ in priced]


def _invoice_row(
    site: _Site,
    sub: dict[str, Any],
    draft: InvoiceDraft,
    series: str,
    now: datetime,
    run_id: int | None,
) -> dict[str, Any]:
    return {
        "site_id": site.id,
        "subscriber_id": draft.subscriber_id,
        "period": draft.period,
        "state": InvoiceState.DRAFT.value,
        "series": series,
        "currency": draft.currency,
        "language": sub.get("language") or "en",
        "net": draft.net,
        "vat": draft.vat,
        "total": draft.total,
        "vat_breakdown": [
            {"vat_bp": g.vat_bp, "net": g.net, "vat": g.vat} for g in draft.vat_groups
        ],
        "payment_method": "stripe" if sub.get("payment_method") == "stripe" else "manual",
        "run_id": run_id,
        "created_at": now,
        "seller": site.seller,
        "buyer": buyer_snapshot(sub, site.buyers.get(draft.subscriber_id)),
    }


async def estimate(
    engine: AsyncEngine, subscriber_id: int, now: datetime | None = None
) -> InvoiceDraft | None:
    """This month's draft so far (computed, not stored): the estimated next invoice."""
    now = now or datetime.now(UTC)
    async with engine.connect() as conn:
        sub = await bs.get_subscriber(conn, subscriber_id)
        if sub is None:
            return None
        site_row = await bs.get_site(conn, sub["site_id"])
    assert site_row is not None
    period = period_of(now, site_row["tz"])
    site = await _load_site(engine, site_row, period)
    report = RunReport(period, True)
    async for draft, _times in drafts_for_site(
        engine, site, period, report, end=now, subscriber_id=subscriber_id
    ):
        if draft.subscriber_id == subscriber_id:
            return draft
    return assemble(
        subscriber_id=subscriber_id,
        site_id=site.id,
        period=period,
        currency=site_row["currency"],
        site_vat_bp=int(site_row["vat_bp"]),
        usage=[],
    )


async def estimate_site(
    engine: AsyncEngine, site_id: str, now: datetime | None = None
) -> list[InvoiceDraft]:
    """Every subscriber's draft of this month so far on one site (computed, not stored)."""
    now = now or datetime.now(UTC)
    async with engine.connect() as conn:
        site_row = await bs.get_site(conn, site_id)
    if site_row is None:
        return []
    period = period_of(now, site_row["tz"])
    site = await _load_site(engine, site_row, period)
    report = RunReport(period, True)
    return [d async for d, _times in drafts_for_site(engine, site, period, report, end=now)]


async def count_billable(engine: AsyncEngine, period: str, site_id: str | None) -> int:
    """How many sessions a run would look at (for a progress bar)."""
    total = 0
    async with engine.connect() as conn:
        for row in await bs.billing_sites(conn, site_id):
            total += await bs.count_billable(conn, row["id"], month_bounds(period, row["tz"])[1])
    return total
