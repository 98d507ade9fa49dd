"""The exporter every transport shares: bounded sending queue (memory or persistent), consumer
threads, retries, acknowledgements, self-telemetry and connection logging.

A transport only has to offer `send(signal, body, timeout) -> PartialSuccess | None`, raising
RetryableSendError / PermanentSendError, plus `label` (the endpoint as configured) and `close()`.
"""
from __future__ import annotations

import logging
import threading
import time

from collector.component import Component, Payload, PermanentError, Refused
from collector.pdata import count_items

from .log_limiter import LogLimiter
from .memory_queue import MemoryQueue, QueueItem
from .persistent_queue import PersistentQueue
from .retry import Outcome, RetryPolicy, Status
from .send_errors import SendError

_GET_WAIT = 0.2  # consumers wake this often to notice shutdown
_PROBE_TIMEOUT = 10.0     # upper bound of one connection attempt at start
_PROBE_FIRST_WAIT = 1.0   # then 2, 4, ... up to _PROBE_MAX_WAIT between attempts
_PROBE_MAX_WAIT = 30.0


def create_exporter(settings, config, signals: frozenset, transport_class) -> "QueuedExporter":
    """An OTLP exporter factory's `create`: its transport behind the shared queue and retries."""
    info = settings.build_info
    transport = transport_class(config, settings.logger, user_agent=f"{info.command}/{info.version}")
    return QueuedExporter(settings, config, signals, transport)


class QueuedExporter(Component):
    def __init__(self, settings, config, signals: frozenset, transport,
                 log_interval: float = 30.0) -> None:
        self.settings = settings
        self.id = str(settings.id)
        self.config = config
        self.signals = signals
        self.transport = transport
        self.log: logging.Logger = settings.logger
        self.telemetry = settings.telemetry
        self._stop = threading.Event()
        self.retry = RetryPolicy(config.retry_on_failure, config.timeout, self._stop)
        self._limiter = LogLimiter(self.log, interval=log_interval)
        self._queue: MemoryQueue | PersistentQueue | None = None
        self._threads: list[threading.Thread] = []
        self._host = None
        self._closing = False
        self._connected = False
        self._failing = False
        self._state_lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, host) -> None:
        self._host = host
        qcfg = self.config.sending_queue
        check_auth(host, getattr(self.config, "auth", None))
        if qcfg.enabled and qcfg.batch is not None:
            self.log.warning("sending_queue.batch is not applied by this exporter: requests are sent "
                             "as they come; use the batch processor to merge them (exporter=%s)", self.id)
        if qcfg.enabled:
            # First, as it may raise: the engine never shuts down a component whose start failed,
            # so no thread may be running by then.
            self._queue = self._make_queue(host, qcfg)
            self._update_queue_gauge()
        # Not joined at shutdown: it ends at the stop event, or within one probe timeout.
        threading.Thread(target=self._connect_loop, name=f"{self.id}-connect", daemon=True).start()
        for i in range(qcfg.num_consumers if self._queue is not None else 0):
            t = threading.Thread(target=self._consume_loop, name=f"{self.id}-consumer-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _make_queue(self, host, qcfg) -> MemoryQueue | PersistentQueue:
        if not qcfg.storage:
            return MemoryQueue(qcfg.queue_size, qcfg.sizer)
        ext = host.get_extension(qcfg.storage)  # KeyError names the id: start aborts
        if not callable(getattr(ext, "client", None)):
            raise ValueError(f"sending_queue.storage: {qcfg.storage} is not a storage extension")
        clients = {sig: ext.client("exporter", self.id, sig) for sig in sorted(self.signals)}
        return PersistentQueue(clients, qcfg.queue_size, self.log)

    def shutdown(self, deadline: float) -> None:
        """Memory queue: keep sending until empty or the deadline, then drop the rest (acked
        False, counted). Persistent queue: stop at once; what is stored is sent on next start.
        Either way retry waits end now (otelcol interrupts them at shutdown too)."""
        self._closing = True
        self.retry.hard_deadline = deadline
        self._stop.set()
        q = self._queue
        if q is not None:
            if q.persistent:
                q.close()
            for t in self._threads:
                t.join(max(0.0, deadline - time.monotonic()))
            if not q.persistent:
                q.close()
                leftover = q.take_all()
                for item in leftover:
                    self._dropped(item, "shutdown deadline reached before it could be sent", None)
                if leftover:
                    self.log.warning("Dropped %d queued request(s) at shutdown", len(leftover))
            else:
                q.close_clients()
            self._update_queue_gauge()
        try:
            self.transport.close()
        except Exception:
            self.log.exception("closing the transport failed")

    def _connect_loop(self) -> None:
        """Connects once at start, so a healthy idle agent reports `connected` (and the engine
        logs `Everything is ready`), and a broken gateway path is logged before data flows."""
        probe = getattr(self.transport, "probe", None)
        if probe is None:
            return
        delay = _PROBE_FIRST_WAIT
        while not self._stop.is_set() and not self._connected:
            try:
                probe(min(self.config.timeout or _PROBE_TIMEOUT, _PROBE_TIMEOUT))
            except SendError as e:
                if self._connected or self._stop.is_set():
                    return
                self._limiter.log(logging.WARNING, f"connect:{e.problem or 'error'}",
                                  "Failed to connect to the gateway, will try again. exporter=%s endpoint=%s error=%r",
                                  self.id, self.transport.label, e.message)
            except Exception:  # a probe bug must not end the exporter; sends still work
                self.log.exception("connection probe failed unexpectedly")
                return
            else:
                self._mark_connected()
                return
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, _PROBE_MAX_WAIT)

    # ---- intake ----------------------------------------------------------------------------

    def consume(self, payload: Payload) -> None:
        signal = payload.signal
        n = count_items(signal, payload.request)
        if self._closing:
            self.telemetry.exporter_enqueue_failed(signal, n)
            payload.ack(False)
            raise Refused(f"exporter {self.id} is shutting down")
        item = QueueItem(signal, n, payload.acks, request=payload.request)
        payload.acks = []  # the item owns them now; fired exactly once when it is settled
        q = self._queue
        if q is None:
            self._export_now(item)
            return
        settled = None
        if self.config.sending_queue.wait_for_result:
            # otelcol's wait_for_result: the sender learns the export's outcome, not just that
            # the request was queued. The item's acks fire once it is delivered or dropped.
            settled = _Settled()
            item.acks.append(settled)
        try:
            ok = q.put(item, block=self.config.sending_queue.block_on_overflow, stop=self._stop)
        except Exception as e:  # the storage failed to write: refuse, the sender may retry
            self.telemetry.exporter_enqueue_failed(signal, n)
            item.ack(False)
            self._limiter.log(logging.ERROR, "enqueue-storage", "Exporting failed. Could not store the request in the persistent queue: %s", e)
            raise Refused(f"exporter {self.id}: persistent queue write failed") from None
        if not ok:
            self.telemetry.exporter_enqueue_failed(signal, n)
            item.ack(False)
            self._limiter.log(logging.WARNING, "queue-full",
                              "Exporting failed. Rejecting data. sending queue is full (exporter=%s, queue_size=%d, rejected_items=%d)",
                              self.id, q.capacity, n)
            raise Refused("sending queue is full")
        self._update_queue_gauge()
        if settled is not None and not settled.wait():
            raise Refused(f"exporter {self.id}: the request was not exported")

    def _export_now(self, item: QueueItem) -> None:
        """sending_queue disabled: the caller's thread sends and learns the outcome (as otelcol)."""
        outcome = self._export(item)
        if outcome.status is Status.DELIVERED:
            return
        if outcome.error is not None and outcome.reason == "permanent error":
            raise PermanentError(outcome.error.message)
        raise Refused(f"export failed: {outcome.error.message if outcome.error else outcome.reason}")

    # ---- consumers -------------------------------------------------------------------------

    def _consume_loop(self) -> None:
        q = self._queue
        while True:
            if self._stop.is_set() and (q.persistent or q.size() == 0):
                return
            if self.retry.hard_deadline is not None and time.monotonic() >= self.retry.hard_deadline:
                return
            item = q.get(_GET_WAIT)
            if item is None:
                continue
            self._update_queue_gauge()
            try:
                self._export(item)
            except Exception:  # a bug must not kill the consumer thread
                self.log.exception("unexpected error while exporting")

    def _export(self, item: QueueItem) -> Outcome:
        signal = item.signal
        body = item.serialized()
        outcome = self.retry.run(lambda timeout: self.transport.send(signal, body, timeout),
                                 on_retry=self._on_retry)
        q = self._queue
        if outcome.status is Status.DELIVERED:
            self._delivered(item, outcome)
            if q is not None:
                q.done(item, remove=True)
        elif outcome.status is Status.INTERRUPTED and q is not None and q.persistent:
            # Still on disk: the next start sends it. Upstream learns it was not delivered now.
            item.ack(False)
            q.done(item, remove=False)
        else:
            self._dropped(item, outcome.reason, outcome.error)
            if q is not None:
                q.done(item, remove=True)
        self._update_queue_gauge()
        return outcome

    # ---- outcomes --------------------------------------------------------------------------

    def _delivered(self, item: QueueItem, outcome: Outcome) -> None:
        rejected = min(outcome.partial.rejected, item.items) if outcome.partial else 0
        self.telemetry.exporter_sent(item.signal, item.items - rejected)
        if outcome.partial is not None:
            if rejected:
                self.telemetry.exporter_send_failed(item.signal, rejected)
            # Not retried (OTLP spec): the gateway told us it will never take those items.
            self._limiter.log(logging.WARNING, "partial-success",
                              "Partial success response (exporter=%s, endpoint=%s, signal=%s): %s, dropped_items=%d",
                              self.id, self.transport.label, item.signal, outcome.partial.message, rejected)
        self._mark_connected()
        item.ack(True)

    def _dropped(self, item: QueueItem, reason: str, error: SendError | None) -> None:
        self.telemetry.exporter_send_failed(item.signal, item.items)
        text = error.message if error is not None else reason
        self._limiter.log(logging.ERROR, f"drop:{reason}",
                          "Exporting failed. Dropping data. exporter=%s endpoint=%s error=%r reason=%r dropped_items=%d",
                          self.id, self.transport.label, text, reason, item.items)
        item.ack(False)  # last: whoever waits on the ack sees the log and the counters already

    def _on_retry(self, error: SendError, delay: float) -> None:
        with self._state_lock:
            self._failing = True
        kind = error.problem or "retryable"
        self._limiter.log(logging.WARNING, f"retry:{kind}",
                          "Exporting failed. Will retry the request after interval. exporter=%s endpoint=%s error=%r interval=%s",
                          self.id, self.transport.label, error.message, _interval(delay))

    def _mark_connected(self) -> None:
        with self._state_lock:
            first, recovered = not self._connected, self._failing
            self._connected, self._failing = True, False
        if first:
            self.log.info("Exporter connected to %s", self.transport.label)
            if self._host is not None:
                self._host.report_status(self.id, True, "connected")
        elif recovered:
            self.log.info("Exporter reconnected to %s", self.transport.label)
        if first or recovered:
            self._limiter.reset()

    def _update_queue_gauge(self) -> None:
        q = self._queue
        if q is not None:
            self.telemetry.set_queue(q.size(), q.capacity)


class _Settled:
    """An ack that remembers the outcome, for `wait_for_result`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.delivered = False

    def __call__(self, delivered: bool) -> None:
        self.delivered = delivered
        self._event.set()

    def wait(self) -> bool:
        # Shutdown drains or drops what is queued, which settles the item: no wait is endless.
        self._event.wait()
        return self.delivered


def check_auth(host, auth) -> None:
    """`auth: {authenticator: id}` as configauth: the id must name an authenticator extension.
    This collector ships none, so a configured authenticator stops the start with a clear
    error instead of sending unauthenticated requests."""
    if auth is None:
        return
    ext = host.get_extension(auth.authenticator) if hasattr(host, "get_extension") else None
    if ext is None or not callable(getattr(ext, "authenticate", None)):
        raise ValueError(f"auth.authenticator: {auth.authenticator} is not an authenticator extension "
                         "(this collector has no authenticator extensions)")


def _interval(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"
