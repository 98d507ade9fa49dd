"""Builds OTLP ResourceMetrics for one scraper, as mdatagen's generated MetricsBuilder does.

A scraper records data points by metric name; points of disabled metrics are dropped at
record time (cheaply, before any protobuf is built). `emit_for_resource` closes one resource
(the process scraper emits one per process); `emit` returns everything recorded since the last
call. Every point gets start and end timestamps, as the collector's generated code sets both.
"""
from __future__ import annotations

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (AGGREGATION_TEMPORALITY_CUMULATIVE,
                                                        ResourceMetrics)

from collector.pdata import set_any_value

from .metadata import METRICS, MetricDef, scope_name

SCOPE_VERSION = "0.1.0"


def resolve_enabled(scraper: str, overrides: dict[str, bool]) -> dict[str, bool]:
    """Default enablement per metadata.yaml, with the config's `metrics:` switches applied."""
    out = {name: d.enabled for name, d in METRICS[scraper].items()}
    for name, on in overrides.items():
        if name not in out:
            raise KeyError(name)
        out[name] = on
    return out


def key_values(attrs: dict) -> list[KeyValue]:
    out = []
    for k, v in attrs.items():
        kv = KeyValue(key=k)
        set_any_value(kv.value, v)
        out.append(kv)
    return out


class MetricsBuilder:
    def __init__(self, scraper: str, enabled: dict[str, bool], start_time_ns: int = 0,
                 version: str = SCOPE_VERSION) -> None:
        self.scraper = scraper
        self.defs: dict[str, MetricDef] = METRICS[scraper]
        self.on = {n for n, e in enabled.items() if e}
        self.start_time_ns = start_time_ns
        self.scope = InstrumentationScope(name=scope_name(scraper), version=version)
        self._points: dict[str, list[tuple[tuple, float | int, int]]] = {}
        self._done: list[ResourceMetrics] = []

    def enabled(self, name: str) -> bool:
        return name in self.on

    def any_enabled(self, *names: str) -> bool:
        return any(n in self.on for n in names)

    def record(self, name: str, now_ns: int, value, *attr_values) -> None:
        """attr_values are given in the metric's declared attribute order."""
        if name not in self.on:
            return
        d = self.defs[name]
        if len(attr_values) != len(d.attributes):
            raise ValueError(f"{name} takes attributes {d.attributes}, got {attr_values}")
        value = int(value) if d.value_type == "int" else float(value)
        self._points.setdefault(name, []).append((attr_values, value, now_ns))

    def emit_for_resource(self, resource_attrs: dict | None = None,
                          start_time_ns: int | None = None) -> None:
        """Close the points recorded so far into one ResourceMetrics (skipped when empty)."""
        if not self._points:
            return
        start = self.start_time_ns if start_time_ns is None else start_time_ns
        rm = ResourceMetrics()
        if resource_attrs:
            rm.resource.attributes.extend(key_values(resource_attrs))
        sm = rm.scope_metrics.add()
        sm.scope.CopyFrom(self.scope)
        # Metrics in metadata.yaml order, so output is stable across scrapes.
        for name, d in self.defs.items():
            points = self._points.get(name)
            if not points:
                continue
            m = sm.metrics.add(name=name, description=d.description, unit=d.unit)
            if d.kind == "sum":
                data = m.sum
                data.aggregation_temporality = AGGREGATION_TEMPORALITY_CUMULATIVE
                data.is_monotonic = d.monotonic
            else:
                data = m.gauge
            for attr_values, value, ts in points:
                dp = data.data_points.add(start_time_unix_nano=start, time_unix_nano=ts)
                if d.value_type == "int":
                    dp.as_int = value
                else:
                    dp.as_double = value
                for key, v in zip(d.attributes, attr_values):
                    kv = dp.attributes.add(key=key)
                    set_any_value(kv.value, v)
        self._points = {}
        self._done.append(rm)

    def discard(self) -> None:
        """Forget points recorded since the last emit_for_resource (a resource that vanished)."""
        self._points = {}

    def emit(self) -> list[ResourceMetrics]:
        self.emit_for_resource()
        out, self._done = self._done, []
        return out
