"""The persistent sending queue: requests stored in a storage extension (file_storage) until
the gateway acknowledged them, so a crash or restart loses nothing that was accepted.

One storage client per signal (`client("exporter", id, signal)`), as otelcol keeps one queue
per signal exporter. Keys are a global sequence number so the restart order is the enqueue
order across signals. A value is a 4-byte item count followed by the serialized request.
Only keys are kept in memory; bodies are read back when a consumer takes them.
"""
from __future__ import annotations

import collections
import logging
import struct
import threading
import time

from .memory_queue import QueueItem

_HEADER = struct.Struct(">I")
_KEY_PREFIX = "q/"


def _key(seq: int) -> str:
    return f"{_KEY_PREFIX}{seq:020d}"


class PersistentQueue:
    persistent = True

    def __init__(self, clients: dict, capacity: int, logger: logging.Logger) -> None:
        self.capacity = capacity
        self._clients = clients          # signal -> StorageClient
        self._log = logger
        self._pending: collections.deque[tuple[int, str]] = collections.deque()
        self._cond = threading.Condition()
        self._reserved = 0               # slots taken by puts still writing to storage
        self._in_flight = 0              # taken by a consumer, not yet done
        self._acks: dict[int, list] = {}  # seq -> acks of items enqueued by this process
        self._next_seq = 0
        self._closed = False
        self.corrupt_skipped = 0
        self._load()

    def _load(self) -> None:
        """Resume what a previous run left: every stored request is sent again, oldest first."""
        found: list[tuple[int, str]] = []
        for signal, client in self._clients.items():
            for key, _value in client.items(_KEY_PREFIX):
                try:
                    seq = int(key[len(_KEY_PREFIX):])
                except ValueError:
                    self.corrupt_skipped += 1
                    self._log.warning("Dropping a persistent queue entry with a bad key %r", key)
                    try:  # never sendable: deleted, or it would be warned about at every start
                        client.delete(key)
                    except Exception:
                        self._log.exception("Could not delete persistent queue entry %r", key)
                    continue
                found.append((seq, signal))
        found.sort()
        self._pending.extend(found)
        self._next_seq = (found[-1][0] + 1) if found else 0
        if found:
            self._log.info("Persistent queue resumed %d stored request(s) to send", len(found))

    def size(self) -> int:
        return len(self._pending) + self._reserved + self._in_flight

    def put(self, item: QueueItem, block: bool = False, stop: threading.Event | None = None,
            max_wait: float = 3600.0) -> bool:
        end = time.monotonic() + max_wait
        with self._cond:
            while self.size() >= self.capacity and not self._closed:
                left = end - time.monotonic()
                if not block or left <= 0 or (stop is not None and stop.is_set()):
                    return False
                self._cond.wait(min(left, 0.2))
            if self._closed:
                return False
            seq = self._next_seq
            self._next_seq += 1
            self._reserved += 1
        # The disk write happens outside the lock so consumers keep draining meanwhile.
        try:
            body = item.serialized()
            self._clients[item.signal].set(_key(seq), _HEADER.pack(item.items) + body)
        except Exception:
            with self._cond:
                self._reserved -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            self._reserved -= 1
            self._pending.append((seq, item.signal))
            if item.acks:
                self._acks[seq] = item.acks
            self._cond.notify_all()
        return True

    def get(self, timeout: float) -> QueueItem | None:
        end = time.monotonic() + timeout
        while True:
            with self._cond:
                if not self._pending and not self._closed:
                    self._cond.wait(max(0.0, end - time.monotonic()))
                if not self._pending or self._closed:
                    return None
                seq, signal = self._pending.popleft()
                self._in_flight += 1
                acks = self._acks.pop(seq, [])
            value = self._clients[signal].get(_key(seq))
            if value is not None and len(value) >= _HEADER.size:
                (items,) = _HEADER.unpack_from(value)
                return QueueItem(signal, items, acks, body=value[_HEADER.size:], key=seq)
            # Missing or truncated entry: nothing to send; count it and go on.
            self.corrupt_skipped += 1
            self._log.warning("Skipping an unreadable persistent queue entry %s (%s)", _key(seq), signal)
            QueueItem(signal, 0, acks).ack(False)
            self._finish(signal, seq, remove=value is not None)
            if time.monotonic() >= end:
                return None

    def _finish(self, signal: str, seq: int, remove: bool) -> None:
        if remove:
            try:
                self._clients[signal].delete(_key(seq))
            except Exception:  # storage trouble must not kill a consumer thread
                self._log.exception("Could not delete persistent queue entry %s", _key(seq))
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def done(self, item: QueueItem, remove: bool) -> None:
        """remove=True once delivered or dropped for good; False keeps it for the next start."""
        self._finish(item.signal, item.key, remove)

    def close(self) -> None:
        """Stop handing out items. Upstream acks still waiting fire False: this process will not
        deliver them (the next one will, from disk)."""
        with self._cond:
            self._closed = True
            leftover, self._acks = list(self._acks.values()), {}
            self._cond.notify_all()
        for acks in leftover:
            QueueItem("", 0, acks).ack(False)

    def take_all(self) -> list[QueueItem]:
        """Nothing to drop at shutdown: what is stored stays stored for the next start."""
        return []

    def close_clients(self) -> None:
        for client in self._clients.values():
            try:
                client.close()
            except Exception:
                self._log.exception("Could not close a storage client")
