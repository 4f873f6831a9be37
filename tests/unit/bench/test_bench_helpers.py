"""The benchmark set's pure helpers: which runs, how a fleet is split, percentiles, verdicts."""

from __future__ import annotations

import argparse

import pytest

from bench import ocpp_load, run_all


def test_split_covers_every_charger_once() -> None:
    assert ocpp_load.split(20_000, 2) == [(1, 10_000), (10_001, 10_000)]
    assert ocpp_load.split(5, 2) == [(1, 3), (4, 2)]
    assert ocpp_load.split(1, 4) == [(1, 1)]


def test_percentiles_are_nearest_rank_in_ms() -> None:
    assert ocpp_load.percentiles_ms(list(range(1000, 101_000, 1000))) == (50.0, 99.0)
    assert ocpp_load.percentiles_ms([]) == (0.0, 0.0)


def test_foreign_load_is_what_we_did_not_use() -> None:
    assert ocpp_load.foreign_cores(machine_s=15.0, ours_s=10.0, window_s=10.0) == 0.5
    assert ocpp_load.foreign_cores(machine_s=9.0, ours_s=10.0, window_s=10.0) == 0.0


def test_select_by_name_list_and_pattern() -> None:
    assert [s.name for s in run_all.select([])] == [s.name for s in run_all.SET]
    assert [s.name for s in run_all.select(["closed-1000,tariff"])] == ["closed-1000", "tariff"]
    assert [s.name for s in run_all.select(["closed-*"])] == [
        "closed-100",
        "closed-1000",
        "closed-5000",
    ]
    assert "hold-20000" not in [s.name for s in run_all.select([], ["hold-*"])]
    assert [s.name for s in run_all.select(["closed-*"], ["closed-5000"])] == [
        "closed-100",
        "closed-1000",
    ]
    with pytest.raises(SystemExit, match="no run named nope"):
        run_all.select(["nope"])


def test_options_are_ocpp_load_options() -> None:
    args = argparse.Namespace(duration=8.0, warmup=3.0, concurrency=200)
    spec = next(s for s in run_all.SET if s.name == "hold-20000")
    opts = run_all.options(spec, args)
    assert (opts.mode, opts.chargers, opts.interval, opts.workers) == ("hold", 20_000, 20.0, 2)
    assert opts.name == "hold-20000" and opts.db == "sqlite"


def test_verdicts_judge_the_goals_and_show_foreign_load() -> None:
    closed = {"foreign_cores_busy": 0.1, "steady": True}
    results = [
        {"run": "closed-100", "server_us_per_msg": 100.0, **closed},
        {"run": "closed-1000", "server_us_per_msg": 105.0, **closed},
        {"run": "closed-5000", "server_us_per_msg": 130.0, **closed, "steady": False},
        {"run": "pg-closed-1000", "skipped": "PostgreSQL unreachable"},
        {"run": "paced-5000", "error": "RuntimeError: boom\nmore"},
    ]
    text = "\n".join(run_all.verdicts(results))
    assert "CPU per MeterValues, N = 1,000 (µs): 105.0, goal <= 150: meets" in text
    assert "100.0 / 105.0 / 130.0, spread 30%, goal within 10 %: MISSES" in text
    assert "closed-5000: foreign load 0.1 of 2 cores (NOT steady" in text
    assert "pg-closed-1000: skipped: PostgreSQL unreachable" in text
    assert "paced-5000: FAILED: RuntimeError: boom" in text and "more" not in text


def test_server_log_is_counted_by_event_and_last_error_line() -> None:
    failed = '{"event": "opening handshake failed", "error": "Traceback\\nOSError: too many"}'
    lines = [failed, failed, '{"event": "slow commit"}', "not json", ""]
    assert ocpp_load.summarize_log(lines) == {
        "opening handshake failed: OSError: too many": 2,
        "slow commit": 1,
        "not json": 1,
    }


def test_table_has_one_row_per_run() -> None:
    results = [
        {
            "run": "paced-1000",
            "mode": "paced",
            "server_us_per_msg": 250.0,
            "msg_per_s": 500.1,
            "latency_p50_ms": 1.2,
            "latency_p99_ms": 9.9,
            "kib_per_connection": 30.1,
            "connect_boot_per_s": 200.0,
            "db_server_us_per_msg": None,
            "steady": True,
            "foreign_cores_busy": 0.3,
        },
        {"run": "pg-closed-1000", "skipped": "PostgreSQL unreachable"},
        {"run": "tariff", "sessions_per_s": 19_000},
    ]
    rows = run_all.table(results).splitlines()
    assert len(rows) == 2 + 3
    assert rows[2] == "| paced-1000 | 250.0 | 500.1 | 1.2 / 9.9 | 30.1 | 200.0 | - | 0.3 |"
    assert rows[3].startswith("| pg-closed-1000 | skipped |") and rows[3].count("|") == 9
    assert "19,000 sessions priced/s" in rows[4]
