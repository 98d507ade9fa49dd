"""OTLP export of cumulative sums, histograms and gauges, and the cardinality cap."""
from __future__ import annotations

from ebpf.metric_store import DURATION_BUCKETS, MetricStore, attrs


def test_export_shapes_cumulative_sum_and_histogram_with_semconv_buckets():
    s = MetricStore(lambda: 100.0)
    s.define("c", "sum", "1", "a counter")
    s.define("h", "histogram", "s", "a histogram", DURATION_BUCKETS)
    res = (("service.name", "a"),)
    s.add("c", res, attrs(x="1"), 2)
    s.add("c", res, attrs(x="1"), 3)
    for v in (0.005, 0.006, 20.0):
        s.record("h", res, attrs(), v)
    req = s.export(lambda r: (("k8s.cluster.name", "c1"),))
    (rm,) = req.resource_metrics
    assert {kv.key: kv.value.string_value for kv in rm.resource.attributes} == {
        "service.name": "a", "k8s.cluster.name": "c1"}
    metrics = {m.name: m for m in rm.scope_metrics[0].metrics}
    c = metrics["c"].sum
    assert c.is_monotonic and c.aggregation_temporality == 2 and c.data_points[0].as_int == 5
    assert c.data_points[0].start_time_unix_nano == 100 * 10**9
    h = metrics["h"].histogram.data_points[0]
    assert list(h.explicit_bounds) == list(DURATION_BUCKETS)
    # 0.005 sits on a bound: buckets are upper-inclusive, as OTLP defines them
    assert h.bucket_counts[0] == 1 and h.bucket_counts[1] == 1 and h.bucket_counts[-1] == 1
    assert h.count == 3 and abs(h.sum - 20.011) < 1e-9 and h.min == 0.005 and h.max == 20.0


def test_series_over_the_limit_fold_into_one_overflow_series_and_are_counted():
    overflows = []
    s = MetricStore(lambda: 1.0, series_limit=3, on_overflow=overflows.append)
    s.define("c", "sum", "1", "")
    for i in range(10):
        s.add("c", (), attrs(i=str(i)), 1)
    series = s.series("c")
    assert len(series) == 4
    assert series[((), (("otel.metric.overflow", True),))] == 7
    assert len(overflows) == 7


def test_gauges_are_replaced_on_clear():
    s = MetricStore(lambda: 1.0)
    s.define("g", "gauge", "1", "")
    s.set("g", (), attrs(a="x"), 4)
    s.clear("g")
    s.set("g", (), attrs(a="y"), 1)
    assert s.series("g") == {((), (("a", "y"),)): 1}
    (m,) = s.export().resource_metrics[0].scope_metrics[0].metrics
    assert m.gauge.data_points[0].as_int == 1


def test_overflow_series_stay_bounded_when_processes_come_and_go():
    # Each short-lived process is a new resource: past the limit, their overflow series must not
    # grow without bound either.
    s = MetricStore(lambda: 1.0, series_limit=3)
    s.define("c", "sum", "1", "")
    for pid in range(100):
        s.add("c", attrs(**{"process.pid": pid}), attrs(i="x"), 1)
    series = s.series("c")
    assert len(series) <= 2 * 3 + 1
    assert sum(series.values()) == 100
