"""The in-memory sending queue: a bounded FIFO of requests, drained by consumer threads."""
from __future__ import annotations

import collections
import threading
import time
from typing import Any

from collector.component import Payload


class QueueItem:
    """One export request waiting in a queue.

    `request` is the protobuf message (memory queue) and `body` its serialized form, made once,
    lazily, by the consumer thread so the receiver's thread never pays for it. Items restored
    from disk only have `body`.
    """

    __slots__ = ("signal", "request", "body", "items", "acks", "key")

    def __init__(self, signal: str, items: int, acks: list, request: Any = None,
                 body: bytes | None = None, key: Any = None) -> None:
        self.signal = signal
        self.request = request
        self.body = body
        self.items = items
        self.acks = acks
        self.key = key

    def serialized(self) -> bytes:
        if self.body is None:
            self.body = self.request.SerializeToString()
            self.request = None  # the bytes are all a retry needs; free the message
        return self.body

    def ack(self, delivered: bool) -> None:
        acks, self.acks = self.acks, []
        Payload(self.signal, None, acks).ack(delivered)


def item_size(sizer: str, item: QueueItem) -> int:
    """An item's size in the units of `sending_queue.sizer`: 1 per request, its telemetry items
    (spans, data points, log records), or its serialized bytes."""
    if sizer == "items":
        return item.items
    if sizer == "bytes":
        return item.request.ByteSize() if item.request is not None else len(item.body or b"")
    return 1


class MemoryQueue:
    """Bounded: `put` refuses (or waits, when blocking) once `capacity` units wait, counted by
    `sizer` as otelcol's queue does: requests (default), items or bytes. A single request larger
    than the whole capacity is refused, as otelcol refuses it."""

    persistent = False

    def __init__(self, capacity: int, sizer: str = "requests") -> None:
        self.capacity = capacity
        self.sizer = sizer
        self._items: collections.deque[tuple[QueueItem, int]] = collections.deque()
        self._used = 0
        self._cond = threading.Condition()
        self._closed = False

    def size(self) -> int:
        return self._used

    def put(self, item: QueueItem, block: bool = False, stop: threading.Event | None = None,
            max_wait: float = 3600.0) -> bool:
        """False when full (or closed). A blocking put waits for room, shutdown, or max_wait."""
        end = time.monotonic() + max_wait
        n = item_size(self.sizer, item)
        if n > self.capacity:
            return False  # could never fit, blocking or not
        with self._cond:
            while self._used + n > self.capacity and not self._closed:
                left = end - time.monotonic()
                if not block or left <= 0 or (stop is not None and stop.is_set()):
                    return False
                self._cond.wait(min(left, 0.2))  # short waits so a shutdown is noticed
            if self._closed:
                return False
            self._items.append((item, n))
            self._used += n
            self._cond.notify_all()
            return True

    def get(self, timeout: float) -> QueueItem | None:
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item, n = self._items.popleft()
            self._used -= n
            self._cond.notify_all()
            return item

    def done(self, item: QueueItem, remove: bool) -> None:
        """Nothing to release in memory; `remove=False` (keep for later) cannot be honoured."""

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take_all(self) -> list[QueueItem]:
        """Empties the queue (at the shutdown deadline: what is left is dropped and acked False)."""
        with self._cond:
            items = [item for item, _ in self._items]
            self._items.clear()
            self._used = 0
            self._cond.notify_all()
            return items
