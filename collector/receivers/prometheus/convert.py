"""Prometheus text exposition -> OTLP metrics, as otelcol-contrib's prometheus receiver builds
them: one resource per target (service.name = job, service.instance.id = instance), counters as
monotonic cumulative sums keeping their _total name, histograms and summaries whole, untyped as
gauges, start times from the first sighting of each cumulative series (reset on a decrease).

Parsing uses prometheus_client's parser; a body it rejects fails the whole scrape (up = 0).
"""
from __future__ import annotations

import ipaddress
import math
from types import SimpleNamespace

from opentelemetry.proto.metrics.v1 import metrics_pb2
from prometheus_client.parser import text_string_to_metric_families

from collector.receivers.k8s_cluster.metric_builder import add_resource, set_attrs

SCOPE_NAME = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
_CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
_SUFFIXES = ("_total", "_seconds", "_bytes", "_ratio", "_info")


class StartTimes:
    """The collector's metric adjuster, reduced: a cumulative series starts when first seen and
    restarts when its value goes down (a process restart)."""

    def __init__(self, max_series: int = 200_000):
        self._seen: dict[tuple, tuple[int, float]] = {}
        self.max_series = max_series  # bounded: beyond it, series are not tracked (start = now)

    def start_for(self, key: tuple, value: float, now_ns: int) -> int:
        prev = self._seen.get(key)
        if prev is None or value < prev[1]:
            start = now_ns if prev is None else now_ns - 1
            if prev is not None or len(self._seen) < self.max_series:
                self._seen[key] = (start, value)
            return start
        self._seen[key] = (prev[0], value)
        return prev[0]


def _trim(name: str) -> str:
    for s in _SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return name


def _discernible(host: str) -> bool:
    """isDiscernibleHost: loopback and unspecified addresses and "localhost" name no host."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host != "localhost"
    return not ip.is_loopback and not ip.is_unspecified


def target_resource(job: str, instance: str, scheme: str) -> dict:
    """CreateResource: server.address only when the host is discernible (not 127.0.0.1,
    localhost, 0.0.0.0...)."""
    host, sep, port = instance.rpartition(":")
    if not sep:
        host, port = instance, ""
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    out = {"service.name": job}
    if _discernible(host):
        out["server.address"] = host
    out.update({"service.instance.id": instance, "server.port": port, "url.scheme": scheme})
    return out


class _Labels:
    """Target labels merged into each sample's, as Prometheus does on a clash: honor_labels
    False keeps the target's value and renames the scraped label exported_<name>; True keeps
    the scraped value. job and instance are the resource's (service.name / service.instance.id)."""

    def __init__(self, target: dict, honor: bool):
        self.target = target
        self.honor = honor

    def __call__(self, labels: dict, drop=()) -> dict:
        out = dict(self.target)
        for k, v in labels.items():
            if k in drop:
                continue
            if k in ("job", "instance") or (k in self.target and not self.honor):
                if not self.honor:
                    out["exported_" + k] = v
                continue
            out[k] = v
        return out


def _start_time(families, pattern) -> int | None:
    for fam in families:
        for s in fam.samples:
            if pattern.match(s.name):
                return int(float(s.value) * 1e9)
    return None


def convert(text: str, request, job: str, instance: str, scheme: str, now_ns: int,
            starts: StartTimes, target_labels: dict | None = None, honor_timestamps: bool = True,
            trim_suffixes: bool = False, version: str = "", honor_labels: bool = False,
            start_time_metric=None) -> int:
    """Append one ResourceMetrics for this scrape; returns the number of samples. ValueError when
    the body is not valid exposition text (the request may then hold a partial resource: drop it). start_time_metric: a compiled regex naming the metric
    whose value (unix seconds) starts every cumulative series (use_start_time_metric)."""
    # Families are converted as the parser yields them, so a 300k-sample body is never held as
    # parsed samples at once. A parse error midway raises: the caller drops the whole request.
    families = text_string_to_metric_families(text)
    if start_time_metric is not None:
        families = list(families)  # the start time must be known before any counter
        start_ns = _start_time(families, start_time_metric)
        if start_ns is None:
            raise ValueError(f"no metric matching {start_time_metric.pattern} for the start time")
        starts = _FixedStart(start_ns)
    default_sm = add_resource(request, target_resource(job, instance, scheme), SCOPE_NAME, version)
    scopes = _Scopes(request.resource_metrics[-1], default_sm)
    extra = _Labels(dict(target_labels or {}), honor_labels)
    samples = 0
    for whole in families:
        samples += len(whole.samples)
        for sm, fam in scopes.split(whole):
            _family(sm, fam, extra, now_ns, starts, job, instance, honor_timestamps, trim_suffixes)
    return samples


def _family(sm, fam, extra, now_ns, starts, job, instance, honor_timestamps, trim_suffixes) -> None:
    if fam.type == "counter":
        _counter(sm, fam, extra, now_ns, starts, job, instance, honor_timestamps, trim_suffixes)
    elif fam.type == "histogram":
        _histogram(sm, fam, extra, now_ns, starts, job, instance, honor_timestamps, trim_suffixes)
    elif fam.type == "summary":
        _summary(sm, fam, extra, now_ns, starts, job, instance, honor_timestamps, trim_suffixes)
    else:  # gauge, untyped, unknown, info, stateset
        _gauge(sm, fam, extra, now_ns, honor_timestamps, trim_suffixes)


_SCOPE_LABELS = ("otel_scope_name", "otel_scope_version", "otel_scope_schema_url")


class _Scopes:
    """Series labelled otel_scope_name/_version/_schema_url (and otel_scope_<attr>), as the
    collector's prometheus exporter writes them, go back into that instrumentation scope rather
    than into point attributes; unlabelled series belong to the receiver's own scope."""

    def __init__(self, rm, default_sm):
        self.rm = rm
        self.default = default_sm
        self.by_key: dict[tuple, object] = {}

    def split(self, fam):
        if not any(k.startswith("otel_scope_") for s in fam.samples for k in s.labels):
            return [(self.default, fam)]
        groups: dict[tuple, list] = {}
        for s in fam.samples:
            scope = tuple(sorted((k, v) for k, v in s.labels.items() if k.startswith("otel_scope_")))
            rest = {k: v for k, v in s.labels.items() if not k.startswith("otel_scope_")}
            groups.setdefault(scope, []).append(s._replace(labels=rest))
        out = []
        for scope, samples in groups.items():
            part = SimpleNamespace(name=fam.name, type=fam.type, documentation=fam.documentation, samples=samples)
            out.append((self._sm(scope), part))
        return out

    def _sm(self, scope: tuple):
        labels = dict(scope)
        if not labels.get("otel_scope_name"):
            return self.default
        sm = self.by_key.get(scope)
        if sm is None:
            sm = self.by_key[scope] = self.rm.scope_metrics.add()
            sm.scope.name = labels["otel_scope_name"]
            sm.scope.version = labels.get("otel_scope_version", "")
            sm.schema_url = labels.get("otel_scope_schema_url", "")
            set_attrs(sm.scope.attributes, {k[len("otel_scope_"):]: v for k, v in labels.items()
                                            if k not in _SCOPE_LABELS})
        return sm


class _FixedStart:
    """use_start_time_metric: every cumulative series starts at the target's process start."""

    def __init__(self, start_ns: int):
        self.start_ns = start_ns

    def start_for(self, key, value, now_ns) -> int:
        return self.start_ns


def _attrs(labels: dict, extra: _Labels, drop=()) -> dict:
    return extra(labels, drop)


def _ts(sample, now_ns: int, honor: bool) -> int:
    if honor and sample.timestamp is not None:
        return int(float(sample.timestamp) * 1e9)
    return now_ns


def _gauge(sm, fam, extra, now_ns, honor, trim):
    by_name: dict[str, object] = {}
    for s in fam.samples:
        m = by_name.get(s.name)
        if m is None:
            m = by_name[s.name] = sm.metrics.add(name=_trim(s.name) if trim else s.name,
                                                 description=fam.documentation)
            m.gauge.SetInParent()
        p = m.gauge.data_points.add(time_unix_nano=_ts(s, now_ns, honor), as_double=float(s.value))
        set_attrs(p.attributes, _attrs(s.labels, extra))


def _counter(sm, fam, extra, now_ns, starts, job, instance, honor, trim):
    m = None
    for s in fam.samples:
        if s.name.endswith("_created"):
            continue  # OpenMetrics creation time: the start-time adjuster covers it
        if m is None:
            m = sm.metrics.add(name=_trim(s.name) if trim else s.name, description=fam.documentation)
            m.sum.aggregation_temporality = _CUMULATIVE
            m.sum.is_monotonic = True
        attrs = _attrs(s.labels, extra)
        key = (job, instance, s.name, tuple(sorted(attrs.items())))
        v = float(s.value)
        p = m.sum.data_points.add(time_unix_nano=_ts(s, now_ns, honor), as_double=v,
                                  start_time_unix_nano=starts.start_for(key, v, now_ns))
        set_attrs(p.attributes, attrs)


def _group(fam, strip: str):
    """Histogram/summary samples grouped by their labels without `strip` (le / quantile)."""
    groups: dict[tuple, dict] = {}
    for s in fam.samples:
        labels = {k: v for k, v in s.labels.items() if k != strip}
        g = groups.setdefault(tuple(sorted(labels.items())), {"labels": labels, "items": [],
                                                             "sum": 0.0, "count": 0.0, "ts": None})
        if s.name.endswith("_sum"):
            g["sum"] = float(s.value)
        elif s.name.endswith("_count"):
            g["count"] = float(s.value)
        elif s.name.endswith("_created"):
            continue
        else:
            g["items"].append((s.labels.get(strip), float(s.value)))
        if s.timestamp is not None:
            g["ts"] = s
    return groups.values()


def _histogram(sm, fam, extra, now_ns, starts, job, instance, honor, trim):
    m = sm.metrics.add(name=_trim(fam.name) if trim else fam.name, description=fam.documentation)
    m.histogram.aggregation_temporality = _CUMULATIVE
    for g in _group(fam, "le"):
        buckets = sorted((float(le), v) for le, v in g["items"] if le is not None)
        bounds = [b for b, _ in buckets if not math.isinf(b)]
        counts, prev = [], 0.0
        for _, cum in buckets:
            counts.append(max(0, int(cum - prev)))
            prev = cum
        if not buckets or not math.isinf(buckets[-1][0]):
            counts.append(max(0, int(g["count"] - prev)))
        attrs = _attrs(g["labels"], extra)
        key = (job, instance, fam.name, tuple(sorted(attrs.items())))
        ts = _ts(g["ts"], now_ns, honor) if g["ts"] is not None else now_ns
        p = m.histogram.data_points.add(time_unix_nano=ts, count=int(g["count"]), sum=g["sum"],
                                        explicit_bounds=bounds, bucket_counts=counts,
                                        start_time_unix_nano=starts.start_for(key, g["count"], now_ns))
        set_attrs(p.attributes, attrs)


def _summary(sm, fam, extra, now_ns, starts, job, instance, honor, trim):
    m = sm.metrics.add(name=_trim(fam.name) if trim else fam.name, description=fam.documentation)
    m.summary.SetInParent()
    for g in _group(fam, "quantile"):
        attrs = _attrs(g["labels"], extra)
        key = (job, instance, fam.name, tuple(sorted(attrs.items())))
        ts = _ts(g["ts"], now_ns, honor) if g["ts"] is not None else now_ns
        p = m.summary.data_points.add(time_unix_nano=ts, count=int(g["count"]), sum=g["sum"],
                                      start_time_unix_nano=starts.start_for(key, g["count"], now_ns))
        for q, v in sorted((float(q), v) for q, v in g["items"] if q is not None):
            p.quantile_values.add(quantile=q, value=v)
        set_attrs(p.attributes, attrs)


def scrape_metrics(request, job: str, instance: str, scheme: str, now_ns: int, up: bool,
                   duration_s: float, samples: int, version: str = "", series_added: int | None = None,
                   target_labels: dict | None = None) -> None:
    """The synthetic series Prometheus adds to every scrape (up, scrape_duration_seconds...),
    in the target's resource (created when the scrape failed and left none), labelled with the
    target's labels as Prometheus' report samples are."""
    sm = None
    for rm in request.resource_metrics:
        if any(kv.key == "service.instance.id" and kv.value.string_value == instance for kv in rm.resource.attributes):
            sm = rm.scope_metrics[0]
    if sm is None:
        sm = add_resource(request, target_resource(job, instance, scheme), SCOPE_NAME, version)
    for name, desc, value in (
            ("up", "The scraping was successful", 1.0 if up else 0.0),
            ("scrape_duration_seconds", "Duration of the scrape", duration_s),
            ("scrape_samples_scraped", "The number of samples the target exposed", float(samples)),
            # no relabeling is supported, so every scraped sample remains
            ("scrape_samples_post_metric_relabeling", "The number of samples remaining after metric relabeling was applied", float(samples)),
            ("scrape_series_added", "The approximate number of new series in this scrape",
             float(samples if series_added is None else series_added))):
        m = sm.metrics.add(name=name, description=desc, unit="s" if name == "scrape_duration_seconds" else "")
        p = m.gauge.data_points.add(time_unix_nano=now_ns, as_double=value)
        set_attrs(p.attributes, {k: v for k, v in (target_labels or {}).items() if k not in ("job", "instance")})
