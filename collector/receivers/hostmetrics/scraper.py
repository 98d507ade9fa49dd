"""The base every host metrics scraper shares: config, root, metrics builder, start time.

A scraper's `scrape()` returns the ResourceMetrics it built plus partial error messages (one
mount or one process that could not be read); an exception means the whole scraper failed
this time. The receiver logs each distinct message once and counts every one.
"""
from __future__ import annotations

import abc
import logging

from opentelemetry.proto.metrics.v1.metrics_pb2 import ResourceMetrics

from .hostfs import HostFS
from .metric_builder import MetricsBuilder, resolve_enabled

NS = 1_000_000_000


def to_ns(seconds: float) -> int:
    return int(seconds * NS)


class Scraper(abc.ABC):
    name = ""
    # System counters start at boot; process counters override per resource.
    start_at_boot = True

    def __init__(self, config, fs: HostFS, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.fs = fs
        self.log = logger or logging.getLogger(f"collector.receiver.hostmetrics.{self.name}")
        self.mb = MetricsBuilder(self.name, resolve_enabled(self.name, config.metric_overrides()))
        self._boot_ns: int | None = None

    def boot_time_ns(self) -> int:
        """Read once and kept: a stable start time is what makes the counters cumulative."""
        if self._boot_ns is None:
            self._boot_ns = to_ns(self.fs.boot_time())
        return self._boot_ns

    def scrape(self) -> tuple[list[ResourceMetrics], list[str]]:
        if self.start_at_boot:
            self.mb.start_time_ns = self.boot_time_ns()
        errors: list[str] = []
        self.record(self.fs.now(), errors)
        return self.mb.emit(), errors

    @abc.abstractmethod
    def record(self, now: float, errors: list[str]) -> None:
        """Add this scraper's points for `now` to self.mb; append problems to errors."""
