"""Cumulative counters and histograms per (resource, metric, attributes), exported as one OTLP
ExportMetricsServiceRequest per collection interval.

Why not the OpenTelemetry SDK: our series are keyed by a resource per discovered service (one
SDK MeterProvider each) and appear/disappear with processes; a flat dict with an explicit
cardinality cap is smaller and lets us count overflows. Overflowing series fold into one series
per resource with `otel.metric.overflow=true`, as the SDK's cardinality limit does (past twice
the limit, into one series without a resource).
"""
from __future__ import annotations

import bisect
import threading
from typing import Callable

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2

from collector.receivers.k8s_cluster.metric_builder import set_attrs

Attrs = tuple[tuple[str, object], ...]

CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
OVERFLOW: Attrs = (("otel.metric.overflow", True),)
SCOPE_NAME = "apm"

# OpenTelemetry semantic conventions: http.*.request.duration default buckets (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# Beyla's default body-size buckets (bytes).
SIZE_BUCKETS = (0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)


def attrs(**kw) -> Attrs:
    """Attribute tuple from keyword args; dotted names via **{"a.b": v}. Empty strings dropped."""
    return tuple(sorted((k, v) for k, v in kw.items() if v is not None and v != ""))


class _Sum:
    __slots__ = ("start", "value")

    def __init__(self, start: int) -> None:
        self.start = start
        self.value = 0.0


class _Hist:
    __slots__ = ("start", "counts", "sum", "count", "min", "max")

    def __init__(self, start: int, nbounds: int) -> None:
        self.start = start
        self.counts = [0] * (nbounds + 1)
        self.sum = 0.0
        self.count = 0
        self.min = float("inf")
        self.max = float("-inf")


class _Metric:
    def __init__(self, name: str, kind: str, unit: str, description: str,
                 bounds: tuple, monotonic: bool, limit: int) -> None:
        self.name, self.kind, self.unit, self.description = name, kind, unit, description
        self.bounds = bounds
        self.monotonic = monotonic
        self.limit = limit
        self.series: dict[tuple[Attrs, Attrs], object] = {}  # (resource, attrs) -> cell


class MetricStore:
    def __init__(self, clock: Callable[[], float], series_limit: int = 2000,
                 on_overflow: Callable[[str], None] | None = None) -> None:
        self._clock = clock
        self._limit = series_limit
        self._on_overflow = on_overflow or (lambda name: None)
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def define(self, name: str, kind: str, unit: str, description: str, bounds: tuple = (),
               monotonic: bool = True, series_limit: int | None = None) -> None:
        """kind: "sum" (cumulative counter), "histogram", "gauge" (replaced on every set)."""
        self._metrics[name] = _Metric(name, kind, unit, description, bounds, monotonic,
                                      series_limit or self._limit)

    def _cell(self, m: _Metric, resource: Attrs, a: Attrs):
        key = (resource, a)
        cell = m.series.get(key)
        if cell is not None:
            return cell
        if len(m.series) >= m.limit:
            self._on_overflow(m.name)
            key = (resource, OVERFLOW)
            cell = m.series.get(key)
            if cell is not None:
                return cell
            if len(m.series) >= 2 * m.limit:
                # Resources are processes, which come and go: past this, even their overflow
                # series fold into one without a resource, or the store would grow forever.
                key = ((), OVERFLOW)
                cell = m.series.get(key)
                if cell is not None:
                    return cell
        start = int(self._clock() * 1e9)
        cell = _Hist(start, len(m.bounds)) if m.kind == "histogram" else _Sum(start)
        m.series[key] = cell
        return cell

    def add(self, name: str, resource: Attrs, a: Attrs, value: float) -> None:
        m = self._metrics[name]
        with self._lock:
            self._cell(m, resource, a).value += value

    def set(self, name: str, resource: Attrs, a: Attrs, value: float) -> None:
        m = self._metrics[name]
        with self._lock:
            self._cell(m, resource, a).value = value

    def clear(self, name: str) -> None:
        """Gauges computed from current state are cleared before each recomputation."""
        with self._lock:
            self._metrics[name].series.clear()

    def record(self, name: str, resource: Attrs, a: Attrs, value: float) -> None:
        m = self._metrics[name]
        with self._lock:
            h = self._cell(m, resource, a)
            h.counts[bisect.bisect_left(m.bounds, value)] += 1
            h.sum += value
            h.count += 1
            h.min = min(h.min, value)
            h.max = max(h.max, value)

    def merge(self, name: str, resource: Attrs, a: Attrs, count: int, total: float,
              bucket_counts: list[int]) -> None:
        """Adds a histogram aggregated elsewhere (the kernel) with the same bounds."""
        m = self._metrics[name]
        if count <= 0 or len(bucket_counts) != len(m.bounds) + 1:
            return
        with self._lock:
            h = self._cell(m, resource, a)
            for i, c in enumerate(bucket_counts):
                h.counts[i] += c
            h.sum += total
            h.count += count
            # min/max of the aggregated values are unknown: bound them by their buckets
            lo = next(i for i, c in enumerate(bucket_counts) if c)
            hi = max(i for i, c in enumerate(bucket_counts) if c)
            h.min = min(h.min, m.bounds[lo - 1] if lo > 0 else 0.0)
            h.max = max(h.max, m.bounds[hi] if hi < len(m.bounds) else total)

    def series(self, name: str) -> dict:
        """Snapshot {(resource, attrs): value or (count, sum, bucket counts)} for tests and tools."""
        m = self._metrics[name]
        with self._lock:
            if m.kind == "histogram":
                return {k: (c.count, c.sum, list(c.counts)) for k, c in m.series.items()}
            return {k: c.value for k, c in m.series.items()}

    def export(self, resource_extra: Callable[[Attrs], Attrs] | None = None) -> ExportMetricsServiceRequest:
        """One request with a ResourceMetrics per distinct resource. resource_extra adds
        attributes common to all (k8s.cluster.name, host.name)."""
        now = int(self._clock() * 1e9)
        req = ExportMetricsServiceRequest()
        by_resource: dict[Attrs, dict[str, object]] = {}
        with self._lock:
            for m in self._metrics.values():
                for (res, a), cell in m.series.items():
                    metrics = by_resource.setdefault(res, {})
                    pb = metrics.get(m.name)
                    if pb is None:
                        pb = metrics_pb2.Metric(name=m.name, unit=m.unit, description=m.description)
                        if m.kind == "sum":
                            pb.sum.aggregation_temporality = CUMULATIVE
                            pb.sum.is_monotonic = m.monotonic
                        elif m.kind == "histogram":
                            pb.histogram.aggregation_temporality = CUMULATIVE
                        metrics[m.name] = pb
                    self._point(m, pb, a, cell, now)
        for res, metrics in by_resource.items():
            rm = req.resource_metrics.add()
            full = res + (resource_extra(res) if resource_extra else ())
            set_attrs(rm.resource.attributes, full)
            sm = rm.scope_metrics.add()
            sm.scope.name = SCOPE_NAME
            sm.metrics.extend(metrics.values())
        return req

    @staticmethod
    def _point(m: _Metric, pb, a: Attrs, cell, now: int) -> None:
        if m.kind == "histogram":
            dp = pb.histogram.data_points.add()
            dp.count = cell.count
            dp.sum = cell.sum
            dp.bucket_counts.extend(cell.counts)
            dp.explicit_bounds.extend(m.bounds)
            if cell.count:
                dp.min = cell.min
                dp.max = cell.max
        else:
            dp = (pb.sum if m.kind == "sum" else pb.gauge).data_points.add()
            v = cell.value
            if float(v).is_integer():
                dp.as_int = int(v)
            else:
                dp.as_double = float(v)
        if m.kind != "gauge":
            dp.start_time_unix_nano = cell.start
        dp.time_unix_nano = now
        set_attrs(dp.attributes, a)
