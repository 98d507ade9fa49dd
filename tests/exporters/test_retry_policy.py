"""The retry loop and backoff without a network: delays, budget, throttling, interruption."""
from __future__ import annotations

import threading
import time

import pytest

from collector.exporters.exporterhelper.backoff import ExponentialBackoff
from collector.exporters.exporterhelper.config import BackOffConfig
from collector.exporters.exporterhelper.log_limiter import LogLimiter
from collector.exporters.exporterhelper.retry import RetryPolicy, Status
from collector.exporters.exporterhelper.send_errors import (PartialSuccess, PermanentSendError,
                                                            RetryableSendError)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingStop(threading.Event):
    """A stop event whose waits advance a fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout=None) -> bool:
        if self.is_set():
            return True
        self.waits.append(timeout)
        self.clock.now += timeout
        return False


def test_backoff_grows_by_multiplier_up_to_max_interval():
    b = ExponentialBackoff(5, 0, 1.5, 30, 0)
    assert [round(b.next_delay(), 3) for _ in range(7)] == [5, 7.5, 11.25, 16.875, 25.312, 30, 30]


def test_backoff_jitter_stays_within_the_randomization_factor():
    for r, expected in ((0.0, 2.5), (0.5, 5.0), (0.999999, 7.5)):
        b = ExponentialBackoff(5, 0.5, 1.5, 30, 0, rand=lambda r=r: r)
        assert b.next_delay() == pytest.approx(expected, abs=1e-4)


def test_backoff_stops_once_the_elapsed_budget_would_be_passed():
    clock = FakeClock()
    b = ExponentialBackoff(1, 0, 2, 100, 10, clock=clock)
    assert b.next_delay() == 1
    clock.now += 1
    assert b.next_delay() == 2
    clock.now += 2
    assert b.next_delay() == 4
    clock.now += 4
    assert b.next_delay() == ExponentialBackoff.STOP  # 7 elapsed + 8 > 10


def _policy(clock, **cfg):
    stop = RecordingStop(clock)
    defaults = dict(initial_interval=1.0, randomization_factor=0.0, multiplier=2.0,
                    max_interval=10.0, max_elapsed_time=60.0)
    defaults.update(cfg)
    return RetryPolicy(BackOffConfig(**defaults), timeout=5.0, stop=stop, clock=clock), stop


def _failing(n, error_factory, then=None):
    calls = []

    def attempt(timeout):
        calls.append(timeout)
        if len(calls) <= n:
            raise error_factory()
        return then

    return attempt, calls


def test_retryable_errors_are_retried_with_growing_waits():
    clock = FakeClock()
    policy, stop = _policy(clock)
    attempt, calls = _failing(3, lambda: RetryableSendError("unavailable"))
    out = policy.run(attempt)
    assert out.status is Status.DELIVERED and out.attempts == 4
    assert stop.waits == [1.0, 2.0, 4.0]
    assert calls == [5.0] * 4  # the per-attempt timeout


def test_throttle_delay_replaces_a_shorter_backoff_only():
    clock = FakeClock()
    policy, stop = _policy(clock)
    attempt, _ = _failing(2, lambda: RetryableSendError("slow down", throttle=3.0))
    assert policy.run(attempt).status is Status.DELIVERED
    assert stop.waits == [3.0, 3.0]
    policy, stop = _policy(clock, initial_interval=8.0)
    attempt, _ = _failing(1, lambda: RetryableSendError("slow down", throttle=3.0))
    policy.run(attempt)
    assert stop.waits == [8.0]


def test_throttle_beyond_the_budget_gives_up():
    clock = FakeClock()
    policy, stop = _policy(clock, max_elapsed_time=10.0)
    attempt, calls = _failing(5, lambda: RetryableSendError("later", throttle=60.0))
    out = policy.run(attempt)
    assert out.status is Status.DROPPED and out.reason == "no more retries left"
    assert len(calls) == 1 and stop.waits == []


def test_zero_max_elapsed_time_retries_forever():
    clock = FakeClock()
    policy, stop = _policy(clock, max_elapsed_time=0.0, max_interval=30.0)
    attempt, calls = _failing(200, lambda: RetryableSendError("down"))
    assert policy.run(attempt).status is Status.DELIVERED
    assert len(calls) == 201 and clock.now - 1000 > 3600


def test_permanent_error_is_never_retried():
    clock = FakeClock()
    policy, stop = _policy(clock)
    attempt, calls = _failing(5, lambda: PermanentSendError("bad request"))
    out = policy.run(attempt)
    assert out.status is Status.DROPPED and out.reason == "permanent error"
    assert len(calls) == 1 and stop.waits == []


def test_transport_bug_drops_the_request_without_raising():
    clock = FakeClock()
    policy, _ = _policy(clock)
    attempt, calls = _failing(5, lambda: KeyError("oops"))
    out = policy.run(attempt)
    assert out.status is Status.DROPPED and out.reason == "internal error"


def test_partial_success_is_a_delivery():
    clock = FakeClock()
    policy, _ = _policy(clock)
    out = policy.run(lambda timeout: PartialSuccess(2, "too old"))
    assert out.status is Status.DELIVERED and out.partial.rejected == 2


def test_stop_interrupts_a_real_wait_promptly():
    stop = threading.Event()
    policy = RetryPolicy(BackOffConfig(initial_interval=30.0), timeout=1.0, stop=stop)

    def attempt(timeout):
        raise RetryableSendError("down")

    threading.Timer(0.2, stop.set).start()
    start = time.monotonic()
    out = policy.run(attempt)
    assert out.status is Status.INTERRUPTED
    assert time.monotonic() - start < 2


def test_attempt_timeout_is_cut_by_the_shutdown_deadline():
    clock = FakeClock()
    policy, _ = _policy(clock)
    policy.hard_deadline = clock.now + 0.5
    assert policy.attempt_timeout() == 0.5
    policy.hard_deadline = clock.now - 1
    out = policy.run(lambda timeout: None)
    assert out.status is Status.INTERRUPTED and out.attempts == 0


def test_log_limiter_logs_first_then_summarizes(caplog):
    import logging

    clock = FakeClock()
    limiter = LogLimiter(logging.getLogger("test.limiter"), interval=30, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.limiter"):
        assert limiter.log(logging.WARNING, "refused", "gateway %s refused", "a") is True
        for _ in range(5):
            assert limiter.log(logging.WARNING, "refused", "gateway %s refused", "a") is False
        assert limiter.log(logging.WARNING, "other", "another kind") is True
        clock.now += 31
        assert limiter.log(logging.WARNING, "refused", "gateway %s refused", "a") is True
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["gateway a refused", "another kind",
                        "gateway a refused (5 similar messages suppressed)"]
