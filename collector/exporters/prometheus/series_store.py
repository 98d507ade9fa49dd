"""The prometheus exporter's state: the latest value of every series with its rendered text line.

A scrape writes the cached lines family by family: its cost is a copy, proportional to the
series count, never a re-render; lines are rendered only when a value changes (what
kube-state-metrics does with its per-object cache).

Semantics follow the collector's accumulator: gauges and cumulative sums replace the value;
monotonic delta sums are added up; non-monotonic delta sums and delta histograms cannot be
turned into cumulative series and are dropped (counted); series not refreshed for
metric_expiration disappear. A point flagged NO_RECORDED_VALUE (OTLP's staleness marker) ends
its series at once.

Two economies keep large endpoints (kube-state-metrics of 10k pods: ~300k series) cheap:
- a ResourceMetrics byte-identical to one already applied (and without delta sums, which must
  accumulate) only refreshes its series' freshness: one hash instead of per-point work;
- series are indexed by the 64-bit hash of their label text rather than the text itself: two
  different series colliding is ~1e-9 likely at 300k series and would merge them.
"""
from __future__ import annotations

import threading
import time

from opentelemetry.proto.metrics.v1 import metrics_pb2

from .naming import clean_up, escape_help, escape_label_value, format_value, label_name, metric_name

_CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
_DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
_NO_RECORDED_VALUE = metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_RESOURCE_IDENTITY = ("service.name", "service.namespace", "service.instance.id")


class _Group:
    """The ResourceMetrics a series was last written by; its freshness is the series'.
    A group stops being a valid shortcut once any of its series was rewritten by other data
    (applying its bytes again would then not be a no-op)."""
    __slots__ = ("updated", "valid")

    def __init__(self, updated: float):
        self.updated = updated
        self.valid = True


class _Series:
    # No value slot: the rendered line says it, and 300k floats weigh 10 MB.
    __slots__ = ("text", "group")

    def __init__(self, text: str, group: _Group):
        self.text = text
        self.group = group


class _Family:
    __slots__ = ("name", "type", "help", "series", "totals")

    def __init__(self, name: str, type_: str, help_: str):
        self.name = name
        self.type = type_
        self.help = escape_help(help_)
        self.series: dict[int, _Series] = {}
        self.totals: dict[int, float] = {}  # running sums of delta counters only

    def header(self, openmetrics: bool) -> str:
        name = self.name
        if openmetrics and self.type == "counter" and name.endswith("_total"):
            name = name[:-6]  # OpenMetrics names the counter family without its _total sample suffix
        return f"# HELP {name} {self.help}\n# TYPE {name} {self.type}\n"


def _attr_value(v) -> str:
    which = v.WhichOneof("value")
    if which is None:
        return ""
    x = getattr(v, which)
    if which == "bool_value":
        return "true" if x else "false"
    if which == "bytes_value":
        return x.hex()
    return str(x)


def _labels_text(pairs: dict[str, str], extra: tuple | None = None) -> str:
    items = sorted(pairs.items())
    if extra:
        items.append(extra)
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in items) + "}"


def _has_delta(rm) -> bool:
    for sm in rm.scope_metrics:
        for m in sm.metrics:
            kind = m.WhichOneof("data")
            if kind in ("sum", "histogram", "exponential_histogram") and \
                    getattr(m, kind).aggregation_temporality == _DELTA:
                return True
    return False


class SeriesStore:
    def __init__(self, namespace: str = "", const_labels: dict | None = None,
                 send_timestamps: bool = False, metric_expiration: float = 300.0,
                 resource_to_telemetry: bool = False, add_suffixes: bool = True,
                 clock=time.monotonic):
        self.namespace = clean_up(namespace)  # "test-space" must not end up in a metric name
        self.const_labels = {label_name(k): v for k, v in (const_labels or {}).items()}
        self.send_timestamps = send_timestamps
        self.expiration = metric_expiration
        self.resource_to_telemetry = resource_to_telemetry
        self.add_suffixes = add_suffixes
        self.clock = clock
        self._families: dict[str, _Family] = {}
        self._groups: dict[int, _Group] = {}  # hash of an applied ResourceMetrics' bytes
        self._lock = threading.Lock()
        self._last_sweep = clock()
        self.series_count = 0
        self.renders = 0  # lines rendered (tests check that unchanged data renders nothing)

    # -- ingest ---------------------------------------------------------------------------
    def ingest(self, request) -> int:
        """Apply one ExportMetricsServiceRequest; returns the number of points dropped."""
        now = self.clock()
        dropped = 0
        with self._lock:
            self._expire_if_due(now)  # here too: an exporter nobody scrapes must not grow forever
            for rm in request.resource_metrics:
                digest = hash(rm.SerializeToString(deterministic=True))
                group = self._groups.get(digest)
                if group is not None and group.valid:
                    group.updated = now  # already applied as is: only fresher
                    continue
                group = _Group(now)
                if not _has_delta(rm):
                    self._groups[digest] = group
                base = self._resource_labels(rm.resource.attributes, group)
                for sm in rm.scope_metrics:
                    labels = dict(base)
                    if sm.scope.name:
                        # The collector labels every series with its scope; it writes them empty
                        # when unset, which Prometheus treats as absent, so we omit them then (a
                        # scope-less source such as kube_state_metrics keeps KSM's exact labels).
                        labels["otel_scope_name"] = sm.scope.name
                        labels["otel_scope_version"] = sm.scope.version
                        labels["otel_scope_schema_url"] = sm.schema_url
                        for kv in sm.scope.attributes:
                            labels["otel_scope_" + label_name(kv.key)] = _attr_value(kv.value)
                    for m in sm.metrics:
                        dropped += self._metric(m, labels, group)
        return dropped

    def _resource_labels(self, attributes, group: _Group) -> dict:
        attrs = {kv.key: _attr_value(kv.value) for kv in attributes}
        labels = dict(self.const_labels)
        name = attrs.get("service.name")
        if name:
            ns = attrs.get("service.namespace")
            labels["job"] = f"{ns}/{name}" if ns else name
        if attrs.get("service.instance.id"):
            labels["instance"] = attrs["service.instance.id"]
        if self.resource_to_telemetry:
            for k, v in attrs.items():
                labels.setdefault(label_name(k), v)
        if "job" in labels or "instance" in labels:
            # target_info carries the other resource attributes once, keyed by job/instance
            # (attributes that normalize to one label name are joined with ';', as upstream).
            info: dict[str, str] = {}
            for k, v in attrs.items():
                if k not in _RESOURCE_IDENTITY:
                    name = label_name(k)
                    info[name] = f"{info[name]};{v}" if name in info else v
            info.update({k: labels[k] for k in ("job", "instance") if k in labels})
            fam = self._family(self._prefixed("target_info"), "gauge", "Target metadata")
            if fam is not None:
                key = _labels_text(info)
                self._set(fam, key, f"{fam.name}{key} 1\n", group)
        return labels

    def _prefixed(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name

    def _family(self, name: str, type_: str, help_: str) -> _Family | None:
        fam = self._families.get(name)
        if fam is None:
            fam = self._families[name] = _Family(name, type_, help_)
        elif fam.type != type_:
            return None  # two metrics map to one name with different types: keep the first
        return fam

    def _metric(self, m, base: dict, group: _Group) -> int:
        kind = m.WhichOneof("data")
        if kind == "gauge":
            return self._numbers(m, m.gauge.data_points, "gauge", base, group, accumulate=False)
        if kind == "sum":
            s = m.sum
            if s.aggregation_temporality == _DELTA and not s.is_monotonic:
                return len(s.data_points)
            if not s.is_monotonic:  # exposed as a gauge; named as a sum (no _ratio suffix)
                return self._numbers(m, s.data_points, "gauge", base, group, accumulate=False, name_kind="sum")
            return self._numbers(m, s.data_points, "counter", base, group,
                                 accumulate=s.aggregation_temporality == _DELTA)
        if kind == "histogram":
            if m.histogram.aggregation_temporality != _CUMULATIVE:
                return len(m.histogram.data_points)
            return self._histograms(m, base, group)
        if kind == "summary":
            return self._summaries(m, base, group)
        if kind == "exponential_histogram":
            return len(m.exponential_histogram.data_points)  # no text-format equivalent
        return 0

    def _point_labels(self, base: dict, p) -> dict:
        labels = dict(base)
        for kv in p.attributes:
            labels[label_name(kv.key)] = _attr_value(kv.value)
        return labels

    def _ts(self, p) -> str:
        return f" {p.time_unix_nano // 1_000_000}" if self.send_timestamps and p.time_unix_nano else ""

    def _numbers(self, m, points, type_: str, base: dict, group: _Group, accumulate: bool,
                 name_kind: str = "") -> int:
        name = metric_name(m.name, m.unit, name_kind or type_, self.namespace, self.add_suffixes)
        fam = self._family(name, type_, m.description)
        if fam is None:
            return len(points)
        for _, key, p in self._live_points(fam, points, base):
            v = float(p.as_double) if p.WhichOneof("value") == "as_double" else float(p.as_int)
            if accumulate:
                h = hash(key)
                v += fam.totals.get(h, 0.0)
                fam.totals[h] = v
            self._set(fam, key, f"{fam.name}{key} {format_value(v)}{self._ts(p)}\n", group)
        return 0

    def _set(self, fam: _Family, key: str, text: str, group: _Group) -> None:
        h = hash(key)
        s = fam.series.get(h)
        if s is None:
            fam.series[h] = _Series(text, group)
            self.series_count += 1
            self.renders += 1
            return
        if s.group is not group:
            s.group.valid = False
            s.group = group
        if s.text != text:  # unchanged lines keep their string (and the scrape output)
            s.text = text
            self.renders += 1

    def _remove(self, fam: _Family, key: str) -> None:
        h = hash(key)
        s = fam.series.pop(h, None)
        fam.totals.pop(h, None)
        if s is not None:
            s.group.valid = False
            self.series_count -= 1

    def _live_points(self, fam: _Family, points, base: dict):
        """(labels, key, point) of each point that is not a staleness marker; a marker ends
        its series instead."""
        for p in points:
            labels = self._point_labels(base, p)
            key = _labels_text(labels)
            if p.flags & _NO_RECORDED_VALUE:
                self._remove(fam, key)
            else:
                yield labels, key, p

    def _histograms(self, m, base: dict, group: _Group) -> int:
        name = metric_name(m.name, m.unit, "histogram", self.namespace, self.add_suffixes)
        fam = self._family(name, "histogram", m.description)
        if fam is None:
            return len(m.histogram.data_points)
        for labels, key, p in self._live_points(fam, m.histogram.data_points, base):
            ts = self._ts(p)
            lines, cum = [], 0
            for i, bound in enumerate(p.explicit_bounds):
                cum += p.bucket_counts[i] if i < len(p.bucket_counts) else 0
                lines.append(f"{name}_bucket{_labels_text(labels, ('le', format_value(bound)))} {format_value(cum)}{ts}\n")
            lines.append(f"{name}_bucket{_labels_text(labels, ('le', '+Inf'))} {format_value(p.count)}{ts}\n")
            lines.append(f"{name}_sum{key} {format_value(p.sum)}{ts}\n")
            lines.append(f"{name}_count{key} {format_value(p.count)}{ts}\n")
            self._set(fam, key, "".join(lines), group)
        return 0

    def _summaries(self, m, base: dict, group: _Group) -> int:
        name = metric_name(m.name, m.unit, "summary", self.namespace, self.add_suffixes)
        fam = self._family(name, "summary", m.description)
        if fam is None:
            return len(m.summary.data_points)
        for labels, key, p in self._live_points(fam, m.summary.data_points, base):
            ts = self._ts(p)
            lines = [f"{name}{_labels_text(labels, ('quantile', format_value(q.quantile)))} {format_value(q.value)}{ts}\n"
                     for q in p.quantile_values]
            lines.append(f"{name}_sum{key} {format_value(p.sum)}{ts}\n")
            lines.append(f"{name}_count{key} {format_value(p.count)}{ts}\n")
            self._set(fam, key, "".join(lines), group)
        return 0

    # -- scrape ---------------------------------------------------------------------------
    def families_text(self, openmetrics: bool = False):
        """Yields the exposition one family at a time (a scrape never holds it all at once).
        Families are sorted by name; series keep their first-seen order."""
        with self._lock:
            self._expire_if_due(self.clock())
            names = sorted(self._families)
        for name in names:
            with self._lock:
                fam = self._families.get(name)
                if fam is None or not fam.series:
                    continue
                text = fam.header(openmetrics) + "".join([s.text for s in fam.series.values()])
            yield text

    def render(self) -> str:
        return "".join(self.families_text())

    def _expire_if_due(self, now: float) -> None:
        if now - self._last_sweep >= (min(30.0, self.expiration / 2) if self.expiration > 0 else 30.0):
            self._expire(now)

    def _expire(self, now: float) -> None:
        """Drops series not refreshed within metric_expiration (0: never), and the groups that
        no longer describe what they last wrote."""
        self._last_sweep = now
        cutoff = now - self.expiration if self.expiration > 0 else float("-inf")
        for name in list(self._families):
            fam = self._families[name]
            stale = [h for h, s in fam.series.items() if s.group.updated < cutoff]
            for h in stale:
                del fam.series[h]
                fam.totals.pop(h, None)
            self.series_count -= len(stale)
            if not fam.series:
                del self._families[name]
        self._groups = {d: g for d, g in self._groups.items() if g.valid and g.updated >= cutoff}
