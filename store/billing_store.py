"""Billing's SQL: billable sessions, invoices, numbers, payments, credit notes, dunning.

Only this module (with store/billing_schema.py) touches the billing tables; billing/ calls it.
It decides no invoice state: it writes what billing.lifecycle decided (``set_state``,
``set_states``, ``set_numbers``), each change with its audit entry and outbox event.
Numbers are taken under a row lock of the series counter, inside the issuing transaction, so
a rolled-back issue gives its numbers back and the sequence stays gap-free.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    null,
    or_,
    select,
    text,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import audit
from store.billing_schema import (
    billing_runs,
    billing_settings,
    buyers,
    credit_notes,
    invoice_lines,
    invoice_sessions,
    invoices,
    number_series,
    payments,
    reminders,
    sellers,
    stripe_customers,
    subscriber_plans,
)
from store.errors import Conflict, NotFound
from store.ids import new_id
from store.outbox_store import event_row
from store.schema import (
    chargers,
    meter_samples,
    outbox,
    sessions,
    sites,
    status_events,
    subscribers,
    tariff_versions,
    tokens,
)
from store.types import UtcDateTime

Conn = AsyncConnection


def _insert(conn: Conn) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


# --- what a run reads ------------------------------------------------------------------------


async def billing_sites(conn: Conn, site_id: str | None) -> list[dict[str, Any]]:
    query = select(sites).order_by(sites.c.id)
    if site_id is not None:
        query = query.where(sites.c.id == site_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def site_subscribers(conn: Conn, site_id: str) -> dict[int, dict[str, Any]]:
    query = select(subscribers).where(subscribers.c.site_id == site_id)
    return {r["id"]: dict(r) for r in (await conn.execute(query)).mappings()}


async def site_plans(conn: Conn, site_id: str) -> dict[int, list[dict[str, Any]]]:
    query = (
        select(subscriber_plans)
        .join(subscribers, subscribers.c.id == subscriber_plans.c.subscriber_id)
        .where(subscribers.c.site_id == site_id)
        .order_by(subscriber_plans.c.id)
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in (await conn.execute(query)).mappings():
        out.setdefault(r["subscriber_id"], []).append(dict(r))
    return out


async def tariff_version_json(conn: Conn, version_id: int) -> str | None:
    query = select(tariff_versions.c.ocpi).where(tariff_versions.c.id == version_id)
    row: Any = (await conn.execute(query)).first()
    return None if row is None else row[0]


def _fast_utc(dialect: str) -> Any:
    """Times in a streamed row without SQLAlchemy's per-value processing (a million rows):
    SQLite's text read as text, PostgreSQL's timestamptz as asyncpg returns it (aware)."""
    return String() if dialect == "sqlite" else DateTime(timezone=True)


def parse_utc(conn: Conn) -> Any:
    """The function that turns a streamed time (see ``stream_billable``) into aware UTC."""
    if conn.dialect.name == "sqlite":
        # parsing the offset is five times cheaper than datetime.replace(tzinfo=...)
        return lambda raw: datetime.fromisoformat(raw + "+00:00")
    return lambda value: value


def _not_indexed(query: Any) -> tuple[str, dict[str, Any]]:
    """The query's SQL with ``FROM sessions NOT INDEXED`` (SQLite; SQLAlchemy renders no such
    hint) and its parameters, for the driver.

    ``stopped_at < end`` has no lower bound (late sessions of any month are billable), so a
    table scan beats walking the stopped_at index with a table lookup per row: 4 s -> 1.4 s
    to the first of a million sessions. Times are bound as SQLAlchemy stores them.
    """
    from sqlalchemy.dialects import sqlite

    compiled = query.compile(dialect=sqlite.dialect(paramstyle="named"))
    sql = str(compiled).replace("FROM sessions JOIN", "FROM sessions NOT INDEXED JOIN", 1)
    assert "NOT INDEXED" in sql
    assert tuple(c.name for c in query.selected_columns) == BILLABLE_COLUMNS
    params = {
        k: _sqlite_utc(v) if isinstance(v, datetime) else v for k, v in compiled.params.items()
    }
    return sql, params


def _billable(
    site_id: str, end: datetime, subscriber_id: int | None = None, dialect: str = ""
) -> Any:
    owner = func.coalesce(sessions.c.subscriber_id, tokens.c.subscriber_id).label("owner")
    utc = _fast_utc(dialect)
    query = (
        select(
            sessions.c.id,
            sessions.c.charger_id,
            sessions.c.connector_id,
            type_coerce(sessions.c.started_at, utc).label("started_at"),
            type_coerce(sessions.c.stopped_at, utc).label("stopped_at"),
            sessions.c.energy_wh,
            sessions.c.charging_s,
            sessions.c.parking_s,
            sessions.c.meter_start_wh,
            sessions.c.tariff_id,
            # raw JSON text: almost every session has "[]", decoded only when it has flags
            type_coerce(sessions.c.flags, Text).label("flags"),
            owner,
        )
        .select_from(
            sessions.join(chargers, chargers.c.id == sessions.c.charger_id)
            .outerjoin(
                tokens,
                and_(tokens.c.site_id == chargers.c.site_id, tokens.c.id_tag == sessions.c.id_tag),
            )
            .outerjoin(invoice_sessions, invoice_sessions.c.session_id == sessions.c.id)
        )
        .where(
            chargers.c.site_id == site_id,
            sessions.c.monthly_payment.is_(True),
            sessions.c.stopped_at < end,  # false for open sessions (NULL)
            invoice_sessions.c.session_id.is_(None),
        )
    )
    if subscriber_id is not None:
        query = query.where(
            or_(
                sessions.c.subscriber_id == subscriber_id,
                and_(sessions.c.subscriber_id.is_(None), tokens.c.subscriber_id == subscriber_id),
            )
        )
    return query.order_by(owner, sessions.c.stopped_at, sessions.c.id)


# the columns of a streamed billable session, in order (``stream_billable``)
BILLABLE_COLUMNS = (
    "id",
    "charger_id",
    "connector_id",
    "started_at",
    "stopped_at",
    "energy_wh",
    "charging_s",
    "parking_s",
    "meter_start_wh",
    "tariff_id",
    "flags",
    "owner",
)


async def stream_billable(
    conn: Conn, site_id: str, end: datetime, subscriber_id: int | None = None, chunk: int = 5000
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """Unbilled monthly-payment sessions of a site that ended before ``end``, by owner.

    The owner is the subscriber snapshotted at start, else the token's current subscriber.
    Streamed in chunks of rows (server-side cursor / chunked fetch): memory stays flat
    whatever the month holds. A row is a tuple in BILLABLE_COLUMNS order (to be unpacked);
    ``flags`` comes as JSON text; times come as stored, see ``parse_utc(conn)``.
    """
    query = _billable(site_id, end, subscriber_id, conn.dialect.name)
    if conn.dialect.name == "sqlite":
        # the driver's own tuples: SQLAlchemy's Row objects cost a second per million
        sql, params = _not_indexed(query)
        raw = await conn.get_raw_connection()
        cursor = await raw.driver_connection.execute(sql, params)  # type: ignore[union-attr]
        try:
            while rows := await cursor.fetchmany(chunk):
                yield rows
        finally:
            await cursor.close()
        return
    result = await conn.stream(query.execution_options(yield_per=chunk))
    async for partition in result.partitions(chunk):
        yield partition


_TRACE_SLOTS = (1, 2, 4, 8)  # sessions per query: fixed statements, each compiled once
_TRACE_QUERIES: dict[int, Any] = {}


def _trace_query(slots: int) -> Any:
    """Per slot (bound parameters only): the connector's status in force at the start, its
    changes up to the stop, and the session's samples; rows (sid, ts, status, mWh, W)."""
    e, m = status_events.c, meter_samples.c
    names = ("sid", "ts", "status", "energy_mwh", "power_w", "id")

    def row(*columns: Any) -> Any:
        return select(*(c.label(n) for c, n in zip(columns, names, strict=True)))

    parts = []
    for i in range(slots):
        key = bindparam(f"sid{i}", type_=BigInteger())
        start = bindparam(f"start{i}", type_=e.ts.type)
        stop = bindparam(f"stop{i}", type_=e.ts.type)
        where = (
            e.charger_id == bindparam(f"charger{i}"),
            e.connector_id == bindparam(f"connector{i}"),
        )
        before = (
            select(e.ts, e.status, e.id)
            .where(*where, e.ts <= start)
            .order_by(e.ts.desc(), e.id.desc())
            .limit(1)
            .subquery()
        )
        no_value = cast(null(), BigInteger())
        parts.append(row(key, before.c.ts, before.c.status, no_value, no_value, before.c.id))
        parts.append(
            row(key, e.ts, e.status, no_value, no_value, e.id).where(
                *where, e.ts > start, e.ts <= stop
            )
        )
        parts.append(
            row(key, m.ts, cast(null(), e.status.type), m.energy_mwh, m.power_w, m.id).where(
                m.session_id == key,
                or_(m.energy_mwh.is_not(None), m.power_w.is_not(None)),
            )
        )
    both = union_all(*parts).subquery()
    c = both.c
    return select(c.sid, c.ts, c.status, c.energy_mwh, c.power_w).order_by(c.sid, c.ts, c.id)


async def trace_inputs_of(
    conn: Conn, wanted: Sequence[tuple[int, str, int, datetime, datetime]]
) -> dict[int, tuple[list[tuple[datetime, int | None, int | None]], list[tuple[datetime, str]]]]:
    """What ``metering.session_timeline`` reads besides the stored totals, for each (session id,
    charger, connector, start, stop): the session's samples (ts, register mWh, power W) and
    its connector's statuses (the one in force at the start, every change up to the stop),
    oldest first; one query per eight sessions (a run reads them for every session priced
    through its trace)."""
    out: dict[
        int, tuple[list[tuple[datetime, int | None, int | None]], list[tuple[datetime, str]]]
    ] = {sid: ([], []) for sid, *_ in wanted}
    at = 0
    while at < len(wanted):
        slots = next((n for n in _TRACE_SLOTS if n >= len(wanted) - at), _TRACE_SLOTS[-1])
        query = _TRACE_QUERIES.get(slots)
        if query is None:
            query = _TRACE_QUERIES[slots] = _trace_query(slots)
        chunk = list(wanted[at : at + slots])
        # unused slots match nothing: no session has id 0, no charger has id ""
        chunk += [(0, "", 0, chunk[0][3], chunk[0][3])] * (slots - len(chunk))
        params: dict[str, Any] = {}
        for i, (sid, charger_id, connector_id, start, stop) in enumerate(chunk):
            params |= {
                f"sid{i}": sid,
                f"charger{i}": charger_id,
                f"connector{i}": connector_id,
                f"start{i}": start,
                f"stop{i}": stop,
            }
        at += slots
        for sid, ts, status, mwh, w in (await conn.execute(query, params)).all():
            samples, statuses = out[sid]
            if status is None:
                samples.append((ts, mwh, w))
            else:
                statuses.append((ts, status))
    return out


# --- runs ------------------------------------------------------------------------------------


async def start_run(
    conn: Conn, period: str, site_id: str | None, at: datetime, state: str = "running"
) -> int:
    """A new run row: ``running`` when this process runs it, ``queued`` when it hands it to a
    worker process (which then calls ``claim_run``)."""
    result = await conn.execute(
        insert(billing_runs).values(period=period, site_id=site_id, state=state, started_at=at)
    )
    return new_id(result)


async def claim_run(conn: Conn, run_id: int, at: datetime) -> dict[str, Any]:
    """A queued run taken by the process that runs it (``running``); its row."""
    row = await get_run(conn, run_id)
    if row is None:
        raise NotFound(f"no billing run {run_id}")
    if row["state"] != "queued":
        raise Conflict(f"billing run {run_id} is {row['state']}, not queued")
    await conn.execute(
        update(billing_runs).where(billing_runs.c.id == run_id).values(state="running")
    )
    return row


async def abandon_runs(conn: Conn, period: str, site_id: str | None, before: int) -> int:
    """Runs of the same month and sites left ``running`` by a process that died (a SIGKILL,
    a crash): marked ``abandoned`` by the next run, so no row claims work that nobody does.
    A run still alive that finishes after all sets its own row ``done``."""
    result = await conn.execute(
        update(billing_runs)
        .where(
            billing_runs.c.period == period,
            billing_runs.c.site_id.is_(None)
            if site_id is None
            else billing_runs.c.site_id == site_id,
            billing_runs.c.state == "running",
            billing_runs.c.id < before,
        )
        .values(state="abandoned")
    )
    return int(result.rowcount or 0)


async def finish_run(
    conn: Conn, run_id: int, report: dict[str, Any], at: datetime, state: str = "done"
) -> None:
    """``done``, or ``failed`` when some site could not be billed (the report says which)."""
    await conn.execute(
        update(billing_runs)
        .where(billing_runs.c.id == run_id)
        .values(state=state, finished_at=at, report=report)
    )


async def get_run(conn: Conn, run_id: int) -> dict[str, Any] | None:
    row = (
        (await conn.execute(select(billing_runs).where(billing_runs.c.id == run_id)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def run_invoices(conn: Conn, run_id: int) -> int:
    """How many invoices a run has written so far (its progress)."""
    query = select(func.count()).select_from(invoices).where(invoices.c.run_id == run_id)
    return int((await conn.execute(query)).scalar_one())


async def run_done(conn: Conn, period: str, site_id: str) -> bool:
    """Has a run for ``period`` covering ``site_id`` finished (the scheduler's question)?"""
    query = select(billing_runs.c.id).where(
        billing_runs.c.period == period,
        billing_runs.c.state == "done",
        or_(billing_runs.c.site_id == site_id, billing_runs.c.site_id.is_(None)),
    )
    return (await conn.execute(query.limit(1))).first() is not None


# --- issuing ---------------------------------------------------------------------------------


async def take_numbers(conn: Conn, series: str, count: int) -> int:
    """Reserve ``count`` consecutive numbers of ``series``; return the first.

    The UPDATE takes the counter's row lock until the transaction ends (PostgreSQL), or the
    database write lock (SQLite): concurrent issuers queue, and a rollback returns the numbers.
    """
    await conn.execute(
        _insert(conn)(number_series)
        .values(series=series, last_number=0)
        .on_conflict_do_nothing(index_elements=["series"])
    )
    result = await conn.execute(
        update(number_series)
        .where(number_series.c.series == series)
        .values(last_number=number_series.c.last_number + count)
        .returning(number_series.c.last_number)
    )
    return int(result.scalar_one()) - count + 1


async def insert_invoices(conn: Conn, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert draft invoices; a subscriber that has one for the period already is skipped.

    Returns {subscriber_id: invoice_id} of the rows this transaction inserted (they are the
    only drafts of the period: every committed invoice is issued in the same transaction).
    """
    if not rows:
        return {}
    stmt = _insert(conn)(invoices).on_conflict_do_nothing(
        index_elements=["subscriber_id", "period"], index_where=text("kind = 'automatic'")
    )
    await conn.execute(stmt, rows)
    wanted = [r["subscriber_id"] for r in rows]
    query = select(invoices.c.subscriber_id, invoices.c.id).where(
        invoices.c.period == rows[0]["period"],
        invoices.c.state == "draft",
        invoices.c.kind == "automatic",
        invoices.c.subscriber_id.in_(wanted),
    )
    return {int(r[0]): int(r[1]) for r in (await conn.execute(query)).all()}


async def invoiced_subscribers(conn: Conn, site_id: str, period: str) -> set[int]:
    """Subscribers of ``site_id`` with an invoice for ``period`` (whom a run skips)."""
    query = (
        select(invoices.c.subscriber_id)
        .join(subscribers, subscribers.c.id == invoices.c.subscriber_id)
        .where(
            invoices.c.period == period,
            invoices.c.kind == "automatic",
            subscribers.c.site_id == site_id,
        )
    )
    return {int(r[0]) for r in (await conn.execute(query)).all()}


# SQLite: at most this many parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER's
# default: 32766 since SQLite 3.32, 999 before)
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


async def bulk_insert(
    conn: Conn,
    table: Table,
    columns: Sequence[str],
    values: list[tuple[Any, ...]],
    stored: Collection[str] = (),
) -> None:
    """Rows as plain tuples: COPY on PostgreSQL; on SQLite, INSERTs of as many rows as one
    statement takes, straight to the driver (with each column's bind processing done here,
    except for the ``stored`` columns, whose values are in the driver's form already).

    The hot path of a run writes a million lines: SQLAlchemy's per-row parameter building
    costs more than the database's insert. And an executemany takes the GIL back after each
    row's step, waiting for the event loop's thread to let go of it (up to 5 ms) while that
    thread prices the next batch: the writes hardly ran beside the pricing. A statement of
    2,340 rows is one step, run without the GIL.
    """
    if not values:
        return
    dialect = conn.dialect
    if dialect.name == "postgresql":  # COPY: the fastest way in, inside this transaction
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=values, columns=list(columns)
        )
        return
    procs = [
        (i, p)
        for i, name in enumerate(columns)
        if name not in stored and (p := _fast_bind(table.c[name].type, dialect))
    ]
    if procs:
        converted = []
        for row in values:
            cells = list(row)
            for i, p in procs:
                cells[i] = p(cells[i])
            converted.append(tuple(cells))
        values = converted
    head = f'INSERT INTO "{table.name}" (' + ", ".join(f'"{name}"' for name in columns)
    marks = "(" + ", ".join("?" * len(columns)) + ")"
    per = _SQLITE_VARIABLES // len(columns)
    for start in range(0, len(values), per):
        rows = values[start : start + per]
        sql = f"{head}) VALUES " + ", ".join([marks] * len(rows))
        await conn.exec_driver_sql(sql, tuple(chain.from_iterable(rows)))


def _sqlite_utc(value: datetime | None) -> str | None:
    """UtcDateTime on SQLite, fast: naive UTC in SQLAlchemy's own text format."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # less its "+00:00"


def _fast_bind(column_type: Any, dialect: Any) -> Any:
    if isinstance(column_type, UtcDateTime) and dialect.name == "sqlite":
        return _sqlite_utc
    if isinstance(column_type, UtcDateTime):
        return None  # asyncpg takes aware datetimes as they are
    return column_type._cached_bind_processor(dialect)


LINE_COLUMNS = (
    "invoice_id",
    "position",
    "kind",
    "description",
    "session_id",
    "charger_id",
    "started_at",
    "stopped_at",
    "energy_wh",
    "charging_s",
    "parking_s",
    "late",
    "net",
    "vat_bp",
    "unit_prices",
)


_STORED_LINE_COLUMNS = frozenset({"started_at", "stopped_at", "late"})


async def insert_lines(
    conn: Conn, lines: list[tuple[Any, ...]], billed: list[tuple[int, int]]
) -> None:
    """Lines (tuples in LINE_COLUMNS order) and (session_id, invoice_id) rows: the
    UNIQUE(session_id) guard that keeps a session on one invoice.

    A line's started_at and stopped_at are None or as ``stream_billable`` gave them, which is
    the stored form (SQLite's text, PostgreSQL's aware datetime), and late is a bool: all
    three are written as they are. Formatting two million times again cost 3 s a run.
    """
    await bulk_insert(conn, invoice_lines, LINE_COLUMNS, lines, _STORED_LINE_COLUMNS)
    await bulk_insert(conn, invoice_sessions, ("session_id", "invoice_id"), billed)


async def set_numbers(
    conn: Conn, numbered: list[dict[str, Any]], previous: str, actor: str
) -> None:
    """Issue: [{b_id, number, number_text, kid, state, issued_at, due_at}, ...] in one executemany.

    The drafts' new state is billing.lifecycle's decision; each change is audited and evented.
    """
    if not numbered:
        return
    stmt = (
        update(invoices)
        .where(invoices.c.id == bindparam("b_id"))
        .values(
            number=bindparam("number"),
            number_text=bindparam("number_text"),
            kid=bindparam("kid"),
            state=bindparam("state"),
            issued_at=bindparam("issued_at"),
            due_at=bindparam("due_at"),
        )
    )
    await conn.execute(stmt, numbered)
    await state_changed(
        conn, [(n["b_id"], previous) for n in numbered], actor, numbered[0]["issued_at"]
    )


# what an invoice event and audit entry carry (not the whole row: a day may mark thousands)
_EVENT_COLUMNS = tuple(
    invoices.c[name]
    for name in (
        "id",
        "site_id",
        "number_text",
        "subscriber_id",
        "period",
        "state",
        "total",
        "paid_amount",
        "credited_amount",
        "currency",
        "due_at",
        "kind",
    )
)


async def state_changed(
    conn: Conn, changed: Sequence[tuple[int, str]], actor: str, at: datetime
) -> None:
    """(invoice_id, previous state) of invoices whose state this transaction just changed:
    an audit entry and an outbox event (``invoice_<new state>``) each, in the same transaction.
    """
    previous = dict(changed)
    events, entries = [], []
    ids = list(previous)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found = await conn.execute(select(*_EVENT_COLUMNS).where(invoices.c.id.in_(chunk)))
        for inv in found.mappings():
            before = previous[inv["id"]]
            data = {
                "invoice_id": inv["id"],
                "number": inv["number_text"],
                "subscriber_id": inv["subscriber_id"],
                "period": inv["period"],
                "state": inv["state"],
                "previous_state": before,
                "total": inv["total"],
                "paid_amount": inv["paid_amount"],
                "credited_amount": inv["credited_amount"],
                "currency": inv["currency"],
                "due_at": inv["due_at"].isoformat() if inv["due_at"] else None,
                "kind": inv["kind"],
            }
            events.append(event_row(f"invoice_{inv['state']}", inv["site_id"], None, data, at))
            entries.append(
                audit.entry(
                    actor,
                    f"invoice.{inv['state']}",
                    "invoice",
                    inv["number_text"] or inv["id"],
                    site_id=inv["site_id"],
                    before={"state": before},
                    after={k: data[k] for k in ("state", "paid_amount", "credited_amount")},
                )
            )
    if events:
        await conn.execute(insert(outbox), events)
        await audit.record_many(conn, entries)


async def set_state(
    conn: Conn,
    invoice: dict[str, Any],
    state: str,
    actor: str,
    at: datetime,
    **values: Any,
) -> None:
    """Write the state billing.lifecycle decided for a locked ``invoice`` (with other values
    such as the paid total); a change of state is audited and evented."""
    await conn.execute(
        update(invoices).where(invoices.c.id == invoice["id"]).values(state=state, **values)
    )
    if state != invoice["state"]:
        await state_changed(conn, [(invoice["id"], invoice["state"])], actor, at)


async def set_states(
    conn: Conn, decided: Sequence[tuple[int, str, str]], actor: str, at: datetime
) -> int:
    """(invoice_id, previous, new) decisions of billing.lifecycle, written in one statement
    per (previous, new) pair and 5,000 invoices (only where the state is still the previous
    one), with their audit entries and events; returns how many changed."""
    changed = [(i, old, new) for i, old, new in decided if new != old]
    if not changed:
        return 0
    groups: dict[tuple[str, str], list[int]] = {}
    for i, old, new in changed:
        groups.setdefault((old, new), []).append(i)
    for (old, new), ids in groups.items():
        for start in range(0, len(ids), 5000):
            await conn.execute(
                update(invoices)
                .where(invoices.c.id.in_(ids[start : start + 5000]), invoices.c.state == old)
                .values(state=new)
            )
    await state_changed(conn, [(i, old) for i, old, _ in changed], actor, at)
    return len(changed)


# --- reading invoices ------------------------------------------------------------------------


async def list_invoices(
    conn: Conn,
    *,
    period: str | None = None,
    site_id: str | None = None,
    subscriber_id: int | None = None,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    query = select(invoices).order_by(invoices.c.series, invoices.c.number, invoices.c.id)
    if period is not None:
        query = query.where(invoices.c.period == period)
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    if subscriber_id is not None:
        query = query.where(invoices.c.subscriber_id == subscriber_id)
    if run_id is not None:
        query = query.where(invoices.c.run_id == run_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def get_invoice(conn: Conn, key: int | str) -> dict[str, Any] | None:
    """By id (int) or by number text (str)."""
    col = invoices.c.id if isinstance(key, int) else invoices.c.number_text
    row = (await conn.execute(select(invoices).where(col == key))).mappings().first()
    return dict(row) if row is not None else None


async def lines_of(conn: Conn, invoice_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in invoice_ids}
    for start in range(0, len(invoice_ids), 500):
        chunk = list(invoice_ids[start : start + 500])
        query = (
            select(invoice_lines)
            .where(invoice_lines.c.invoice_id.in_(chunk))
            .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
        )
        for r in (await conn.execute(query)).mappings():
            out[r["invoice_id"]].append(dict(r))
    return out


async def get_subscriber(conn: Conn, subscriber_id: int) -> dict[str, Any] | None:
    query = select(subscribers).where(subscribers.c.id == subscriber_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def get_site(conn: Conn, site_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(sites).where(sites.c.id == site_id))).mappings().first()
    return dict(row) if row is not None else None


async def update_invoice(conn: Conn, invoice_id: int, **values: Any) -> None:
    await conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(**values))


async def lock_invoice(conn: Conn, key: int | str) -> dict[str, Any] | None:
    """The invoice by id (int) or number text (str), locked for update (PostgreSQL's
    SELECT ... FOR UPDATE) until the transaction ends: the row to check a payment or credit
    against, as no one else can change it meanwhile."""
    col = invoices.c.id if isinstance(key, int) else invoices.c.number_text
    query = select(invoices).where(col == key)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


# --- payments --------------------------------------------------------------------------------


async def insert_payment(conn: Conn, row: dict[str, Any]) -> int:
    result = await conn.execute(insert(payments).values(row))
    return new_id(result)


async def payments_of(conn: Conn, invoice_id: int) -> list[dict[str, Any]]:
    query = select(payments).where(payments.c.invoice_id == invoice_id).order_by(payments.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def payment_by_key(conn: Conn, key: str) -> dict[str, Any] | None:
    query = select(payments).where(payments.c.idempotency_key == key)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def payment_by_intent(conn: Conn, intent_id: str) -> dict[str, Any] | None:
    query = select(payments).where(payments.c.stripe_payment_intent_id == intent_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def update_payment(conn: Conn, payment_id: int, **values: Any) -> None:
    await conn.execute(update(payments).where(payments.c.id == payment_id).values(**values))


async def autopay_invoices(
    conn: Conn,
    period: str | None = None,
    retry_failed: bool = False,
    *,
    charge_at: str | None = "issue",
    due_by: datetime | None = None,
) -> list[dict[str, Any]]:
    """Issued or overdue Stripe invoices not charged yet (or whose attempts all failed, when
    ``retry_failed``), with no payment in flight or done; of the sites that charge cards at
    ``charge_at`` (issue | due; None: any), and due by ``due_by`` when given. Each row has
    the site's retry settings and its card attempts so far."""
    blocking = ("succeeded", "pending") if retry_failed else ("succeeded", "pending", "failed")
    done = select(payments.c.invoice_id).where(
        payments.c.status.in_(blocking), payments.c.method == "stripe"
    )
    attempts = (
        select(func.count())
        .where(payments.c.invoice_id == invoices.c.id, payments.c.method == "stripe")
        .scalar_subquery()
    )
    last_attempt = (
        select(func.max(payments.c.updated_at))
        .where(payments.c.invoice_id == invoices.c.id, payments.c.method == "stripe")
        .scalar_subquery()
    )
    query = (
        select(
            invoices,
            func.coalesce(billing_settings.c.card_retries, 3).label("card_retries"),
            func.coalesce(billing_settings.c.card_retry_days, 3).label("card_retry_days"),
            attempts.label("card_attempts"),
            last_attempt.label("last_card_attempt_at"),
        )
        .select_from(
            invoices.outerjoin(billing_settings, billing_settings.c.site_id == invoices.c.site_id)
        )
        .where(
            invoices.c.payment_method == "stripe",
            invoices.c.state.in_(("issued", "overdue")),
            invoices.c.id.not_in(done),
        )
    )
    if charge_at is not None:
        query = query.where(func.coalesce(billing_settings.c.card_charge_at, "issue") == charge_at)
    if due_by is not None:
        query = query.where(invoices.c.due_at <= due_by)
    if period is not None:
        query = query.where(invoices.c.period == period)
    return [dict(r) for r in (await conn.execute(query.order_by(invoices.c.id))).mappings()]


async def get_stripe_customer(conn: Conn, subscriber_id: int) -> dict[str, Any] | None:
    query = select(stripe_customers).where(stripe_customers.c.subscriber_id == subscriber_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def save_stripe_customer(
    conn: Conn, subscriber_id: int, customer_id: str, payment_method_id: str | None, at: datetime
) -> None:
    stmt = _insert(conn)(stripe_customers).values(
        subscriber_id=subscriber_id,
        customer_id=customer_id,
        payment_method_id=payment_method_id,
        created_at=at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["subscriber_id"],
        set_={
            "customer_id": stmt.excluded.customer_id,
            "payment_method_id": stmt.excluded.payment_method_id,
        },
    )
    await conn.execute(stmt)


# --- credit notes ----------------------------------------------------------------------------


async def insert_credit_note(conn: Conn, row: dict[str, Any]) -> int:
    result = await conn.execute(insert(credit_notes).values(row))
    return new_id(result)


async def credit_notes_of(conn: Conn, invoice_id: int) -> list[dict[str, Any]]:
    query = (
        select(credit_notes)
        .where(credit_notes.c.invoice_id == invoice_id)
        .order_by(credit_notes.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def get_credit_note(conn: Conn, number_text: str) -> dict[str, Any] | None:
    query = select(credit_notes).where(credit_notes.c.number_text == number_text)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


# --- overdue and dunning ---------------------------------------------------------------------


async def due_candidates(
    conn: Conn, states: Collection[str], now: datetime
) -> list[dict[str, Any]]:
    """Invoices in ``states`` whose due date is before ``now``, with their figures (total,
    paid_amount, credited_amount, reminder fees, due_at): what billing.lifecycle decides on."""
    fees = (
        select(reminders.c.invoice_id, func.sum(reminders.c.fee).label("fees"))
        .group_by(reminders.c.invoice_id)
        .subquery()
    )
    query = (
        select(
            invoices.c.id,
            invoices.c.state,
            invoices.c.total,
            invoices.c.paid_amount,
            invoices.c.credited_amount,
            func.coalesce(fees.c.fees, 0).label("fees"),
            invoices.c.due_at,
        )
        .select_from(invoices.outerjoin(fees, fees.c.invoice_id == invoices.c.id))
        .where(invoices.c.state.in_(list(states)), invoices.c.due_at < now)
        .order_by(invoices.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def invoices_in(conn: Conn, states: Collection[str]) -> list[dict[str, Any]]:
    """Invoices in ``states`` (e.g. those a reminder applies to, see billing.lifecycle)."""
    query = select(invoices).where(invoices.c.state.in_(list(states))).order_by(invoices.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def site_billing_settings(conn: Conn, site_id: str) -> dict[str, Any]:
    """The site's dunning settings and KID mode as stored (defaults when none were set);
    a None cap or fee count means the default of the site's currency."""
    query = select(billing_settings).where(billing_settings.c.site_id == site_id)
    row = (await conn.execute(query)).mappings().first()
    if row is not None:
        return dict(row)
    return {
        "site_id": site_id,
        "reminder_count": 2,
        "reminder_interval_days": 14,
        "reminder_fee": 0,
        "kid_mode": "mod10",
        "reminder_fee_cap": None,
        "fee_reminders": None,
        "card_charge_at": "issue",
        "card_retries": 3,
        "card_retry_days": 3,
    }


async def set_billing_settings(conn: Conn, site_id: str, **values: Any) -> None:
    current = await site_billing_settings(conn, site_id)
    row = {**current, **values}
    stmt = _insert(conn)(billing_settings).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["site_id"], set_={k: v for k, v in row.items() if k != "site_id"}
    )
    await conn.execute(stmt)


async def add_reminder(conn: Conn, invoice_id: int, n: int, fee: int, at: datetime) -> bool:
    """Record reminder ``n`` (once: UNIQUE(invoice_id, n)); False when it already exists."""
    stmt = (
        _insert(conn)(reminders)
        .values(invoice_id=invoice_id, n=n, fee=fee, sent_at=at)
        .on_conflict_do_nothing(index_elements=["invoice_id", "n"])
    )
    result = await conn.execute(stmt)
    if not result.rowcount:
        return False
    await conn.execute(
        update(invoices)
        .where(invoices.c.id == invoice_id)
        .values(reminders_sent=n, last_reminder_at=at)
    )
    return True


async def reminders_of(conn: Conn, invoice_id: int) -> list[dict[str, Any]]:
    query = select(reminders).where(reminders.c.invoice_id == invoice_id).order_by(reminders.c.n)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def add_plan(conn: Conn, row: dict[str, Any]) -> int:
    result = await conn.execute(insert(subscriber_plans).values(row))
    return new_id(result)


async def payment_by_id(conn: Conn, payment_id: int) -> dict[str, Any] | None:
    row = (
        (await conn.execute(select(payments).where(payments.c.id == payment_id))).mappings().first()
    )
    return dict(row) if row is not None else None


async def pending_stripe_payments(conn: Conn, period: str | None = None) -> list[dict[str, Any]]:
    """Stripe attempts recorded but never answered (a crash between record and call)."""
    query = (
        select(payments)
        .join(invoices, invoices.c.id == payments.c.invoice_id)
        .where(payments.c.method == "stripe", payments.c.status == "pending")
    )
    if period is not None:
        query = query.where(invoices.c.period == period)
    return [dict(r) for r in (await conn.execute(query.order_by(payments.c.id))).mappings()]


async def count_billable(conn: Conn, site_id: str, end: datetime) -> int:
    query = select(func.count()).select_from(_billable(site_id, end).order_by(None).subquery())
    return int((await conn.execute(query)).scalar_one())


async def credit_candidates(
    conn: Conn, site_id: str | None = None, subscriber_id: int | None = None
) -> list[dict[str, Any]]:
    """Invoices that may hold a credit balance: more paid and credited than their total (the
    reminder fees, which only add to what is owed, are checked by the caller)."""
    query = select(invoices).where(
        invoices.c.paid_amount + invoices.c.credited_amount > invoices.c.total
    )
    if site_id is not None:
        query = query.where(invoices.c.site_id == site_id)
    if subscriber_id is not None:
        query = query.where(invoices.c.subscriber_id == subscriber_id)
    return [dict(r) for r in (await conn.execute(query.order_by(invoices.c.id))).mappings()]


async def open_invoices_of(conn: Conn, subscriber_id: int) -> list[dict[str, Any]]:
    """The subscriber's issued and overdue invoices, oldest first."""
    query = select(invoices).where(
        invoices.c.subscriber_id == subscriber_id,
        invoices.c.state.in_(("issued", "overdue")),
    )
    return [dict(r) for r in (await conn.execute(query.order_by(invoices.c.id))).mappings()]


async def set_payment_method(conn: Conn, subscriber_id: int, method: str) -> None:
    """How the subscriber pays from the next invoice on (manual | stripe)."""
    await conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(payment_method=method)
    )


# --- who sells and who buys (billing/parties.py checks the values) -------------------------


async def get_seller(conn: Conn, site_id: str) -> dict[str, Any] | None:
    query = select(sellers).where(sellers.c.site_id == site_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def put_seller(conn: Conn, site_id: str, values: dict[str, Any]) -> None:
    row = {"site_id": site_id, **values}
    stmt = _insert(conn)(sellers).values(row)
    stmt = stmt.on_conflict_do_update(index_elements=["site_id"], set_=dict(values))
    await conn.execute(stmt)


async def put_seller_logo(conn: Conn, site_id: str, logo: bytes | None) -> None:
    stmt = _insert(conn)(sellers).values(site_id=site_id, logo=logo)
    stmt = stmt.on_conflict_do_update(index_elements=["site_id"], set_={"logo": logo})
    await conn.execute(stmt)


async def get_buyer(conn: Conn, subscriber_id: int) -> dict[str, Any] | None:
    query = select(buyers).where(buyers.c.subscriber_id == subscriber_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def buyers_of(conn: Conn, subscriber_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    ids = list(subscriber_ids)
    for start in range(0, len(ids), 500):
        query = select(buyers).where(buyers.c.subscriber_id.in_(ids[start : start + 500]))
        for r in (await conn.execute(query)).mappings():
            out[int(r["subscriber_id"])] = dict(r)
    return out


async def put_buyer(conn: Conn, subscriber_id: int, values: dict[str, Any]) -> None:
    row = {"subscriber_id": subscriber_id, **values}
    stmt = _insert(conn)(buyers).values(row)
    stmt = stmt.on_conflict_do_update(index_elements=["subscriber_id"], set_=dict(values))
    await conn.execute(stmt)
