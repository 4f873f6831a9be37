"""The ordered queue of messages that must reach the central system, online or not.

OCPP 1.6 section 4.x: transaction-related messages (StartTransaction, StopTransaction,
transaction MeterValues) are kept while the charger is offline and delivered in order, with
their original timestamps, once it is back. A Stop or MeterValues queued before its Start was
answered does not know the transactionId yet: it carries a local reference that is replaced by
the real id when the Start's CallResult arrives. Pure data: the charger does the I/O.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

TX_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})
# 1.6 messages that get the central system's transactionId filled in; a 2.0.1 TransactionEvent
# carries the charger's own id and is sent as queued
NEEDS_TX_ID = frozenset({"StopTransaction", "MeterValues"})


@dataclass(slots=True)
class Pending:
    """One message waiting for its CallResult."""

    action: str
    payload: dict[str, Any]
    tx_ref: int | None = None  # local transaction reference (created by a Start)
    transactional: bool = True  # retried on CallError up to max_attempts; kept when offline
    attempts: int = 0
    seq: int = field(default=0)


class OfflineQueue:
    """FIFO of Pending messages with transactionId fix-up by local reference."""

    def __init__(self, max_len: int = 50_000, max_attempts: int = 3) -> None:
        self._items: deque[Pending] = deque()
        self._ids: dict[int, int] = {}  # tx_ref -> transactionId from the central system
        self._dead_refs: set[int] = set()  # refs whose Start was given up
        self._refs = itertools.count(1)
        self._seq = itertools.count(1)
        self.max_len = max_len
        self.max_attempts = max_attempts
        self.dropped: list[Pending] = []

    def __len__(self) -> int:
        return len(self._items)

    def new_ref(self) -> int:
        return next(self._refs)

    def push(
        self,
        action: str,
        payload: dict[str, Any],
        tx_ref: int | None = None,
        transactional: bool = True,
    ) -> Pending:
        item = Pending(action, payload, tx_ref, transactional, seq=next(self._seq))
        self._items.append(item)
        if len(self._items) > self.max_len:
            self._shed()
        return item

    def _shed(self) -> None:
        """Over the bound: give up the oldest periodic sample (never a Start or Stop)."""
        for item in itertools.islice(self._items, 1, None):
            if item.action in ("MeterValues", "StatusNotification"):
                self._items.remove(item)
                self.dropped.append(item)
                return

    def transaction_id(self, tx_ref: int) -> int | None:
        return self._ids.get(tx_ref)

    def resolve(self, tx_ref: int, transaction_id: int) -> None:
        self._ids[tx_ref] = transaction_id

    def head(self) -> tuple[Pending, dict[str, Any]] | None:
        """The next message to send and its payload with the real transactionId filled in.

        Entries whose transaction can never get an id (its Start was given up) are dropped.
        """
        while self._items:
            item = self._items[0]
            if item.tx_ref is None or item.action not in NEEDS_TX_ID:
                return item, item.payload
            if item.tx_ref in self._dead_refs:
                self.dropped.append(self._items.popleft())
                continue
            tid = self._ids.get(item.tx_ref)
            if tid is None:  # cannot happen in order: its Start was answered before it
                raise RuntimeError(f"{item.action} queued before any Start of ref {item.tx_ref}")
            return item, {**item.payload, "transactionId": tid}
        return None

    def acked(self, item: Pending, result: dict[str, Any]) -> None:
        """The head got its CallResult: pop it; a Start's result resolves its reference."""
        assert self._items and self._items[0] is item, "acked() must be called on head()"
        self._items.popleft()
        if item.action == "StartTransaction" and item.tx_ref is not None:
            tid = result.get("transactionId")
            if isinstance(tid, int):
                self.resolve(item.tx_ref, tid)
            else:
                self._dead_refs.add(item.tx_ref)

    def errored(self, item: Pending) -> bool:
        """The head got a CallError: True when it was given up (dropped)."""
        item.attempts += 1
        if item.transactional and item.attempts < self.max_attempts:
            return False
        self._items.popleft()
        self.dropped.append(item)
        if item.action == "StartTransaction" and item.tx_ref is not None:
            self._dead_refs.add(item.tx_ref)
        return True

    def items(self) -> list[Pending]:
        return list(self._items)
