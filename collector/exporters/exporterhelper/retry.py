"""The retry loop of one request: attempt, classify, back off, give up; shutdown interrupts it.

It follows otelcol's retry sender: a throttle delay from the server (gRPC RetryInfo, HTTP
Retry-After) replaces the backoff delay when longer; a wait that would pass max_elapsed_time
ends the retries; a permanent error ends them at once.
"""
from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .backoff import ExponentialBackoff
from .send_errors import PartialSuccess, RetryableSendError, SendError


class Status(enum.Enum):
    DELIVERED = "delivered"      # the gateway accepted it (maybe partially)
    DROPPED = "dropped"          # permanent error or retries exhausted: gone for good
    INTERRUPTED = "interrupted"  # shutdown came first: the caller decides (persistent queues keep it)


@dataclass
class Outcome:
    status: Status
    partial: PartialSuccess | None = None
    error: SendError | None = None
    reason: str = ""
    attempts: int = 0


# attempt(timeout_seconds) -> PartialSuccess | None; raises SendError subclasses.
Attempt = Callable[[float], "PartialSuccess | None"]
# on_retry(error, delay_seconds): told before each wait (the exporter logs, rate-limited).
OnRetry = Callable[[SendError, float], None]


class RetryPolicy:
    """Shared by an exporter's consumer threads; `stop` is set at shutdown to end every wait."""

    def __init__(self, backoff_cfg, timeout: float, stop: threading.Event,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = backoff_cfg
        self.timeout = timeout
        self.stop = stop
        self.clock = clock
        # Set at shutdown: no attempt may run past it.
        self.hard_deadline: float | None = None

    def attempt_timeout(self) -> float | None:
        """Per-attempt timeout: the configured one, cut short by the shutdown deadline.

        None means no room is left before the deadline."""
        t = self.timeout if self.timeout > 0 else None
        if self.hard_deadline is not None:
            left = self.hard_deadline - self.clock()
            if left <= 0:
                return None
            t = left if t is None else min(t, left)
        return t if t is not None else 3600.0

    def run(self, attempt: Attempt, on_retry: OnRetry | None = None) -> Outcome:
        backoff = ExponentialBackoff.from_config(self.cfg, clock=self.clock)
        attempts = 0
        while True:
            timeout = self.attempt_timeout()
            if timeout is None:
                return Outcome(Status.INTERRUPTED, reason="shutdown deadline reached", attempts=attempts)
            attempts += 1
            try:
                return Outcome(Status.DELIVERED, partial=attempt(timeout), attempts=attempts)
            except RetryableSendError as e:
                error = e
            except SendError as e:  # permanent, or of no known kind: never retried
                return Outcome(Status.DROPPED, error=e, reason="permanent error", attempts=attempts)
            except Exception as e:  # a transport bug: drop this request, keep the consumer alive
                return Outcome(Status.DROPPED, error=SendError(f"unexpected error: {e!r}"),
                               reason="internal error", attempts=attempts)
            stop = self._wait_after(error, backoff, on_retry)
            if stop is not None:
                return Outcome(stop[0], error=error, reason=stop[1], attempts=attempts)

    def _wait_after(self, error: RetryableSendError, backoff: ExponentialBackoff,
                    on_retry: OnRetry | None) -> tuple[Status, str] | None:
        """Waits before the next attempt; returns (status, reason) when there is none."""
        if not self.cfg.enabled:
            return Status.DROPPED, "retry is disabled"
        if self.stop.is_set():
            return Status.INTERRUPTED, "interrupted due to shutdown"
        delay = backoff.next_delay()
        if delay == ExponentialBackoff.STOP:
            return Status.DROPPED, "no more retries left"
        if error.throttle is not None:
            delay = max(delay, error.throttle)
            # A throttle that outlives the budget is a give-up too.
            if self.cfg.max_elapsed_time > 0 and backoff.elapsed() + delay > self.cfg.max_elapsed_time:
                return Status.DROPPED, "no more retries left"
        if on_retry is not None:
            on_retry(error, delay)
        if self.stop.wait(delay):
            return Status.INTERRUPTED, "interrupted due to shutdown"
        return None
