"""prometheus exporter: OTLP metrics in, Prometheus text out (names as the collector converts them)."""
import time
import urllib.error
import urllib.request

import pytest
from opentelemetry.proto.metrics.v1 import metrics_pb2
from prometheus_client.parser import text_string_to_metric_families

from collector.component import Payload
from collector.config import ConfigErrors, decode
from collector.exporters.prometheus import factory
from collector.exporters.prometheus.config import Config
from collector.exporters.prometheus.naming import format_value, label_name, metric_name
from collector.exporters.prometheus.series_store import SeriesStore
from collector.pdata import new_request
from collector.receivers.k8s_cluster.metric_builder import add_resource, new_metric, set_attrs
from collector.testing import free_port


def request_with(build, resource=None, scope="my.scope", version="1.0"):
    req = new_request("metrics")
    if resource is None:
        resource = {"service.name": "api", "service.instance.id": "10.0.0.1:8080", "k8s.pod.name": "api-0"}
    sm = add_resource(req, resource, scope, version)
    build(sm)
    return req


def point(metric, value, attrs=None, flags=0):
    data = getattr(metric, metric.WhichOneof("data"))
    p = data.data_points.add()
    p.time_unix_nano = 1_700_000_000_123_000_000
    if isinstance(value, float):
        p.as_double = value
    else:
        p.as_int = value
    p.flags = flags
    set_attrs(p.attributes, attrs or {})
    return p


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


@pytest.mark.parametrize("name,unit,kind,expected", [
    ("k8s.pod.phase", "", "gauge", "k8s_pod_phase"),
    ("k8s.container.memory_limit", "By", "gauge", "k8s_container_memory_limit_bytes"),
    ("http.server.request.duration", "s", "histogram", "http_server_request_duration_seconds"),
    ("system.network.io", "By", "counter", "system_network_io_bytes_total"),
    ("requests_total", "", "counter", "requests_total"),
    ("k8s.container.restarts", "{restart}", "gauge", "k8s_container_restarts"),
    ("cpu.utilization", "1", "gauge", "cpu_utilization_ratio"),
    ("throughput", "By/s", "gauge", "throughput_bytes_per_second"),
    ("2xx.count", "", "gauge", "_2xx_count"),
    ("latency_seconds", "s", "gauge", "latency_seconds"),
])
def test_metric_names_follow_the_translator(name, unit, kind, expected):
    assert metric_name(name, unit, kind) == expected


def test_label_names_and_values():
    assert label_name("k8s.pod.name") == "k8s_pod_name"
    assert label_name("0abc") == "key_0abc"
    assert label_name("_private") == "key_private"
    assert label_name("__reserved") == "__reserved"
    assert [format_value(v) for v in (1.0, 0.25, 1e6, 1234567.0, float("inf"))] == \
        ["1", "0.25", "1e+06", "1.234567e+06", "+Inf"]


def test_config_defaults_and_validation():
    cfg = decode(Config, {"endpoint": "0.0.0.0:8889"})
    assert cfg.metric_expiration == 300.0 and cfg.add_metric_suffixes and not cfg.send_timestamps
    assert not cfg.resource_to_telemetry_conversion.enabled and cfg.adds_suffixes()
    with pytest.raises(ConfigErrors, match="endpoint"):
        decode(Config, {})
    with pytest.raises(ConfigErrors, match="IPv6 address in brackets"):
        decode(Config, {"endpoint": "::1:8889"})
    with pytest.raises(ConfigErrors, match="translation_strategy"):
        decode(Config, {"endpoint": ":1", "translation_strategy": "Nope"})
    with pytest.raises(ConfigErrors, match="sending_queue2"):
        decode(Config, {"endpoint": ":1", "sending_queue2": {}})
    assert not decode(Config, {"endpoint": ":1", "translation_strategy": "UnderscoreEscapingWithoutSuffixes"}).adds_suffixes()


def test_serves_every_type_over_http(make_settings):
    port = free_port()
    cfg = decode(Config, {"endpoint": f"127.0.0.1:{port}", "const_labels": {"cluster": "c1"}})
    exp = factory.create(make_settings("exporter", "prometheus"), cfg, frozenset({"metrics"}))
    exp.start(None)
    try:
        def build(sm):
            g = new_metric(sm, "k8s.pod.phase", "Current phase", "", "gauge")
            point(g, 2, {"k8s.namespace.name": "shop"})
            c = new_metric(sm, "http.requests", "Requests", "{request}", "sum", monotonic=True)
            point(c, 7, {"http.method": "GET"})
            h = sm.metrics.add(name="http.duration", description="Latency", unit="s")
            h.histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
            hp = h.histogram.data_points.add(count=6, sum=2.5, explicit_bounds=[0.1, 1.0], bucket_counts=[1, 3, 2])
            set_attrs(hp.attributes, {"route": "/x"})
            s = sm.metrics.add(name="rpc.latency", description="RPC", unit="ms")
            sp = s.summary.data_points.add(count=3, sum=30.0)
            sp.quantile_values.add(quantile=0.5, value=9.0)
        acks = []
        exp.consume(Payload("metrics", request_with(build), [acks.append]))
        assert acks == [True]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = r.read().decode()
        fams = families(text)
        phase = fams["k8s_pod_phase"]
        assert phase.type == "gauge" and phase.documentation == "Current phase"
        labels = phase.samples[0].labels
        assert labels == {"job": "api", "instance": "10.0.0.1:8080", "cluster": "c1",
                          "k8s_namespace_name": "shop", "otel_scope_name": "my.scope",
                          "otel_scope_version": "1.0", "otel_scope_schema_url": ""}
        assert phase.samples[0].value == 2
        assert fams["http_requests"].type == "counter"  # the parser strips _total
        assert fams["http_requests"].samples[0].name == "http_requests_total"
        hist = fams["http_duration_seconds"]
        buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
        assert buckets == {"0.1": 1, "1": 4, "+Inf": 6}  # le formatted as Go does
        summ = fams["rpc_latency_milliseconds"]
        assert {s.name for s in summ.samples} == {"rpc_latency_milliseconds", "rpc_latency_milliseconds_sum",
                                                  "rpc_latency_milliseconds_count"}
        info = fams["target_info"].samples[0].labels
        assert info == {"job": "api", "instance": "10.0.0.1:8080", "k8s_pod_name": "api-0"}
    finally:
        exp.shutdown(time.monotonic() + 2)


def test_delta_counters_accumulate_and_nonmonotonic_deltas_are_dropped():
    store = SeriesStore()

    def build(sm):
        c = new_metric(sm, "jobs", "", "", "sum", monotonic=True)
        c.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
        point(c, 5)
        u = new_metric(sm, "queue", "", "", "sum", monotonic=False)
        u.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
        point(u, 1)
    assert store.ingest(request_with(build, resource={})) == 1
    assert store.ingest(request_with(build, resource={})) == 1
    fams = families(store.render())
    assert fams["jobs"].samples[0].value == 10 and "queue" not in fams


def test_staleness_marker_ends_a_series_and_unchanged_values_are_not_rerendered():
    store = SeriesStore()

    def build(value, flags=0, pod="a"):
        def b(sm):
            point(new_metric(sm, "kube_pod_info", "", "", "gauge"), value, {"pod": pod}, flags)
        return request_with(b, resource={}, scope="")
    store.ingest(build(1, pod="a"))
    store.ingest(build(1, pod="b"))
    first = store.render()
    assert store.renders == 2
    store.ingest(build(1, pod="a"))      # identical data: nothing re-rendered
    assert store.renders == 2
    assert store.render() == first
    store.ingest(build(2, pod="a"))      # a changed value re-renders its line only
    assert store.renders == 3
    store.ingest(build(1, pod="a"))      # and back: the earlier identical bytes are not a no-op now
    assert 'kube_pod_info{pod="a"} 1' in store.render()
    store.ingest(build(1, pod="a", flags=metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK))
    pods = [s.labels["pod"] for s in families(store.render())["kube_pod_info"].samples]
    assert pods == ["b"]


def test_series_expire_after_metric_expiration():
    now = [1000.0]
    store = SeriesStore(metric_expiration=60, clock=lambda: now[0])

    def b(sm):
        point(new_metric(sm, "up", "", "", "gauge"), 1)
    store.ingest(request_with(b, resource={}))
    assert "up" in families(store.render())
    now[0] += 61
    assert "up" not in families(store.render())


@pytest.mark.parametrize("expiration,series_left", [(60, 1), (0, 2)])
def test_state_stays_bounded_when_nobody_scrapes(expiration, series_left):
    # Expiry must not wait for a scrape: an exporter nobody scrapes still gets fresh data.
    now = [1000.0]
    store = SeriesStore(metric_expiration=expiration, clock=lambda: now[0])
    store.ingest(request_with(lambda sm: point(new_metric(sm, "gone", "", "", "gauge"), 1), resource={}))
    for i in range(1000):
        now[0] += 1
        store.ingest(request_with(lambda sm: point(new_metric(sm, "up", "", "", "gauge"), i), resource={}))
    assert store.series_count == series_left  # metric_expiration 0: series never expire
    assert len(store._groups) <= 100  # one per distinct ResourceMetrics applied within the expiry


def test_send_timestamps_and_namespace():
    store = SeriesStore(namespace="skuber", send_timestamps=True)

    def b(sm):
        point(new_metric(sm, "up", "", "", "gauge"), 1)
    store.ingest(request_with(b, resource={}, scope=""))
    assert store.render().splitlines()[-1] == "skuber_up 1 1700000000123"


def test_openmetrics_and_gzip_when_asked(make_settings):
    import gzip
    port = free_port()
    cfg = decode(Config, {"endpoint": f"127.0.0.1:{port}", "enable_open_metrics": True})
    exp = factory.create(make_settings("exporter", "prometheus"), cfg, frozenset({"metrics"}))
    exp.start(None)
    try:
        def b(sm):
            point(new_metric(sm, "jobs", "Jobs done", "", "sum", monotonic=True), 3)
        exp.consume(Payload("metrics", request_with(b, resource={}, scope="")))
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Accept": "application/openmetrics-text; version=1.0.0",
                                              "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.headers["Content-Type"].startswith("application/openmetrics-text")
            text = gzip.decompress(r.read()).decode()
        assert text == "# HELP jobs Jobs done\n# TYPE jobs counter\njobs_total 3\n# EOF\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=5) as r:
            pytest.fail("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    finally:
        exp.shutdown(time.monotonic() + 2)


@pytest.mark.parametrize("inline_pem", [False, True])
def test_serves_over_tls(make_settings, tmp_path, inline_pem):
    import ssl

    import trustme
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    port = free_port()
    if inline_pem:  # cert_pem / key_pem, as the shared TLS server settings allow
        tls = {"cert_pem": b"".join(b.bytes() for b in cert.cert_chain_pems).decode(),
               "key_pem": cert.private_key_pem.bytes().decode()}
    else:
        tls = {"cert_file": str(tmp_path / "server.pem"), "key_file": str(tmp_path / "server.pem")}
    cfg = decode(Config, {"endpoint": f"127.0.0.1:{port}", "tls": tls})
    exp = factory.create(make_settings("exporter", "prometheus"), cfg, frozenset({"metrics"}))
    exp.start(None)
    try:
        def b(sm):
            point(new_metric(sm, "up", "", "", "gauge"), 1)
        exp.consume(Payload("metrics", request_with(b, resource={}, scope="")))
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=5, context=ctx) as r:
            assert r.read().decode().endswith("\nup 1\n")
    finally:
        exp.shutdown(time.monotonic() + 2)


def test_serves_on_an_ipv6_endpoint(make_settings):
    port = free_port()
    cfg = decode(Config, {"endpoint": f"[::1]:{port}"})
    exp = factory.create(make_settings("exporter", "prometheus"), cfg, frozenset({"metrics"}))
    exp.start(None)
    try:
        exp.consume(Payload("metrics", request_with(lambda sm: point(new_metric(sm, "up", "", "", "gauge"), 1),
                                                    resource={}, scope="")))
        with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=5) as r:
            assert r.read().decode().endswith("\nup 1\n")
    finally:
        exp.shutdown(time.monotonic() + 2)


def test_namespace_is_cleaned_and_non_monotonic_sums_get_no_ratio_suffix():
    store = SeriesStore(namespace="test-space")

    def build(sm):
        point(new_metric(sm, "cpu.utilization", "", "1", "gauge"), 0.5)
        point(new_metric(sm, "queue.fill", "", "1", "sum", monotonic=False), 0.25)
    store.ingest(request_with(build))
    fams = families(store.render())
    assert "test_space_cpu_utilization_ratio" in fams and "test_space_queue_fill" in fams
    assert "test_space_target_info" in fams
