from __future__ import annotations

import threading
import time

from ... import pdata
from ...component import AckJoin, Component, Payload

_SIZE_BUCKETS = (10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000,
                 8000, 9000, 10000, 20000, 30000, 50000, 100000)


class BatchProcessor(Component):
    """Accumulates payloads and sends one merged request when send_batch_size items are pending
    or `timeout` passed since the first pending one.

    A size-triggered send runs in the caller's thread (back-pressure reaches the receiver, and
    pending memory stays bounded by send_batch_size); a time-triggered one in the timer thread.
    Errors from downstream are not returned to the caller, as in the Go collector: the data's
    acks already tell its receiver what happened.
    """

    def __init__(self, settings, config, signal: str, next_consumer) -> None:
        self.settings = settings
        self.config = config
        self.signal = signal
        self.next = next_consumer
        self.log = settings.logger
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # keeps batches in order
        self._pending: list[Payload] = []
        self._pending_items = 0
        self._first_at = 0.0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        t = settings.telemetry
        self._m_size = t.histogram("otelcol_processor_batch_batch_send_size", "Number of units in the batch", buckets=_SIZE_BUCKETS)
        self._m_timeout = t.counter("otelcol_processor_batch_timeout_trigger_send", "Number of times the batch was sent due to a timeout trigger")
        self._m_size_trigger = t.counter("otelcol_processor_batch_batch_size_trigger_send", "Number of times the batch was sent due to a size trigger")
        self._m_in = t.counter("otelcol_processor_incoming_items", "Number of items passed to the processor.", ("otel_signal",))
        self._m_out = t.counter("otelcol_processor_outgoing_items", "Number of items emitted from the processor.", ("otel_signal",))

    def start(self, host) -> None:
        if self.config.timeout > 0:
            self._thread = threading.Thread(target=self._timer, name=f"batch-{self.settings.id}", daemon=True)
            self._thread.start()

    def consume(self, payload: Payload) -> None:
        n = pdata.count_items(self.signal, payload.request)
        self._m_in.labels(otel_signal=self.signal).inc(n)
        ready = None
        with self._lock:
            if not self._pending:
                self._first_at = time.monotonic()
                self._wake.set()
            self._pending.append(payload)
            self._pending_items += n
            if self.config.send_batch_size and self._pending_items >= self.config.send_batch_size:
                ready = self._take()
        if ready:
            self._m_size_trigger.inc()
            self._send(ready, keep_remainder=True)

    def _take(self) -> list[Payload]:
        ready, self._pending, self._pending_items = self._pending, [], 0
        return ready

    def _timer(self) -> None:
        while not self._stopping:
            with self._lock:
                has = bool(self._pending)
                due = self._first_at + self.config.timeout
            if not has:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(min(delay, 0.5))
                continue
            with self._lock:
                ready = self._take() if self._pending and time.monotonic() >= self._first_at + self.config.timeout else None
            if ready:
                self._m_timeout.inc()
                self._send(ready)

    def _merge(self, payloads: list[Payload]) -> Payload:
        if len(payloads) == 1:
            return payloads[0]
        request = pdata.new_request(self.signal)
        acks = []
        addrs = {p.client_addr for p in payloads}
        for p in payloads:
            pdata.merge_into(self.signal, request, p.request)
            acks.extend(p.acks)
        return Payload(self.signal, request, acks, addrs.pop() if len(addrs) == 1 else None)

    def _send(self, payloads: list[Payload], keep_remainder: bool = False) -> None:
        """Send merged payloads. With keep_remainder (a size trigger), a last split part smaller
        than send_batch_size goes back to pending, as the Go batch processor does."""
        with self._send_lock:
            merged = self._merge(payloads)
            parts = pdata.split(self.signal, merged.request, self.config.send_batch_max_size)
            if len(parts) == 1:
                out = [merged]
            else:
                acks = AckJoin(len(parts), merged.acks).parts()
                out = [Payload(self.signal, r, [a], merged.client_addr) for r, a in zip(parts, acks)]
                last_n = pdata.count_items(self.signal, out[-1].request)
                if keep_remainder and last_n < self.config.send_batch_size:
                    rest = out.pop()
                    with self._lock:
                        if not self._pending:
                            self._first_at = time.monotonic()
                            self._wake.set()
                        self._pending.insert(0, rest)
                        self._pending_items += last_n
            for p in out:
                n = pdata.count_items(self.signal, p.request)
                self._m_size.observe(n)
                self._m_out.labels(otel_signal=self.signal).inc(n)
                try:
                    self.next.consume(p)
                except Exception as e:
                    p.ack(False)  # no-op when downstream already acked, per the contract
                    self.log.warning("batch could not be sent downstream: %s", e,
                                     extra={"items": n, "signal": self.signal})

    def shutdown(self, deadline: float) -> None:
        self._stopping = True
        self._wake.set()
        with self._lock:
            ready = self._take()
        if ready:
            self._send(ready)
        if self._thread:
            self._thread.join(max(0.0, min(1.0, deadline - time.monotonic())))
