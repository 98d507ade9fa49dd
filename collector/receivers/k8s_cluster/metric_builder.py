"""Small helpers that append OTLP metric protobufs in place (no intermediate Python objects)."""
from __future__ import annotations

from opentelemetry.proto.metrics.v1 import metrics_pb2


def set_attrs(repeated, attrs) -> None:
    """Append attributes (a dict or (key, value) pairs); strings, bools, ints and floats keep
    their OTLP types. None is skipped."""
    for k, v in (attrs.items() if isinstance(attrs, dict) else attrs):
        if v is None:
            continue
        kv = repeated.add()
        kv.key = k
        if isinstance(v, bool):
            kv.value.bool_value = v
        elif isinstance(v, int):
            kv.value.int_value = v
        elif isinstance(v, float):
            kv.value.double_value = v
        else:
            kv.value.string_value = str(v)


def attrs_dict(repeated) -> dict:
    """KeyValue list -> {key: python value}; used by tests and converters."""
    out = {}
    for kv in repeated:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


def add_resource(request, attrs: dict, scope_name: str, scope_version: str = "",
                 schema_url: str = ""):
    """Append a ResourceMetrics with one ScopeMetrics; returns the ScopeMetrics to fill."""
    rm = request.resource_metrics.add()
    set_attrs(rm.resource.attributes, attrs)
    rm.schema_url = schema_url
    sm = rm.scope_metrics.add()
    sm.scope.name = scope_name
    sm.scope.version = scope_version
    return sm


def add_gauge(sm, name: str, description: str, unit: str, value, ts_ns: int,
              attrs: dict | None = None, as_double: bool = False) -> None:
    m = sm.metrics.add()
    m.name, m.description, m.unit = name, description, unit
    p = m.gauge.data_points.add()
    p.time_unix_nano = ts_ns
    if as_double:
        p.as_double = float(value)
    else:
        p.as_int = int(value)
    if attrs:
        set_attrs(p.attributes, attrs)


def new_metric(sm, name: str, description: str, unit: str, kind: str,
               monotonic: bool = False):
    """An empty metric of kind 'gauge' or 'sum' (cumulative) to which points are appended."""
    m = sm.metrics.add()
    m.name, m.description, m.unit = name, description, unit
    if kind == "sum":
        m.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
        m.sum.is_monotonic = monotonic
    else:
        m.gauge.SetInParent()
    return m


def points(metric):
    return getattr(metric, metric.WhichOneof("data")).data_points


__all__ = ["add_gauge", "add_resource", "attrs_dict", "new_metric", "points", "set_attrs"]
