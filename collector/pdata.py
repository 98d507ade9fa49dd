"""The OTLP request messages that flow through pipelines, and cheap operations on them.

Like the Go collector's pdata, the unit is the protobuf message itself: no per-record Python
objects. Merging and splitting move whole ResourceX messages where they can.
"""
from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

REQUEST_TYPES = {
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "traces": ExportTraceServiceRequest,
}

# Names of the repeated fields at each level, per signal.
_RESOURCE_FIELD = {"logs": "resource_logs", "metrics": "resource_metrics", "traces": "resource_spans"}
_SCOPE_FIELD = {"logs": "scope_logs", "metrics": "scope_metrics", "traces": "scope_spans"}
_ITEM_FIELD = {"logs": "log_records", "metrics": "metrics", "traces": "spans"}

# Items the collector counts for metrics are data points.
_POINT_FIELDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")

ITEM_NAMES = {"logs": "log_records", "metrics": "metric_points", "traces": "spans"}


def new_request(signal: str):
    return REQUEST_TYPES[signal]()


def resources(signal: str, request):
    return getattr(request, _RESOURCE_FIELD[signal])


def scopes(signal: str, resource):
    return getattr(resource, _SCOPE_FIELD[signal])


def items(signal: str, scope):
    return getattr(scope, _ITEM_FIELD[signal])


def _metric_points(metric) -> int:
    kind = metric.WhichOneof("data")
    if kind is None:
        return 0
    return len(getattr(metric, kind).data_points)


def count_items(signal: str, request) -> int:
    """Log records, data points or spans in a request (what otelcol's self-metrics count)."""
    n = 0
    sf, itf = _SCOPE_FIELD[signal], _ITEM_FIELD[signal]
    for rs in getattr(request, _RESOURCE_FIELD[signal]):
        for ss in getattr(rs, sf):
            if signal == "metrics":
                for m in ss.metrics:
                    n += _metric_points(m)
            else:
                n += len(getattr(ss, itf))
    return n


def merge_into(signal: str, dst, src) -> None:
    """Append src's resources to dst (moves whole ResourceX messages; no record rebuilding)."""
    getattr(dst, _RESOURCE_FIELD[signal]).extend(getattr(src, _RESOURCE_FIELD[signal]))


def split(signal: str, request, max_items: int) -> list:
    """Split a request into requests of at most max_items items each (batch send_batch_max_size).

    Resources and scopes are copied once per output request; items are moved in slices.
    Metrics are split at metric granularity (a metric's points stay together), as far as a
    single metric is not larger than max_items.
    """
    if max_items <= 0 or count_items(signal, request) <= max_items:
        return [request]
    rf, sf, itf = _RESOURCE_FIELD[signal], _SCOPE_FIELD[signal], _ITEM_FIELD[signal]
    out = []
    cur = new_request(signal)
    cur_n = 0

    def flush():
        nonlocal cur, cur_n
        if cur_n:
            out.append(cur)
        cur = new_request(signal)
        cur_n = 0

    for rs in getattr(request, rf):
        for ss in getattr(rs, sf):
            recs = getattr(ss, itf)
            i = 0
            while i < len(recs):
                room = max_items - cur_n
                if room <= 0:
                    flush()
                    room = max_items
                if signal == "metrics":
                    take, j = 0, i
                    while j < len(recs):
                        p = _metric_points(recs[j])
                        if take and take + p > room:
                            break
                        take += p
                        j += 1
                    chunk = recs[i:j]
                    i = j
                    count = take
                else:
                    chunk = recs[i:i + room]
                    i += len(chunk)
                    count = len(chunk)
                # Reuse the last resource/scope of cur when it is the same one we are slicing.
                dst_rs = getattr(cur, rf).add()
                dst_rs.resource.CopyFrom(rs.resource)
                dst_rs.schema_url = rs.schema_url
                dst_ss = getattr(dst_rs, sf).add()
                dst_ss.scope.CopyFrom(ss.scope)
                dst_ss.schema_url = ss.schema_url
                getattr(dst_ss, itf).extend(chunk)
                cur_n += count
                if cur_n >= max_items:
                    flush()
    flush()
    return out


# Attributes (repeated KeyValue) ----------------------------------------------------------------

def set_any_value(av, value) -> None:
    """Fill an AnyValue from a Python value (str, bool, int, float, bytes, list, dict)."""
    if isinstance(value, bool):
        av.bool_value = value
    elif isinstance(value, int):
        av.int_value = value
    elif isinstance(value, float):
        av.double_value = value
    elif isinstance(value, bytes):
        av.bytes_value = value
    elif isinstance(value, (list, tuple)):
        arr = av.array_value
        del arr.values[:]
        for v in value:
            set_any_value(arr.values.add(), v)
    elif isinstance(value, dict):
        kv = av.kvlist_value
        del kv.values[:]
        for k, v in value.items():
            item = kv.values.add(key=str(k))
            set_any_value(item.value, v)
    elif value is None:
        av.Clear()
    else:
        av.string_value = str(value)


def any_value_to_python(av):
    kind = av.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value_to_python(v) for v in av.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value_to_python(kv.value) for kv in av.kvlist_value.values}
    return getattr(av, kind)


def find_attr(attrs, key: str):
    for kv in attrs:
        if kv.key == key:
            return kv
    return None


def get_attr(attrs, key: str, default=None):
    kv = find_attr(attrs, key)
    return default if kv is None else any_value_to_python(kv.value)


def set_attr(attrs, key: str, value, overwrite: bool = True) -> bool:
    """Set key in a repeated KeyValue; returns whether it was written."""
    kv = find_attr(attrs, key)
    if kv is not None:
        if not overwrite:
            return False
    else:
        kv = attrs.add(key=key)
    set_any_value(kv.value, value)
    return True


def delete_attr(attrs, key: str) -> bool:
    for i, kv in enumerate(attrs):
        if kv.key == key:
            del attrs[i]
            return True
    return False


def attrs_to_dict(attrs) -> dict:
    return {kv.key: any_value_to_python(kv.value) for kv in attrs}
