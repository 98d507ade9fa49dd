"""Per-object rendered metrics, as kube-state-metrics caches them.

Each object is rendered once per change into OTLP protobuf bytes (one ResourceMetrics), kept
zlib-compressed (KSM series repeat their labels: ~4x smaller). That blob is all we keep of an
object: the informer caches it instead of the object (a Python dict of a pod weighs ~10 KB, its
blob ~1.5 KB). An emission concatenates blobs (protobuf repeated fields concatenate) in chunks
of objects, parsed in C: its cost is proportional to the bytes, the Python work to the changes.

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


def encode(rows: list[Row], ts_ns: int) -> bytes:
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
        for k, v in labels:
            kv = p.attributes.add()
            kv.key = k
            kv.value.string_value = v
    return req.SerializeToString()


def render(rows: list[Row], ts_ns: int) -> bytes:
    """The cached form of an object: its encoded rows, compressed."""
    return zlib.compress(encode(rows, ts_ns), 1)


def _points(req):
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in getattr(m, m.WhichOneof("data")).data_points:
                    yield m.name, p


def _point_key(name: str, p) -> tuple:
    return name, tuple((kv.key, kv.value.string_value) for kv in p.attributes)


def stale_markers(old_blob: bytes, new_blob: bytes | None = None) -> bytes | None:
    """The series of old_blob missing from new_blob (all of them without new_blob), flagged
    NO_RECORDED_VALUE, as request bytes; None when nothing disappeared."""
    old = ExportMetricsServiceRequest.FromString(zlib.decompress(old_blob))
    keep = set()
    if new_blob is not None:
        keep = {_point_key(n, p) for n, p in _points(ExportMetricsServiceRequest.FromString(zlib.decompress(new_blob)))}
    gone = 0
    for rm in old.resource_metrics:
        for sm in rm.scope_metrics:
            for m in list(sm.metrics):
                pts = getattr(m, m.WhichOneof("data")).data_points
                for i in reversed(range(len(pts))):
                    if _point_key(m.name, pts[i]) in keep:
                        del pts[i]
                    else:
                        pts[i].flags = _STALE
                        gone += 1
                if not len(pts):
                    sm.metrics.remove(m)
    return old.SerializeToString() if gone else None


class ObjectMetricsCache:
    def __init__(self):
        self._objects: dict[tuple, bytes] = {}
        self._stale: list[bytes] = []
        self._lock = threading.Lock()

    def put(self, key: tuple, blob: bytes, old_blob: bytes | None = None) -> None:
        stale = stale_markers(old_blob, blob) if old_blob is not None and old_blob != blob else None
        with self._lock:
            self._objects[key] = blob
            if stale:
                self._stale.append(stale)

    def remove(self, key: tuple, last_blob: bytes) -> None:
        stale = stale_markers(last_blob)
        with self._lock:
            if self._objects.pop(key, None) is not None and stale:
                self._stale.append(stale)

    def snapshot(self, objects_per_request: int = 200):
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
