"""Ordered, acknowledged delivery of events with a resourceVersion checkpoint.

Events are queued by resourceVersion (lowest first; an initial list arrives unordered) and sent
one batch at a time. The checkpoint (highest resourceVersion below which everything was handled)
advances only after the batch's Payload was acknowledged True; a refused or nacked batch is
retried, so a restart from the checkpoint yields neither duplicates nor gaps.

Resource versions are compared as integers: the API server (etcd) issues them from one global
counter. Kubernetes calls them opaque, so a non-numeric one disables the checkpoint (logged).
"""
from __future__ import annotations

import heapq
import threading
import time

from collector.component import Payload, PermanentError, Refused
from collector.pdata import new_request

from .mapping import append_event

CHECKPOINT_KEY = "last_resource_version"


def parse_rv(rv) -> int | None:
    """A resourceVersion as an integer, or None when it is missing or not numeric."""
    try:
        return int(rv)
    except (TypeError, ValueError):
        return None


def rv_int(ev: dict) -> int | None:
    return parse_rv((ev.get("metadata") or {}).get("resourceVersion"))


class EventDelivery:
    def __init__(self, consumer, storage, telemetry, logger, version: str = "",
                 max_pending: int = 10000, max_batch: int = 500, ack_timeout: float = 300.0,
                 retry_initial: float = 0.2, retry_max: float = 10.0, handed_over: int | None = None,
                 on_commit=None):
        self.consumer = consumer
        self.storage = storage  # StorageClient or None
        self.telemetry = telemetry
        self.log = logger
        self.version = version
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.ack_timeout = ack_timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._heap: list[tuple[int, tuple, dict]] = []
        self._queued: set[tuple] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # handed_over: the checkpoint the previous leader left on the lease; the later of it and
        # our own wins (ours can be later when our last renewal did not get through).
        loaded = self._load()
        self.committed: int | None = max((c for c in (loaded, handed_over) if c is not None), default=None)
        self._on_commit = on_commit
        self.delivered = 0
        self._idle_commit_source = None  # callable -> int|None: the informer's resourceVersion
        self._dropped = telemetry.counter("skuber_k8s_events_dropped",
                                          "Events dropped before delivery.", ("reason",))

    # -- checkpoint -----------------------------------------------------------------------
    def _load(self) -> int | None:
        if self.storage is None:
            return None
        raw = self.storage.get(CHECKPOINT_KEY)
        try:
            return int(raw.decode()) if raw else None
        except ValueError:
            self.log.warning("k8s_events: ignoring unreadable checkpoint %r", raw)
            return None

    def _commit(self, rv: int) -> None:
        if self.committed is not None and rv <= self.committed:
            return
        self.committed = rv
        if self.storage is not None:
            try:
                self.storage.set(CHECKPOINT_KEY, str(rv).encode())
            except Exception as e:  # disk full, storage closed: the next commit writes it again
                self.log.warning("k8s_events: could not store checkpoint %d: %s", rv, e)
        if self._on_commit is not None:
            self._on_commit(rv)

    def commit_when_idle(self, source) -> None:
        """source() gives the informer's last resourceVersion: once nothing is queued or in
        flight, everything up to it was handled (filtered out or delivered), so a restart need not
        look further back. Without this, a quiet period before a restart would be re-scanned."""
        self._idle_commit_source = source

    # -- queue ----------------------------------------------------------------------------
    def offer(self, ev: dict, rv: int) -> None:
        key = ((ev.get("metadata") or {}).get("uid"), rv)
        with self._cond:
            if key in self._queued:
                return
            if len(self._heap) >= self.max_pending:
                # Full: the oldest event goes (the least useful one), counted.
                _, old_key, _ = heapq.heappop(self._heap)
                self._queued.discard(old_key)
                self._dropped.labels(reason="queue_full").inc()
            heapq.heappush(self._heap, (rv, key, ev))
            self._queued.add(key)
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    # -- sender ---------------------------------------------------------------------------
    def start(self, ready: threading.Event | None = None) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True,
                                        name="k8s_events-delivery")
        self._thread.start()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, ready) -> None:
        # Sending waits for the initial list, so its events go out in resourceVersion order.
        while ready is not None and not ready.wait(0.2):
            if self._stop.is_set():
                return
        backoff = self.retry_initial
        while not self._stop.is_set():
            with self._cond:
                if not self._heap:
                    self._cond.wait(0.5)
                batch = [heapq.heappop(self._heap) for _ in range(min(self.max_batch, len(self._heap)))]
            if not batch:
                self._commit_idle()
                continue
            if self._send(batch):
                backoff = self.retry_initial
                with self._cond:
                    for _, key, _ in batch:
                        self._queued.discard(key)
                self._commit(batch[-1][0])
                self.delivered += len(batch)
            else:
                with self._cond:  # back in the queue, in order, for the retry
                    for item in batch:
                        heapq.heappush(self._heap, item)
                if self._stop.wait(backoff):
                    return
                backoff = min(self.retry_max, backoff * 2)

    def _commit_idle(self) -> None:
        if self._idle_commit_source is None:
            return
        rv = self._idle_commit_source()
        with self._cond:
            if self._heap:
                return
        if rv is not None:
            self._commit(rv)

    def _send(self, batch) -> bool:
        request = new_request("logs")
        n = 0
        for _, _, ev in batch:
            try:
                append_event(request, ev, self.version)
                n += 1
            except (AttributeError, TypeError, ValueError) as e:
                # A field of an unexpected type: skip this event, not every later one.
                del request.resource_logs[n:]
                self._dropped.labels(reason="malformed").inc()
                self.log.warning("k8s_events: dropped a malformed event: %s", e)
        if not n:
            return True
        done = threading.Event()
        outcome: list[bool] = []

        def ack(ok: bool) -> None:
            outcome.append(ok)
            done.set()

        try:
            self.consumer.consume(Payload("logs", request, [ack]))
        except Refused as e:
            self.telemetry.receiver_refused("logs", n)
            self.log.warning("k8s_events: %d events refused, will retry: %s", n, e)
            return False
        except PermanentError as e:
            # The pipeline will never take these: skip them rather than block every later event.
            self.telemetry.dropped("logs", n, "permanent_error")
            self.log.error("k8s_events: %d events rejected for good: %s", n, e)
            return True
        except Exception as e:  # a bug downstream: retried as a refusal, never the end of delivery
            self.telemetry.receiver_refused("logs", n)
            self.log.warning("k8s_events: delivering %d events failed, will retry: %s", n, e)
            return False
        self.telemetry.receiver_accepted("logs", n)
        deadline = time.monotonic() + self.ack_timeout
        while not done.wait(0.2):
            if self._stop.is_set() or time.monotonic() > deadline:
                return False  # not acknowledged: not committed; resent after a restart
        return bool(outcome and outcome[0])
