"""prometheus receiver: text exposition -> OTLP metrics, scraping real HTTP endpoints."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collector.config import ConfigErrors, decode
from collector.exporters.prometheus import factory as exporter_factory
from collector.exporters.prometheus.config import Config as ExporterConfig
from collector.component import Payload
from collector.pdata import new_request
from collector.receivers.k8s_cluster.metric_builder import add_resource, attrs_dict, new_metric
from collector.receivers.prometheus import factory
from collector.receivers.prometheus.config import Config
from collector.receivers.prometheus.convert import StartTimes, convert
from collector.testing import free_port, wait_until

TEXT = """# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 1027
http_requests_total{method="POST",code="500"} 3
# HELP temperature Current temperature.
# TYPE temperature gauge
temperature{room="a"} 21.5
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds histogram
rpc_duration_seconds_bucket{le="0.1"} 5
rpc_duration_seconds_bucket{le="0.5"} 8
rpc_duration_seconds_bucket{le="+Inf"} 10
rpc_duration_seconds_sum 2.75
rpc_duration_seconds_count 10
# HELP gc_pause_seconds GC pauses.
# TYPE gc_pause_seconds summary
gc_pause_seconds{quantile="0.5"} 0.01
gc_pause_seconds{quantile="0.99"} 0.2
gc_pause_seconds_sum 1.5
gc_pause_seconds_count 40
legacy_untyped 7
"""


def metrics_by_name(request):
    out = {}
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out[m.name] = (attrs_dict(rm.resource.attributes), m)
    return out


def test_text_to_otlp_types_names_and_resource():
    req = new_request("metrics")
    n = convert(TEXT, req, "ksm", "10.0.0.5:8080", "http", 1_000_000_000, StartTimes(), {"team": "obs"})
    assert n == 13
    got = metrics_by_name(req)
    res, counter = got["http_requests_total"]
    assert res == {"service.name": "ksm", "service.instance.id": "10.0.0.5:8080", "server.address": "10.0.0.5",
                   "server.port": "8080", "url.scheme": "http"}
    assert counter.sum.is_monotonic and counter.sum.aggregation_temporality == 2
    points = {attrs_dict(p.attributes)["method"]: p for p in counter.sum.data_points}
    assert points["GET"].as_double == 1027 and attrs_dict(points["GET"].attributes) == {"method": "GET", "code": "200", "team": "obs"}
    assert points["GET"].start_time_unix_nano == 1_000_000_000
    assert got["temperature"][1].gauge.data_points[0].as_double == 21.5
    assert got["temperature"][1].description == "Current temperature."
    h = got["rpc_duration_seconds"][1].histogram.data_points[0]
    assert list(h.explicit_bounds) == [0.1, 0.5] and list(h.bucket_counts) == [5, 3, 2]
    assert h.count == 10 and h.sum == 2.75
    s = got["gc_pause_seconds"][1].summary.data_points[0]
    assert [(q.quantile, q.value) for q in s.quantile_values] == [(0.5, 0.01), (0.99, 0.2)] and s.count == 40
    assert got["legacy_untyped"][1].WhichOneof("data") == "gauge"


def test_start_time_kept_across_scrapes_and_reset_on_decrease():
    starts = StartTimes()

    def start_of(text, now):
        req = new_request("metrics")
        convert(text, req, "j", "h:1", "http", now, starts)
        return metrics_by_name(req)["c_total"][1].sum.data_points[0].start_time_unix_nano
    assert start_of("# TYPE c_total counter\nc_total 5\n", 100) == 100
    assert start_of("# TYPE c_total counter\nc_total 9\n", 200) == 100
    assert start_of("# TYPE c_total counter\nc_total 1\n", 300) == 299  # the process restarted


def test_bad_body_raises():
    with pytest.raises(ValueError):
        convert("this is { not prometheus\n", new_request("metrics"), "j", "h:1", "http", 1, StartTimes())


def test_config_validation():
    with pytest.raises(ConfigErrors, match="scrape_configs"):
        decode(Config, {"config": {"scrape_configs": []}})
    with pytest.raises(ConfigErrors, match="relabel_configs"):
        decode(Config, {"config": {"scrape_configs": [{"job_name": "x", "relabel_configs": []}]}})
    with pytest.raises(ConfigErrors, match="host:port"):
        decode(Config, {"config": {"scrape_configs": [{"job_name": "x", "static_configs": [{"targets": ["nope"]}]}]}})
    cfg = decode(Config, {"config": {"global": {"scrape_interval": "15s"},
                                     "scrape_configs": [{"job_name": "x", "static_configs": [{"targets": ["a:1"]}]}]}})
    assert cfg.config.global_.scrape_interval == 15.0 and cfg.config.scrape_configs[0].metrics_path == "/metrics"


@pytest.mark.parametrize("raw,expected", [(0, 0), (4096, 4096), ("10MB", 10 * 2**20), ("512KiB", 512 * 1024)])
def test_body_size_limit_takes_prometheus_sizes(raw, expected):
    cfg = decode(Config, {"config": {"scrape_configs": [{"job_name": "x", "body_size_limit": raw}]}})
    assert cfg.config.scrape_configs[0].body_size_bytes() == expected


def test_a_bad_body_size_limit_names_the_key():
    with pytest.raises(ConfigErrors, match="body_size_limit"):
        decode(Config, {"config": {"scrape_configs": [{"job_name": "x", "body_size_limit": "lots"}]}})


class _Serve(BaseHTTPRequestHandler):
    body = TEXT.encode()
    status = 200

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def target():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def scrape_cfg(*targets, interval="200ms"):
    return decode(Config, {"config": {"scrape_configs": [{"job_name": "ksm", "scrape_interval": interval,
                                                          "scrape_timeout": "150ms",
                                                          "static_configs": [{"targets": list(targets)}]}]}})


def test_scrapes_targets_and_reports_up(target, make_settings, recorder):
    dead = f"127.0.0.1:{free_port()}"
    sink = recorder()
    rcv = factory.create(make_settings("receiver", "prometheus"), scrape_cfg(target, dead), {"metrics": sink})
    rcv.start(None)
    try:
        def ups():
            out = {}
            for p in list(sink.payloads):
                for rm in p.request.resource_metrics:
                    inst = attrs_dict(rm.resource.attributes)["service.instance.id"]
                    for m in rm.scope_metrics[0].metrics:
                        if m.name == "up":
                            out[inst] = m.gauge.data_points[0].as_double
            return out
        assert wait_until(lambda: len(ups()) == 2, 10)
        assert ups() == {target: 1.0, dead: 0.0}
        live = [p for p in sink.payloads if any(m.name == "http_requests_total" for rm in p.request.resource_metrics
                                                 for m in rm.scope_metrics[0].metrics)]
        assert live
        names = {m.name for m in live[0].request.resource_metrics[0].scope_metrics[0].metrics}
        assert {"scrape_duration_seconds", "scrape_samples_scraped", "temperature"} <= names
    finally:
        rcv.shutdown(time.monotonic() + 2)


def test_round_trip_through_the_prometheus_exporter(make_settings, recorder):
    port = free_port()
    exp = exporter_factory.create(make_settings("exporter", "prometheus"),
                                  decode(ExporterConfig, {"endpoint": f"127.0.0.1:{port}"}), frozenset({"metrics"}))
    exp.start(None)
    req = new_request("metrics")
    sm = add_resource(req, {}, "")
    g = new_metric(sm, "kube_pod_status_phase", "The pods current phase.", "", "gauge")
    p = g.gauge.data_points.add(as_double=1)
    from collector.receivers.k8s_cluster.metric_builder import set_attrs
    set_attrs(p.attributes, {"namespace": "shop", "pod": "api-0", "phase": "Running"})
    exp.consume(Payload("metrics", req))
    sink = recorder()
    rcv = factory.create(make_settings("receiver", "prometheus"), scrape_cfg(f"127.0.0.1:{port}"), {"metrics": sink})
    rcv.start(None)
    try:
        assert wait_until(lambda: any("kube_pod_status_phase" in metrics_by_name(x.request) for x in sink.payloads), 10)
        payload = next(x for x in sink.payloads if "kube_pod_status_phase" in metrics_by_name(x.request))
        _, m = metrics_by_name(payload.request)["kube_pod_status_phase"]
        assert attrs_dict(m.gauge.data_points[0].attributes) == {"namespace": "shop", "pod": "api-0", "phase": "Running"}
        assert m.description == "The pods current phase."
    finally:
        rcv.shutdown(time.monotonic() + 2)
        exp.shutdown(time.monotonic() + 2)


def test_honor_labels_decides_clashes_with_target_labels():
    text = '# TYPE t gauge\nt{team="scraped",job="other",zone="a"} 1\n'
    req = new_request("metrics")
    convert(text, req, "j", "h:1", "http", 1, StartTimes(), {"team": "target"})
    p = metrics_by_name(req)["t"][1].gauge.data_points[0]
    assert attrs_dict(p.attributes) == {"team": "target", "exported_team": "scraped", "exported_job": "other", "zone": "a"}
    req = new_request("metrics")
    convert(text, req, "j", "h:1", "http", 1, StartTimes(), {"team": "target"}, honor_labels=True)
    p = metrics_by_name(req)["t"][1].gauge.data_points[0]
    assert attrs_dict(p.attributes) == {"team": "scraped", "zone": "a"}


def test_use_start_time_metric():
    import re
    text = "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000\n" \
           "# TYPE c_total counter\nc_total 5\n"
    req = new_request("metrics")
    convert(text, req, "j", "h:1", "http", 1_800_000_000 * 10**9, StartTimes(),
            start_time_metric=re.compile(r"^(.+_)*process_start_time_seconds$"))
    assert metrics_by_name(req)["c_total"][1].sum.data_points[0].start_time_unix_nano == 1_700_000_000 * 10**9
    with pytest.raises(ValueError, match="start time"):
        convert("# TYPE c_total counter\nc_total 5\n", new_request("metrics"), "j", "h:1", "http", 1, StartTimes(),
                start_time_metric=re.compile("nope"))


class _Garbage(_Serve):
    # valid at first, broken later: the scrape must still be all or nothing
    body = b"# TYPE temperature gauge\ntemperature 1\n\x00\x01 not { exposition\n"


class _Failing(_Serve):
    status = 500


@pytest.mark.parametrize("handler", [_Garbage, _Failing])
def test_bad_targets_report_up_zero_and_keep_being_scraped(handler, make_settings, recorder):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    sink = recorder()
    rcv = factory.create(make_settings("receiver", "prometheus"), scrape_cfg(f"127.0.0.1:{srv.server_address[1]}"),
                         {"metrics": sink})
    rcv.start(None)
    try:
        assert wait_until(lambda: len(sink.payloads) >= 2, 10)
        for p in list(sink.payloads):
            names = {m.name: m for rm in p.request.resource_metrics for m in rm.scope_metrics[0].metrics}
            assert names["up"].gauge.data_points[0].as_double == 0
            assert "temperature" not in names
        assert rcv.targets[0].last_error
    finally:
        rcv.shutdown(time.monotonic() + 2)
        srv.shutdown()
        srv.server_close()


def test_scope_labels_go_back_into_the_scope():
    text = ('# TYPE http_requests_total counter\n'
            'http_requests_total{otel_scope_name="io.app",otel_scope_version="2.1",otel_scope_schema_url="",'
            'otel_scope_team="core",method="GET"} 3\n'
            'http_requests_total{method="PUT"} 1\n')
    req = new_request("metrics")
    convert(text, req, "j", "h:1", "http", 1, StartTimes())
    scopes = {sm.scope.name: sm for sm in req.resource_metrics[0].scope_metrics}
    app = scopes["io.app"]
    assert app.scope.version == "2.1" and attrs_dict(app.scope.attributes) == {"team": "core"}
    assert attrs_dict(app.metrics[0].sum.data_points[0].attributes) == {"method": "GET"}
    own = scopes["github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"]
    assert attrs_dict(own.metrics[0].sum.data_points[0].attributes) == {"method": "PUT"}


class _GzipBomb(_Serve):
    """2 MB of metrics text that compresses to a few kilobytes."""
    body = __import__("gzip").compress(b"# padding\n" * 200_000)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


def test_body_size_limit_bounds_the_decompressed_body(make_settings, recorder):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _GzipBomb)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        cfg = decode(Config, {"config": {"scrape_configs": [{
            "job_name": "bomb", "body_size_limit": 100_000,
            "static_configs": [{"targets": [f"127.0.0.1:{srv.server_address[1]}"]}]}]}})
        rcv = factory.create(make_settings("receiver", "prometheus"), cfg, {"metrics": recorder()})
        assert len(_GzipBomb.body) < 100_000
        with pytest.raises(ValueError, match="body_size_limit"):
            rcv._fetch(rcv.targets[0])
    finally:
        srv.shutdown()
        srv.server_close()


def test_tls_server_name_is_the_name_verified(make_settings, recorder, tmp_path):
    """Scraping by IP a target whose certificate names a DNS name, as Prometheus' server_name."""
    import ssl
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("metrics.internal")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        def job(server_name):
            return {"job_name": "tls", "scheme": "https",
                    "tls_config": {"ca_file": str(tmp_path / "ca.pem"), "server_name": server_name},
                    "static_configs": [{"targets": [f"127.0.0.1:{srv.server_address[1]}"]}]}
        cfg = decode(Config, {"config": {"scrape_configs": [job("metrics.internal")]}})
        rcv = factory.create(make_settings("receiver", "prometheus"), cfg, {"metrics": recorder()})
        assert "http_requests_total" in rcv._fetch(rcv.targets[0])
        cfg = decode(Config, {"config": {"scrape_configs": [job("")]}})
        rcv = factory.create(make_settings("receiver", "prometheus"), cfg, {"metrics": recorder()})
        with pytest.raises(OSError):  # 127.0.0.1 is not the certificate's name
            rcv._fetch(rcv.targets[0])
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("instance,address", [
    ("10.0.0.5:8080", "10.0.0.5"), ("kube-state-metrics.obs.svc:8080", "kube-state-metrics.obs.svc"),
    ("127.0.0.1:8080", None), ("localhost:9090", None), ("0.0.0.0:80", None), ("[::1]:80", None),
    ("[fd00::5]:80", "fd00::5")])
def test_server_address_only_for_a_discernible_host(instance, address):
    from collector.receivers.prometheus.convert import target_resource
    res = target_resource("j", instance, "http")
    assert res.get("server.address") == address
    assert res["service.instance.id"] == instance and res["server.port"] == instance.rpartition(":")[2]


def test_scrape_report_series_carry_target_labels_and_series_added(target, make_settings, recorder):
    sink = recorder()
    cfg = decode(Config, {"config": {"scrape_configs": [{"job_name": "ksm", "static_configs": [
        {"targets": [target], "labels": {"team": "obs"}}]}]}})
    rcv = factory.create(make_settings("receiver", "prometheus"), cfg, {"metrics": sink})

    def report():
        rcv.scrape_once(rcv.targets[0])
        rm = sink.payloads[-1].request.resource_metrics[0]
        return {m.name: m.gauge.data_points[0] for m in rm.scope_metrics[0].metrics if m.name.startswith(("up", "scrape_"))}
    first = report()
    assert set(first) == {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                          "scrape_samples_post_metric_relabeling", "scrape_series_added"}
    assert all(attrs_dict(p.attributes) == {"team": "obs"} for p in first.values())
    assert first["scrape_series_added"].as_double == first["scrape_samples_scraped"].as_double == 13
    assert report()["scrape_series_added"].as_double == 0  # the same series again
