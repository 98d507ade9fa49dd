"""Per-object rendered metrics, as kube-state-metrics caches them: each object's rows are encoded
once into OTLP protobuf bytes when the object changes, and kept zlib-compressed (KSM series
repeat their labels: ~5x smaller). An emission concatenates cached bytes (protobuf repeated
fields concatenate) in chunks of objects, parsed in C: its cost is proportional to the bytes,
and the Python work to the changes.

Series that disappear (deleted objects, a label value that changed) are sent once more flagged
NO_RECORDED_VALUE, OTLP's staleness marker, so the prometheus exporter drops them at once.
"""
from __future__ import annotations

import threading
import zlib

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2

from .families import FAMILIES, Row

_CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
_STALE = metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK


def encode(rows: list[Row], ts_ns: int, stale: bool = False) -> bytes:
    """One ResourceMetrics (empty resource, unnamed scope: KSM series carry no target labels)
    holding the rows grouped by family, as serialized ExportMetricsServiceRequest bytes."""
    req = ExportMetricsServiceRequest()
    sm = req.resource_metrics.add().scope_metrics.add()
    metrics: dict[str, object] = {}
    for fam, labels, value in rows:
        m = metrics.get(fam)
        if m is None:
            help_, type_ = FAMILIES[fam]
            m = metrics[fam] = sm.metrics.add(name=fam, description=help_)
            if type_ == "counter":
                m.sum.aggregation_temporality = _CUMULATIVE
                m.sum.is_monotonic = True
            else:
                m.gauge.SetInParent()
        points = m.sum.data_points if m.HasField("sum") else m.gauge.data_points
        p = points.add(time_unix_nano=ts_ns, as_double=value)
        if stale:
            p.flags = _STALE
        for k, v in labels:
            kv = p.attributes.add()
            kv.key = k
            kv.value.string_value = v
    return req.SerializeToString()


def _keys(rows: list[Row]) -> dict:
    return {(r.family, r.labels): r for r in rows}


class ObjectMetricsCache:
    def __init__(self, clock_ns):
        self._clock_ns = clock_ns
        self._objects: dict[tuple, bytes] = {}
        self._stale: list[bytes] = []
        self._lock = threading.Lock()
        self.renders = 0  # objects encoded (tests and the benchmark check proportionality)

    def put(self, key: tuple, rows: list[Row], old_rows: list[Row] | None = None) -> None:
        now = self._clock_ns()
        data = zlib.compress(encode(rows, now), 1)
        gone = []
        if old_rows:
            new_keys = _keys(rows)
            gone = [r for k, r in _keys(old_rows).items() if k not in new_keys]
        stale = encode(gone, now, stale=True) if gone else None
        with self._lock:
            self._objects[key] = data
            if stale:
                self._stale.append(stale)
            self.renders += 1

    def remove(self, key: tuple, last_rows: list[Row]) -> None:
        stale = encode(last_rows, self._clock_ns(), stale=True) if last_rows else None
        with self._lock:
            if self._objects.pop(key, None) is not None and stale:
                self._stale.append(stale)

    def snapshot(self, objects_per_request: int = 500):
        """Yields requests holding the staleness markers gathered since last time, then every
        object's current series, at most objects_per_request objects each (bounded memory)."""
        with self._lock:
            stale = self._stale
            self._stale = []
            blobs = list(self._objects.values())
        for i in range(0, len(stale), objects_per_request):
            yield ExportMetricsServiceRequest.FromString(b"".join(stale[i:i + objects_per_request]))
        for i in range(0, len(blobs), objects_per_request):
            yield ExportMetricsServiceRequest.FromString(
                b"".join(zlib.decompress(b) for b in blobs[i:i + objects_per_request]))

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def size_bytes(self) -> int:
        with self._lock:
            return sum(len(b) for b in self._objects.values())
