"""Group commit: many chargers' messages share one transaction; none is acked before it.

Each message hands the committer an *op*: a coroutine that writes through a `Batch`. The
committer runs every op that arrived while the previous commit was in flight inside a single
transaction, commits once, and only then resolves each op's future, so the caller (the
gateway) sends its acknowledgement after its data is durable. Append-only rows (meter samples,
status history) are collected and written with one executemany per table; so are the
parameters of prebuilt writes whose order across statements does not matter (a connector's
upsert, a boot's charger update): one executemany per statement instead of one round trip
per message.

If a batch fails, its ops are retried one per transaction, so one bad message cannot take
others down with it; ops therefore do their work only through the Batch (no side effects
before commit).

An op may also name a read it will need (`ahead`): when several ops of a transaction name
the same read, the committer runs it once for all their keys at the start of the
transaction and each op takes its answer with `Batch.read_ahead`, instead of one round trip
per op. An op that finds no answer (alone in its transaction, a key asked twice, a row
not found) reads for itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.sqlite_appender import SqliteAppender

log = logging.getLogger("evgate.store")

T = TypeVar("T")
Op = Callable[["Batch"], Awaitable[T]]
# a read for many ops at once: keys -> answer per key found
ReadMany = Callable[["Batch", list[Any]], Awaitable[dict[Any, Any]]]
Ahead = tuple[ReadMany, Hashable]


_INSERTS: dict[Table, Any] = {}


def _insert(table: Table) -> Any:
    """INSERT INTO table, built once (SQLAlchemy then reuses its compiled form)."""
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    return stmt


class Batch:
    """One transaction's worth of writes."""

    __slots__ = ("conn", "_rows", "_ahead")

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        # a table (bulk INSERT) or a prebuilt statement -> its queued parameter sets, in order
        self._rows: dict[Any, list[dict[str, Any]]] = {}
        # (read, key) -> the answer the committer read ahead for the batch's ops
        self._ahead: dict[Ahead, Any] = {}

    def read_ahead(self, read: ReadMany, key: Hashable) -> Any | None:
        """The answer read ahead for this op's key, once; None: read it yourself."""
        return self._ahead.pop((read, key), None)

    async def _read_ahead(self, wanted: list[Ahead]) -> None:
        keys: dict[ReadMany, list[Any]] = {}
        for read, key in wanted:
            keys.setdefault(read, []).append(key)
        for read, group in keys.items():
            if len(group) < 2:  # one op reads for itself just as cheaply
                continue
            for key, answer in (await read(self, group)).items():
                self._ahead[(read, key)] = answer

    def add_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Queue rows for a bulk INSERT at the end of the batch (or before the next read)."""
        self.add_params(table, rows)

    def add_params(self, statement: Any, params: list[dict[str, Any]]) -> None:
        """Queue parameter sets of a prebuilt statement for one executemany at the next flush.

        Sets of one statement run in the order queued; different statements run in the order
        they were first queued, so use this only for writes that no other queued statement
        touches (an immediate `execute` flushes the queue first, so it always sees them).
        Every set of one statement must have the same keys.
        """
        bucket = self._rows.get(statement)
        if bucket is None:
            self._rows[statement] = list(params)
        else:
            bucket.extend(params)

    async def flush(self) -> None:
        """Write queued rows now: call before reading anything they might contain."""
        if self._rows:
            pending, self._rows = self._rows, {}
            for key, rows in pending.items():
                stmt = _insert(key) if isinstance(key, Table) else key
                await self.conn.execute(stmt, rows)

    async def execute(self, statement: Any, params: Any = None, *, flush: bool = True) -> Any:
        """Run a statement after flushing queued rows (reads see every earlier write).

        flush=False: only for a statement that reads and writes nothing a queued write
        touches (it then does not cost the queue's round trips before it).
        """
        if flush:
            await self.flush()
        return await self.conn.execute(statement, params)


class _Rows:
    """An op that only appends rows: the append-only path can commit it without a Batch."""

    __slots__ = ("tables",)

    def __init__(self, tables: dict[Table, list[dict[str, Any]]]) -> None:
        self.tables = tables

    async def __call__(self, batch: Batch) -> None:
        for table, rows in self.tables.items():
            batch.add_rows(table, rows)


class _Callback:
    """The part of a future the committer uses, calling a function at once instead: the
    hot path's acknowledgement is written from the commit loop, with no task to wake."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[BaseException | None], None]) -> None:
        self.fn: Callable[[BaseException | None], None] | None = fn

    def done(self) -> bool:
        return self.fn is None

    def set_result(self, result: Any) -> None:
        self._call(None)

    def set_exception(self, error: BaseException) -> None:
        self._call(error)

    def _call(self, error: BaseException | None) -> None:
        fn, self.fn = self.fn, None
        if fn is None:
            return
        try:
            fn(error)
        except Exception:  # the commit loop serves everyone: never let one callback stop it
            log.exception("commit callback failed")


Waiter = asyncio.Future[Any] | _Callback
Work = list[tuple[Op[Any], Waiter, Ahead | None]]


class GroupCommitter:
    def __init__(
        self, engine: AsyncEngine, max_batch: int = 1000, append_fast: bool = True
    ) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: Work = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # figures for /metrics and the benchmarks
        self.commits = 0
        self.ops = 0
        # called after every commit (e.g. to wake the outbox publisher)
        self.after_commit: list[Callable[[], None]] = []
        # SQLite: batches that only append rows commit in one thread hop
        self.appender = SqliteAppender.for_engine(engine) if append_fast else None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="evgate-group-commit")

    async def close(self) -> None:
        """Finish every op already handed over, then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.appender is not None:
            await self.appender.close()
            self.appender = None

    def submit(self, op: Op[T], ahead: Ahead | None = None) -> asyncio.Future[T]:
        if self._closing:
            raise RuntimeError("the store is shutting down")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((op, fut, ahead))
        self._wakeup.set()
        return fut

    async def run(self, op: Op[T], ahead: Ahead | None = None) -> T:
        """Run `op` in the next group transaction; return once that transaction committed.

        `ahead` = (read, key): a read the op will take with `batch.read_ahead(read, key)`.
        """
        return await self.submit(op, ahead)

    def rows(self, table: Table, rows: list[dict[str, Any]]) -> asyncio.Future[None]:
        """The commonest op: append rows (meter samples) with no read."""
        return self.submit(_Rows({table: rows}))

    def rows_of(self, tables: dict[Table, list[dict[str, Any]]]) -> asyncio.Future[None]:
        """Append rows to several tables in one op (samples and the event they raise)."""
        return self.submit(_Rows(tables))

    def append(
        self,
        tables: dict[Table, list[dict[str, Any]]],
        done: Callable[[BaseException | None], None],
    ) -> None:
        """rows_of with a callback: `done(None)` after the commit, `done(error)` if refused."""
        if self._closing:
            raise RuntimeError("the store is shutting down")
        self._queue.append((_Rows(tables), _Callback(done), None))
        self._wakeup.set()

    async def _loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                work = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._commit(work)
            if self._closing and not self._queue:
                return

    async def _commit(self, work: Work) -> None:
        if self.appender is not None and await self._append_only(work):
            return
        try:
            results = await self._transaction([(op, ahead) for op, _, ahead in work])
        except Exception as exc:  # isolate the bad op: retry one per transaction
            if len(work) == 1:
                fut = work[0][1]
                if not fut.done():
                    fut.set_exception(exc)
                return
            log.warning("group commit of %d ops failed (%s); retrying one by one", len(work), exc)
            for item in work:
                await self._commit([item])
            return
        for (_, fut, _), result in zip(work, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    async def _append_only(self, work: Work) -> bool:
        """A batch of row appends only: commit it in one hop; False: take the ordinary way."""
        assert self.appender is not None
        merged: dict[Table, list[dict[str, Any]]] = {}
        for op, _, _ in work:
            if type(op) is not _Rows:
                return False
            for table, rows in op.tables.items():
                if rows:
                    merged.setdefault(table, []).extend(rows)
        if merged and not self.appender.accepts(merged):
            return False
        try:
            if merged:
                await self.appender.append(merged)
        except Exception as exc:  # the ordinary way isolates the op that was refused
            log.warning("append-only commit of %d ops failed (%s); retrying", len(work), exc)
            return False
        self.commits += 1
        self.ops += len(work)
        for _, fut, _ in work:
            if not fut.done():
                fut.set_result(None)
        for callback in self.after_commit:
            callback()
        return True

    async def _transaction(self, ops: list[tuple[Op[Any], Ahead | None]]) -> list[Any]:
        async with self.engine.begin() as conn:
            batch = Batch(conn)
            await batch._read_ahead([ahead for _, ahead in ops if ahead is not None])
            results = [await op(batch) for op, _ in ops]
            await batch.flush()
        self.commits += 1
        self.ops += len(ops)
        for callback in self.after_commit:
            callback()
        return results
