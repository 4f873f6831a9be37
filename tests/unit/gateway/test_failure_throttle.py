"""FailureThrottle: free tries, then lockouts that double up to a cap; a success clears."""

from __future__ import annotations

from gateway.auth import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lockouts_start_after_the_free_tries_and_double_up_to_the_cap() -> None:
    clock = Clock()
    throttle = FailureThrottle(free=3, base=1.0, cap=8.0, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("id:A") == 0
        throttle.failed("id:A")
    assert throttle.retry_after("id:A") == 0  # three failures are free
    waits = []
    for _ in range(6):
        throttle.failed("id:A")
        waits.append(throttle.retry_after("id:A"))
        clock.now += waits[-1]
        assert throttle.retry_after("id:A") == 0
    assert waits == [1, 2, 4, 8, 8, 8]
    assert throttle.retry_after("id:B") == 0  # other keys untouched
    throttle.succeeded("id:A")
    throttle.failed("id:A")
    assert throttle.retry_after("id:A") == 0  # counting starts again


def test_memory_stays_bounded_under_made_up_keys() -> None:
    throttle = FailureThrottle(limit=100)
    for i in range(1000):
        throttle.failed(f"id:{i}")
    assert len(throttle._keys) <= 100
