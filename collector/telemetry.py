"""Self-telemetry: Prometheus metrics with otelcol's names, and structured logging.

Each Service has its own prometheus_client registry so several services (tests) can live in one
process. Components get a ComponentTelemetry bound to their id.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .pdata import ITEM_NAMES

# otelcol exposes no `_created` series; prometheus_client adds one per counter unless told not to.
disable_created_metrics()


class _Bound:
    """A metric family with the component label filled in."""

    __slots__ = ("_family", "_fixed", "_plain")

    def __init__(self, family, fixed: dict) -> None:
        self._family = family
        self._fixed = fixed
        self._plain = None

    def labels(self, **labels):
        return self._family.labels(**self._fixed, **{k: str(v) for k, v in labels.items()})

    def _child(self):
        if self._plain is None:
            self._plain = self._family.labels(**self._fixed)
        return self._plain

    def inc(self, amount: float = 1) -> None:
        self._child().inc(amount)

    def set(self, value: float) -> None:
        self._child().set(value)

    def dec(self, amount: float = 1) -> None:
        self._child().dec(amount)

    def observe(self, value: float) -> None:
        self._child().observe(value)


class Telemetry:
    """One service's metric registry; families are created once and shared by components."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._families: dict[str, object] = {}
        self._lock = threading.Lock()
        self.started = time.time()
        self.registry.register(_ProcessCollector(self.started))

    def family(self, cls, name: str, description: str, labelnames: tuple, **kw):
        with self._lock:
            fam = self._families.get(name)
            if fam is None:
                fam = cls(name, description, labelnames=labelnames, registry=self.registry, **kw)
                self._families[name] = fam
            elif tuple(fam._labelnames) != tuple(labelnames):
                raise ValueError(f"metric {name} declared with labels {fam._labelnames} and {labelnames}")
            return fam

    def component(self, kind: str, component_id: str) -> "ComponentTelemetry":
        return ComponentTelemetry(self, kind, component_id)

    def value(self, name: str, labels: dict | None = None) -> float:
        """Sample value by name (tests, health): 0.0 when absent."""
        v = self.registry.get_sample_value(name, labels or {})
        return v or 0.0


class ComponentTelemetry:
    def __init__(self, telemetry: Telemetry, kind: str, component_id: str) -> None:
        self.telemetry = telemetry
        self.kind = kind
        self.id = component_id
        self._fixed = {kind: component_id}

    # Component-specific families -------------------------------------------------------------
    def counter(self, name: str, description: str, labelnames=()):
        fam = self.telemetry.family(Counter, name, description, (self.kind, *labelnames))
        return _Bound(fam, self._fixed)

    def gauge(self, name: str, description: str, labelnames=()):
        fam = self.telemetry.family(Gauge, name, description, (self.kind, *labelnames))
        return _Bound(fam, self._fixed)

    def histogram(self, name: str, description: str, labelnames=(), buckets=None):
        kw = {"buckets": buckets} if buckets else {}
        fam = self.telemetry.family(Histogram, name, description, (self.kind, *labelnames), **kw)
        return _Bound(fam, self._fixed)

    # otelcol's standard families ---------------------------------------------------------------
    def _item_counter(self, verb: str, signal: str, extra=()):
        item = ITEM_NAMES[signal]
        return self.counter(f"otelcol_{self.kind}_{verb}_{item}",
                            f"Number of {item.replace('_', ' ')} {verb.replace('_', ' ')}.", extra)

    def receiver_accepted(self, signal: str, n: int, transport: str = "") -> None:
        if n:
            self._item_counter("accepted", signal, ("transport",)).labels(transport=transport).inc(n)

    def receiver_refused(self, signal: str, n: int, transport: str = "") -> None:
        if n:
            self._item_counter("refused", signal, ("transport",)).labels(transport=transport).inc(n)

    def exporter_sent(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("sent", signal).inc(n)

    def exporter_send_failed(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("send_failed", signal).inc(n)

    def exporter_enqueue_failed(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("enqueue_failed", signal).inc(n)

    def processor_refused(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("refused", signal).inc(n)

    def set_queue(self, size: int, capacity: int) -> None:
        self.gauge(f"otelcol_{self.kind}_queue_size", "Current size of the retry queue (in batches).").set(size)
        self.gauge(f"otelcol_{self.kind}_queue_capacity", "Fixed capacity of the retry queue (in batches).").set(capacity)

    def dropped(self, signal: str, n: int, reason: str) -> None:
        if n:
            fam = self.telemetry.family(Counter, "skuber_dropped_items", "Items dropped for good, by component and reason.",
                                        ("component", "signal", "reason"))
            fam.labels(component=f"{self.kind}/{self.id}", signal=signal, reason=reason).inc(n)


class _ProcessCollector:
    """otelcol_process_* gauges, read at scrape time."""

    def __init__(self, started: float) -> None:
        self.started = started

    def collect(self):
        import psutil
        p = psutil.Process()
        with p.oneshot():
            cpu = p.cpu_times()
            rss = p.memory_info().rss
        yield GaugeMetricFamily("otelcol_process_uptime", "Uptime of the process (seconds).", time.time() - self.started)
        yield GaugeMetricFamily("otelcol_process_memory_rss", "Total physical memory (resident set size) in bytes.", rss)
        yield CounterMetricFamily("otelcol_process_cpu_seconds", "Total CPU user and system time in seconds.", cpu.user + cpu.system)


# Logging ------------------------------------------------------------------------------------------

_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")}


class ConsoleFormatter(logging.Formatter):
    """Like the collector's zap console encoder: time, level, logger, message, then JSON fields."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        line = f"{ts}\t{record.levelname.lower()}\t{record.name}\t{record.getMessage()}"
        fields = _fields(record)
        if fields:
            line += "\t" + json.dumps(fields, default=str, sort_keys=True)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": record.created, "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage(), **_fields(record)}
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "info", encoding: str = "console", stream=None) -> None:
    level = os.environ.get("SKUBER_LOG_LEVEL", level).upper()
    level = {"WARN": "WARNING"}.get(level, level)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if encoding == "json" else ConsoleFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries are chatty at INFO; keep our logs quiet when healthy.
    for noisy in ("urllib3", "kubernetes", "grpc", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
