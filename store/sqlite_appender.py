"""Append-only group commits on SQLite in one thread hop.

A group commit of meter samples through SQLAlchemy's async engine on aiosqlite crosses to
the driver's thread and back for the checkout, each cursor, each executemany, the commit
and the reset on return: six or more hops, each a thread wake-up and a future. At a paced
load a batch holds a message or two, so those hops were most of a message's CPU. When a
whole batch only appends rows, the committer hands it here instead: one thread of our own,
one sqlite3 connection, BEGIN + one executemany per table + COMMIT in a single hop.

Storage is the same as SQLAlchemy's: the INSERT is SQLAlchemy's compiled statement and the
parameters go through the columns' own bind processors (the same functions SQLAlchemy
calls), in the writer thread. The connection gets the engine's pragmas (WAL, synchronous
NORMAL, foreign keys, busy timeout), so a commit here is as durable as one there.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import SQLITE_PRAGMAS

Params = Callable[[dict[str, Any]], tuple[Any, ...]]
Plan = tuple[str, Params]


def _params_of(processors: list[tuple[str, Any]]) -> Params:
    """row -> the INSERT's parameters, as one generated expression (the writer thread holds
    the GIL while it builds them, so this is CPU the event loop waits for)."""
    namespace: dict[str, Any] = {}
    values = []
    for i, (name, process) in enumerate(processors):
        if process is None:
            values.append(f"row[{name!r}]")
        else:
            namespace[f"P{i}"] = process
            values.append(f"P{i}(row[{name!r}])")
    source = f"def params(row):\n    return ({', '.join(values)},)\n"
    exec(compile(source, "<sqlite-append-params>", "exec"), namespace)  # noqa: S102 - our own
    params: Params = namespace["params"]
    return params


class SqliteAppender:
    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.dialect = dialect
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="evgate-sqlite-append")
        self._conn: sqlite3.Connection | None = None  # used only in the executor's thread
        self._plans: dict[tuple[Table, tuple[str, ...]], Plan | None] = {}

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteAppender | None:
        """An appender for a SQLite file engine; None for anything else."""
        url = engine.url
        if engine.dialect.name != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return cls(url.database, engine.dialect)

    def plan(self, table: Table, keys: tuple[str, ...]) -> Plan | None:
        """SQL and per-parameter processors for rows with `keys`; None: not plain enough.

        A table whose INSERT would need values SQLAlchemy computes itself (Python-side
        column defaults for keys not given) goes the ordinary way.
        """
        found = (table, keys)
        if found in self._plans:
            return self._plans[found]
        compiled = insert(table).compile(dialect=self.dialect, column_keys=list(keys))
        names = list(compiled.positiontup or ())
        plan: Plan | None = None
        if set(names) == set(keys) and len(names) == len(keys):
            processors = []
            for name in names:
                column = table.c[name]
                processors.append(
                    (name, column.type.dialect_impl(self.dialect).bind_processor(self.dialect))
                )
            plan = (str(compiled), _params_of(processors))
        self._plans[found] = plan
        return plan

    def accepts(self, rows: dict[Table, list[dict[str, Any]]]) -> bool:
        """Whether each table's rows have a plan (by the keys of its first row; a later row
        missing one of them fails the batch, which then goes the ordinary way)."""
        return all(self.plan(table, tuple(group[0])) is not None for table, group in rows.items())

    async def append(self, rows: dict[Table, list[dict[str, Any]]]) -> None:
        """Insert all rows in one transaction; raises (and keeps nothing) if any is refused."""
        work = [(self.plan(table, tuple(group[0])), group) for table, group in rows.items()]
        await asyncio.get_running_loop().run_in_executor(self._executor, self._write, work)

    def _write(self, work: list[tuple[Plan | None, list[dict[str, Any]]]]) -> None:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._open()
        _begin_immediate(conn)
        try:
            for plan, group in work:
                assert plan is not None
                sql, params = plan
                conn.executemany(sql, map(params, group))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        conn.execute("PRAGMA busy_timeout=0")  # we wait for the lock ourselves: _begin_immediate
        return conn

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=True)


LOCK_WAIT = 10.0  # seconds, as the engine's busy_timeout
LOCK_POLL = 0.0005


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Take SQLite's one write lock, trying every half millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries, so a writer that
    keeps taking the lock with short gaps (a billing run in another process) wins most of them
    and the acks behind this commit waited up to 80 ms; polling finely takes the first gap.
    """
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(LOCK_POLL)
