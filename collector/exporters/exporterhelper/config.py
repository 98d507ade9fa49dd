"""Config blocks every queued exporter shares, with the keys and defaults of otelcol's
exporterhelper (`retry_on_failure`, `sending_queue`, `timeout`)."""
from __future__ import annotations

from dataclasses import dataclass

from collector.config import ConfigError, Duration


@dataclass
class BackOffConfig:
    """`retry_on_failure`: exponential backoff with jitter (configretry.BackOffConfig)."""

    enabled: bool = True
    initial_interval: Duration = 5.0     # wait after the first failure
    randomization_factor: float = 0.5    # each wait is interval * [1 - f, 1 + f]
    multiplier: float = 1.5              # interval growth per attempt
    max_interval: Duration = 30.0        # upper bound of one wait
    max_elapsed_time: Duration = 300.0   # give up after this long; 0 = retry forever

    def validate(self) -> None:
        if not self.enabled:
            return
        if self.initial_interval < 0:
            raise ConfigError("initial_interval", "must not be negative")
        if not 0 <= self.randomization_factor <= 1:
            raise ConfigError("randomization_factor", "must be between 0 and 1")
        if self.multiplier < 1:
            raise ConfigError("multiplier", "must be at least 1")
        if self.max_interval < 0:
            raise ConfigError("max_interval", "must not be negative")
        if self.max_elapsed_time < 0:
            raise ConfigError("max_elapsed_time", "must not be negative (0 retries forever)")


@dataclass
class QueueConfig:
    """`sending_queue`: a bounded queue of requests drained by `num_consumers` threads."""

    enabled: bool = True
    num_consumers: int = 10
    queue_size: int = 1000               # requests (otelcol's default "requests" sizer)
    block_on_overflow: bool = False      # False: a full queue refuses at once
    storage: str | None = None           # "file_storage/x": persist requests on disk

    def validate(self) -> None:
        if not self.enabled:
            return
        if self.num_consumers <= 0:
            raise ConfigError("num_consumers", "must be positive")
        if self.queue_size <= 0:
            raise ConfigError("queue_size", "must be positive")
        if self.storage is not None and not str(self.storage).strip():
            raise ConfigError("storage", "must name a storage extension like file_storage/x")


def validate_timeout(timeout: float) -> None:
    if timeout < 0:
        raise ConfigError("timeout", "must not be negative")
