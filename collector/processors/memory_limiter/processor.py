from __future__ import annotations

import gc
import threading
import time

from ... import pdata
from ...component import Component, Payload, Refused
from . import memory


class MemoryLimiter(Component):
    """Checks memory every check_interval; above the soft limit (limit - spike) it refuses data
    with a retryable error until usage falls back below it. Above the soft limit it also forces
    a garbage collection, as the Go one forces a GC.
    """

    def __init__(self, settings, config, signal: str, next_consumer, usage=memory.rss_bytes, available=None) -> None:
        self.settings = settings
        self.config = config
        self.signal = signal
        self.next = next_consumer
        self.log = settings.logger
        self.usage = usage
        self.hard, self.soft = memory.limits(config, available)
        self.refusing = False
        self._last_gc = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, host) -> None:
        self.log.info("Memory limiter configured", extra={"limit_mib": self.hard >> 20, "spike_limit_mib": (self.hard - self.soft) >> 20,
                                                           "check_interval": self.config.check_interval})
        self.check()
        self._thread = threading.Thread(target=self._loop, name=f"memory-limiter-{self.settings.id}", daemon=True)
        self._thread.start()

    def check(self) -> None:
        used = self.usage()
        if used >= self.soft:
            # A full collection is expensive: throttle it as the Go limiter throttles forced GCs.
            interval = (self.config.min_gc_interval_when_hard_limited if used >= self.hard
                        else self.config.min_gc_interval_when_soft_limited)
            now = time.monotonic()
            if now - self._last_gc >= interval:
                self._last_gc = now
                gc.collect()
                used = self.usage()
        above = used >= self.soft
        if above != self.refusing:
            self.refusing = above
            if above:
                self.log.warning("Memory usage is above soft limit. Refusing data.", extra={"cur_mem_mib": used >> 20, "soft_limit_mib": self.soft >> 20})
            else:
                self.log.info("Memory usage back within limits. Resuming normal operation.", extra={"cur_mem_mib": used >> 20})

    def _loop(self) -> None:
        while not self._stop.wait(self.config.check_interval):
            try:
                self.check()
            except Exception as e:  # a failed reading must not kill the checker
                self.log.warning("memory check failed: %s", e)

    def consume(self, payload: Payload) -> None:
        if self.refusing:
            self.settings.telemetry.processor_refused(self.signal, pdata.count_items(self.signal, payload.request))
            payload.ack(False)
            raise Refused("data refused due to high memory usage")
        self.next.consume(payload)

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(max(0.0, min(1.0, deadline - time.monotonic())))
