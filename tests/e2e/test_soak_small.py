"""Small, fast versions of the reliability suite (bench/soak.py; `make soak` runs the full one)."""

from __future__ import annotations

import pytest

from bench import soak
from tests.support.services import PG_URL, reachable, unavailable


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and (why := reachable(PG_URL, 5432)):
        unavailable("PostgreSQL", why)
    return str(request.param)


def test_kills_lose_no_acknowledged_message(db: str) -> None:
    out = soak.run_kills(db, kills=2, chargers=4, seed=7)
    assert out["acked_messages"] > 50
    assert out["acked_lost"] == 0
    assert out["duplicate_sessions"] == 0 and out["sessions_inexact"] == 0
    # a resend of a call that was stored but not acknowledged: at most one per charger a kill
    assert out["duplicate_samples"] <= 2 * 4


def test_mutated_frames_never_crash_or_get_internal_error(db: str) -> None:
    out = soak.run_fuzz(db, frames=3000, seed=11)
    assert out["server_alive"] and out["frames"] == 3000
    assert out["internal_errors"] == 0 and out["tracebacks_logged"] == 0
    assert "no answer" not in out["answers"], out["answers"]
    assert out["answers"].get("result", 0) > 0  # valid frames among them still work


def test_a_broker_outage_loses_no_event() -> None:
    if soak.mosquitto() is None:
        unavailable("a mosquitto binary", "not installed: apt-get install mosquitto")
    out = soak.run_broker("sqlite", outage=2.0, seed=5)
    assert out["events"] > 100 and out["events_lost"] == 0, out
