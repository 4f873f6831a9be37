"""The offline queue: order kept, transactionId fixed up, retries bounded."""

from __future__ import annotations

import pytest

from simulators.offline_queue import OfflineQueue


def drain(queue: OfflineQueue, next_tid: int = 77) -> list[tuple[str, dict[str, object]]]:
    sent = []
    while (head := queue.head()) is not None:
        item, payload = head
        sent.append((item.action, payload))
        queue.acked(item, {"transactionId": next_tid} if item.action == "StartTransaction" else {})
        next_tid += 1
    return sent


def test_stop_queued_before_start_answered_gets_the_real_id() -> None:
    q = OfflineQueue()
    ref = q.new_ref()
    q.push("StartTransaction", {"meterStart": 10}, ref)
    q.push("MeterValues", {"connectorId": 1}, ref)
    q.push("StatusNotification", {"status": "SuspendedEV"}, transactional=False)
    q.push("StopTransaction", {"meterStop": 20}, ref)
    sent = drain(q, next_tid=4242)
    assert [a for a, _ in sent] == [
        "StartTransaction",
        "MeterValues",
        "StatusNotification",
        "StopTransaction",
    ]
    assert "transactionId" not in sent[0][1]
    assert sent[1][1]["transactionId"] == 4242
    assert sent[3][1] == {"meterStop": 20, "transactionId": 4242}
    assert len(q) == 0


def test_two_transactions_interleaved_keep_their_own_ids() -> None:
    q = OfflineQueue()
    a, b = q.new_ref(), q.new_ref()
    q.push("StartTransaction", {}, a)
    q.push("StartTransaction", {}, b)
    q.push("StopTransaction", {"who": "b"}, b)
    q.push("StopTransaction", {"who": "a"}, a)
    sent = drain(q, next_tid=1)
    assert sent[2][1] == {"who": "b", "transactionId": 2}
    assert sent[3][1] == {"who": "a", "transactionId": 1}


def test_head_is_resent_until_acked() -> None:
    q = OfflineQueue()
    ref = q.new_ref()
    q.push("StartTransaction", {}, ref)
    first = q.head()
    again = q.head()
    assert first is not None and again is not None and first[0] is again[0]


def test_call_errors_give_up_after_max_attempts_and_drop_dependents() -> None:
    q = OfflineQueue(max_attempts=3)
    ref = q.new_ref()
    q.push("StartTransaction", {}, ref)
    q.push("StopTransaction", {}, ref)
    q.push("StatusNotification", {"status": "Available"}, transactional=False)
    head = q.head()
    assert head is not None
    assert q.errored(head[0]) is False
    assert q.errored(head[0]) is False
    assert q.errored(head[0]) is True  # third CallError: given up
    nxt = q.head()  # the Stop can never get an id: dropped, the status goes next
    assert nxt is not None and nxt[0].action == "StatusNotification"
    assert [p.action for p in q.dropped] == ["StartTransaction", "StopTransaction"]
    assert q.errored(nxt[0]) is True  # not transactional: one CallError and it is dropped


def test_bound_sheds_oldest_sample_never_start_or_stop() -> None:
    q = OfflineQueue(max_len=3)
    ref = q.new_ref()
    q.push("StartTransaction", {}, ref)
    q.push("MeterValues", {"n": 1}, ref)
    q.push("MeterValues", {"n": 2}, ref)
    q.push("StopTransaction", {}, ref)
    assert [p.action for p in q.items()] == ["StartTransaction", "MeterValues", "StopTransaction"]
    assert q.items()[1].payload == {"n": 2}
    assert [p.payload for p in q.dropped] == [{"n": 1}]


def test_acked_must_be_the_head() -> None:
    q = OfflineQueue()
    q.push("StatusNotification", {}, transactional=False)
    second = q.push("StatusNotification", {}, transactional=False)
    with pytest.raises(AssertionError):
        q.acked(second, {})
