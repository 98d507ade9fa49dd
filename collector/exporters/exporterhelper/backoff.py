"""Exponential backoff with jitter, as cenkalti/backoff (used by otelcol's retry sender) does it.

Each wait is drawn uniformly from [interval * (1 - f), interval * (1 + f)]; the interval then
grows by `multiplier` up to `max_interval`. After `max_elapsed_time` (0 = never) it says stop.
"""
from __future__ import annotations

import random
import time
from typing import Callable


class ExponentialBackoff:
    STOP = -1.0

    def __init__(self, initial_interval: float, randomization_factor: float, multiplier: float,
                 max_interval: float, max_elapsed_time: float,
                 clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random) -> None:
        self.initial_interval = initial_interval
        self.randomization_factor = randomization_factor
        self.multiplier = multiplier
        self.max_interval = max_interval
        self.max_elapsed_time = max_elapsed_time
        self._clock = clock
        self._rand = rand
        self._interval = initial_interval
        self._start = clock()

    @classmethod
    def from_config(cls, cfg, clock: Callable[[], float] = time.monotonic) -> "ExponentialBackoff":
        return cls(cfg.initial_interval, cfg.randomization_factor, cfg.multiplier,
                   cfg.max_interval, cfg.max_elapsed_time, clock=clock)

    def elapsed(self) -> float:
        return self._clock() - self._start

    def next_delay(self) -> float:
        """The next wait in seconds, or STOP once the elapsed budget would be exceeded."""
        delta = self.randomization_factor * self._interval
        low, high = self._interval - delta, self._interval + delta
        delay = low + self._rand() * (high - low)
        self._interval = min(self._interval * self.multiplier, self.max_interval)
        if self.max_elapsed_time > 0 and self.elapsed() + delay > self.max_elapsed_time:
            return self.STOP
        return delay
