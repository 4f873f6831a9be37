"""UtcDateTime's SQLite fast path stores exactly the text SQLAlchemy's own path stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from store.types import UtcDateTime

DIALECT = sqlite.dialect()
FAST = UtcDateTime().bind_processor(DIALECT)
# the generic TypeDecorator path: process_bind_param, then SQLite DATETIME's formatter
_IMPL = UtcDateTime().impl_instance.dialect_impl(DIALECT).bind_processor(DIALECT)


def SLOW(value: datetime) -> str:  # noqa: N802 - reads as the counterpart of FAST
    return _IMPL(UtcDateTime().process_bind_param(value, DIALECT))


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
    )
)
def test_same_text_as_sqlalchemy(value: datetime) -> None:
    assert FAST(value) == SLOW(value)


def test_whole_seconds_keep_their_microseconds_and_utc_is_kept() -> None:
    value = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert FAST(value) == SLOW(value) == "2026-11-23 20:00:00.000000"
    assert FAST(None) is None


def test_round_trip_through_a_real_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
    )
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    table.metadata.create_all(engine)
    value = datetime(2026, 3, 29, 1, 30, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "at": value}])
        assert conn.execute(select(table.c.at)).scalar_one() == value
        assert conn.exec_driver_sql("SELECT at FROM t").scalar_one() == "2026-03-28 23:30:00.000005"


READ = UtcDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
# the generic path: SQLite DATETIME's parser, then process_result_value
_IMPL_READ = UtcDateTime().impl_instance.dialect_impl(DIALECT).result_processor(DIALECT, None)


def SLOW_READ(text: str) -> datetime | None:  # noqa: N802 - the counterpart of READ
    return UtcDateTime().process_result_value(_IMPL_READ(text), DIALECT)


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
    )
)
def test_reads_back_what_sqlalchemy_reads(value: datetime) -> None:
    text = FAST(value)
    assert READ(text) == SLOW_READ(text) == value
    assert READ(text).tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2026-11-23 20:00:00", "2026-11-23 20:00:00.5", "2026-11-23", None]
)
def test_texts_we_do_not_write_are_read_the_general_way(text: str | None) -> None:
    assert READ(text) == SLOW_READ(text) if text is not None else READ(text) is None


def test_naive_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FAST(datetime(2026, 1, 1))
