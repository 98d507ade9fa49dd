"""Config blocks every queued exporter shares, with the keys and defaults of otelcol's
exporterhelper (`retry_on_failure`, `sending_queue`, `timeout`)."""
from __future__ import annotations

from dataclasses import dataclass

from collector.config import ConfigError, Duration

SIZERS = ("requests", "items", "bytes")


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
        # configretry.BackOffConfig.Validate, check for check.
        if not self.enabled:
            return
        if self.initial_interval < 0:
            raise ConfigError("initial_interval", "must not be negative")
        if not 0 <= self.randomization_factor <= 1:
            raise ConfigError("randomization_factor", "must be between 0 and 1")
        if self.multiplier < 0:
            raise ConfigError("multiplier", "must not be negative")
        if self.max_interval < 0:
            raise ConfigError("max_interval", "must not be negative")
        if self.max_elapsed_time < 0:
            raise ConfigError("max_elapsed_time", "must not be negative (0 retries forever)")
        if self.max_elapsed_time > 0:
            if self.max_elapsed_time < self.initial_interval:
                raise ConfigError("max_elapsed_time", "must not be less than initial_interval")
            if self.max_elapsed_time < self.max_interval:
                raise ConfigError("max_elapsed_time", "must not be less than max_interval")


@dataclass
class QueueBatchConfig:
    """`sending_queue.batch` (exporterhelper.BatchConfig). Accepted and validated as otelcol does,
    but requests are not merged in the exporter: put a `batch` processor in the pipeline for that.
    The exporter logs this at start, so the setting is never silently without effect."""

    flush_timeout: Duration = 0.2
    min_size: int = 8192
    max_size: int = 0
    sizer: str | None = None             # None: the queue's sizer (or "items")

    def validate(self) -> None:
        if self.sizer is not None and self.sizer not in ("items", "bytes"):
            raise ConfigError("sizer", f"batch supports only 'items' or 'bytes' sizer, got {self.sizer!r}")
        if self.flush_timeout <= 0:
            raise ConfigError("flush_timeout", "must be positive")
        if self.min_size < 0:
            raise ConfigError("min_size", "must not be negative")
        if self.max_size < 0:
            raise ConfigError("max_size", "must not be negative")
        if self.max_size and self.max_size < self.min_size:
            raise ConfigError("max_size", "must be greater or equal to min_size")


@dataclass
class QueueConfig:
    """`sending_queue`: a bounded queue of requests drained by `num_consumers` threads."""

    enabled: bool = True
    num_consumers: int = 10
    queue_size: int = 1000               # in units of `sizer`
    block_on_overflow: bool = False      # False: a full queue refuses at once
    storage: str | None = None           # "file_storage/x": persist requests on disk
    wait_for_result: bool = False        # the sender waits until its request was exported
    sizer: str = "requests"              # what queue_size counts: requests | items | bytes
    batch: QueueBatchConfig | None = None

    def validate(self) -> None:
        if self.sizer not in SIZERS:
            raise ConfigError("sizer", f"must be one of {', '.join(SIZERS)}, got {self.sizer!r}")
        if self.batch is not None and self.batch.sizer is None:
            # As otelcol: the batch counts what the queue counts, unless told otherwise; the
            # default queue sizer (requests) is not one a batch can use, so it counts items.
            self.batch.sizer = self.sizer if self.sizer != "requests" else "items"
        if not self.enabled:
            return
        if self.num_consumers <= 0:
            raise ConfigError("num_consumers", "must be positive")
        if self.queue_size <= 0:
            raise ConfigError("queue_size", "must be positive")
        if self.storage is not None and not str(self.storage).strip():
            raise ConfigError("storage", "must name a storage extension like file_storage/x")
        if self.storage is not None and self.wait_for_result:
            raise ConfigError("wait_for_result", "is not supported with a persistent queue configured with storage")
        if self.storage is not None and self.sizer != "requests":
            # The persistent queue counts stored requests only (otelcol's rule until v0.125).
            raise ConfigError("sizer", "a persistent queue configured with storage only supports the 'requests' sizer")
        if self.batch is not None and self.batch.sizer == self.sizer and self.batch.min_size > self.queue_size:
            raise ConfigError("batch.min_size", "must be less than or equal to queue_size")


def validate_timeout(timeout: float) -> None:
    if timeout < 0:
        raise ConfigError("timeout", "must not be negative")


@dataclass
class AuthConfig:
    """`auth` (configauth): the id of an authenticator extension, checked when the exporter starts."""

    authenticator: str = ""

    def validate(self) -> None:
        if not str(self.authenticator).strip():
            raise ConfigError("authenticator", "must name an authenticator extension")
