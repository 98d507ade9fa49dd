"""otlp / otlphttp keys that otelcol accepts (otlpexporter and otlphttpexporter testdata,
configgrpc, confighttp, configretry, exporterhelper's sending_queue), decoded and validated as
there; and what the newer keys do at run time (sizer, wait_for_result, compression, proxy)."""
from __future__ import annotations

import http.server
import threading
import time
import zlib

import pytest

from collector.component import Payload
from collector.config import ConfigErrors, decode
from collector.exporters.exporterhelper.config import AuthConfig, BackOffConfig, QueueBatchConfig, QueueConfig
from collector.exporters.exporterhelper.memory_queue import MemoryQueue, QueueItem
from collector.exporters.otlp import factory as otlp_factory
from collector.exporters.otlp.config import Config as OTLPConfig
from collector.exporters.otlphttp import factory as http_factory
from collector.exporters.otlphttp.config import Config as HTTPConfig
from collector.pdata import REQUEST_TYPES

from .harness import make_exporter

# otlpexporter/testdata/config.yaml (v0.13x), auth included.
UPSTREAM_OTLP = {
    "endpoint": "1.2.3.4:1234", "compression": "gzip", "tls": {"ca_file": "/var/lib/mycert.pem"},
    "timeout": "10s",
    "sending_queue": {"enabled": True, "sizer": "items", "num_consumers": 2, "queue_size": 100000,
                      "batch": {"flush_timeout": "200ms", "min_size": 1000, "max_size": 10000}},
    "retry_on_failure": {"enabled": True, "initial_interval": "10s", "randomization_factor": 0.7,
                         "multiplier": 1.3, "max_interval": "60s", "max_elapsed_time": "10m"},
    "auth": {"authenticator": "nop"},
    "headers": {"can you have a . here?": "F0000000-0000-0000-0000-000000000000", "header1": 234,
                "another": "somevalue"},
    "keepalive": {"time": "20s", "timeout": "30s", "permit_without_stream": True},
    "balancer_name": "round_robin",
}


def errors(cls, raw):
    with pytest.raises(ConfigErrors) as e:
        decode(cls, raw, "exporters.x")
    return str(e.value)


def test_upstream_otlp_testdata_decodes():
    cfg = decode(OTLPConfig, UPSTREAM_OTLP, "exporters.otlp")
    assert cfg.sending_queue == QueueConfig(num_consumers=2, queue_size=100000, sizer="items",
                                            batch=QueueBatchConfig(flush_timeout=0.2, min_size=1000,
                                                                   max_size=10000, sizer="items"))
    assert cfg.retry_on_failure == BackOffConfig(True, 10.0, 0.7, 1.3, 60.0, 600.0)
    assert cfg.auth == AuthConfig("nop") and cfg.headers["header1"] == "234"
    assert cfg.write_buffer_size == 512 * 1024 and cfg.read_buffer_size == 0


def test_queue_and_batch_defaults_as_otelcol():
    q = decode(QueueConfig, {"batch": {}})
    assert (q.sizer, q.wait_for_result, q.queue_size, q.num_consumers) == ("requests", False, 1000, 10)
    # the default-batch testdata: a request-sized queue batches by items, 8192, every 200ms
    assert q.batch == QueueBatchConfig(flush_timeout=0.2, min_size=8192, max_size=0, sizer="items")
    assert decode(QueueConfig, {"sizer": "bytes", "queue_size": 1 << 20, "batch": {}}).batch.sizer == "bytes"


def test_otlp_endpoint_forms_of_configgrpc():
    for ok in ("dns:///backend.example.com:4317", "dns://authority/backend.example.com:4317",
               "https://gw:4317", "[::1]:4317"):
        decode(OTLPConfig, {"endpoint": ok})
    assert "exporters.x.endpoint: missing port" in errors(OTLPConfig, {"endpoint": "gw"})


@pytest.mark.parametrize("raw,expected", [
    ({"retry_on_failure": {"randomization_factor": 1.5}}, "retry_on_failure.randomization_factor: must be between 0 and 1"),
    ({"retry_on_failure": {"initial_interval": "10s", "max_elapsed_time": "5s"}},
     "retry_on_failure.max_elapsed_time: must not be less than initial_interval"),
    ({"retry_on_failure": {"max_interval": "1m", "max_elapsed_time": "30s"}},
     "retry_on_failure.max_elapsed_time: must not be less than max_interval"),
    ({"sending_queue": {"sizer": "pages"}}, "sending_queue.sizer: must be one of requests, items, bytes"),
    ({"sending_queue": {"storage": "file_storage", "wait_for_result": True}}, "sending_queue.wait_for_result:"),
    ({"sending_queue": {"storage": "file_storage", "sizer": "items"}}, "sending_queue.sizer: a persistent queue"),
    ({"sending_queue": {"batch": {"sizer": "requests"}}}, "sending_queue.batch.sizer: batch supports only"),
    ({"sending_queue": {"batch": {"flush_timeout": "0s"}}}, "sending_queue.batch.flush_timeout: must be positive"),
    ({"sending_queue": {"batch": {"min_size": 10, "max_size": 5}}}, "sending_queue.batch.max_size:"),
    ({"sending_queue": {"sizer": "items", "queue_size": 100, "batch": {"min_size": 1000}}},
     "sending_queue.batch.min_size: must be less than or equal to queue_size"),
    ({"auth": {}}, "auth.authenticator: must name an authenticator extension"),
    ({"compression": "snappy"}, "compression: unsupported compression 'snappy' in this collector"),
])
def test_otlp_invalid_values_name_the_key(raw, expected):
    assert "exporters.x." + expected in errors(OTLPConfig, {"endpoint": "gw:4317", **raw})


def test_retry_multiplier_below_one_is_valid_as_in_configretry():
    assert decode(OTLPConfig, {"endpoint": "gw:4317", "retry_on_failure": {"multiplier": 0.5}}).retry_on_failure.multiplier == 0.5
    # disabled: nothing else is checked
    decode(OTLPConfig, {"endpoint": "gw:4317", "retry_on_failure": {"enabled": False, "multiplier": -1}})


def test_upstream_otlphttp_testdata_decodes():
    cfg = decode(HTTPConfig, {
        "endpoint": "https://1.2.3.4:1234",
        "tls": {"ca_file": "/var/lib/mycert.pem", "cert_file": "certfile", "key_file": "keyfile", "insecure": True},
        "timeout": "10s", "read_buffer_size": 123, "write_buffer_size": 345,
        "sending_queue": {"enabled": True, "num_consumers": 2, "queue_size": 10},
        "retry_on_failure": {"enabled": True, "initial_interval": "10s", "randomization_factor": 0.7,
                             "multiplier": 1.3, "max_interval": "60s", "max_elapsed_time": "10m"},
        "headers": {"header1": "234"}, "compression": "gzip", "compression_params": {"level": 9},
        "proxy_url": "http://proxy:3128", "max_idle_conns": 10, "max_idle_conns_per_host": 2,
        "max_conns_per_host": 4, "idle_conn_timeout": "90s", "disable_keep_alives": True,
        "http2_read_idle_timeout": "10s", "http2_ping_timeout": "5s", "cookies": {"enabled": True},
        "auth": {"authenticator": "oauth2client"}, "encoding": "json",
    }, "exporters.otlphttp")
    assert (cfg.read_buffer_size, cfg.write_buffer_size, cfg.compression_params.level) == (123, 345, 9)
    assert cfg.idle_conn_timeout == 90.0 and cfg.proxy_url == "http://proxy:3128" and cfg.disable_keep_alives
    assert decode(HTTPConfig, {"endpoint": "http://gw:4318"}).write_buffer_size == 512 * 1024
    for name in ("zlib", "deflate", "none", ""):
        decode(HTTPConfig, {"endpoint": "http://gw:4318", "compression": name})


@pytest.mark.parametrize("raw,expected", [
    ({"compression": "zstd"}, "compression: unsupported compression 'zstd' in this collector"),
    ({"compression": "brotli"}, "compression: unsupported compression 'brotli'"),
    ({"compression_params": {"level": 11}}, "compression_params.level: unsupported gzip level 11"),
    ({"proxy_url": "socks5://p:1080"}, "proxy_url: invalid proxy URL"),
    ({"max_idle_conns": -1}, "max_idle_conns: must not be negative"),
])
def test_otlphttp_invalid_values_name_the_key(raw, expected):
    assert "exporters.x." + expected in errors(HTTPConfig, {"endpoint": "http://gw:4318", **raw})


def _item(n_records: int) -> QueueItem:
    req = REQUEST_TYPES["logs"]()
    sl = req.resource_logs.add().scope_logs.add()
    for _ in range(n_records):
        sl.log_records.add().body.string_value = "x"
    return QueueItem("logs", n_records, [], request=req)


def test_memory_queue_counts_in_sizer_units():
    q = MemoryQueue(10, "items")
    assert q.put(_item(6)) and not q.put(_item(5)) and q.put(_item(4))
    assert q.size() == 10
    q.get(0.1)
    assert q.size() == 4 and q.put(_item(6))
    assert not MemoryQueue(10, "items").put(_item(11))  # larger than the whole queue
    b = MemoryQueue(1000, "bytes")
    item = _item(3)
    assert b.put(item) and b.size() == item.request.ByteSize()
    r = MemoryQueue(2)
    assert r.put(_item(100)) and r.put(_item(100)) and not r.put(_item(1))


def _payload(acks):
    req = REQUEST_TYPES["logs"]()
    req.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "hello"
    return Payload("logs", req, acks)


def test_wait_for_result_returns_after_the_export(sink):
    built = make_exporter(otlp_factory, {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True},
                                         "sending_queue": {"wait_for_result": True, "num_consumers": 1}})
    try:
        acks = []
        built.exporter.consume(_payload([acks.append]))
        assert acks == [True]  # settled before consume returned
    finally:
        built.shutdown()


def test_wait_for_result_raises_when_the_export_fails():
    from collector.component import Refused

    built = make_exporter(otlp_factory, {"endpoint": "127.0.0.1:1", "tls": {"insecure": True}, "timeout": "200ms",
                                         "retry_on_failure": {"enabled": False},
                                         "sending_queue": {"wait_for_result": True, "num_consumers": 1}})
    try:
        acks = []
        with pytest.raises(Refused):
            built.exporter.consume(_payload([acks.append]))
        assert acks == [False]
    finally:
        built.shutdown()


def test_configured_authenticator_fails_the_start():
    with pytest.raises((KeyError, ValueError), match="nop"):
        make_exporter(otlp_factory, {"endpoint": "gw:4317", "auth": {"authenticator": "nop"}})


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.path, self.headers.get("Content-Encoding"), self.headers.get("Connection"), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _export_one(raw):
    built = make_exporter(http_factory, {"sending_queue": {"enabled": False}, **raw})
    try:
        built.exporter.consume(_payload([]))
    finally:
        built.shutdown()


def test_zlib_compression_and_disabled_keep_alive(recorder):
    port = recorder.server_address[1]
    _export_one({"endpoint": f"http://127.0.0.1:{port}", "compression": "zlib", "disable_keep_alives": True})
    (path, encoding, connection, body), = _Recorder.seen
    assert (path, encoding, connection) == ("/v1/logs", "zlib", "close")
    assert b"hello" in zlib.decompress(body)


def test_proxy_url_gets_the_absolute_uri(recorder):
    port = recorder.server_address[1]
    # The recorder plays the proxy: a plain-http request to the gateway is sent to it by URI.
    _export_one({"endpoint": "http://gateway.invalid:4318", "proxy_url": f"http://127.0.0.1:{port}",
                 "compression": "none"})
    (path, encoding, _, body), = _Recorder.seen
    assert path == "http://gateway.invalid:4318/v1/logs" and encoding is None and b"hello" in body


def test_balancer_name_default_and_values_as_configgrpc():
    assert decode(OTLPConfig, {"endpoint": "gw:4317"}).balancer_name == "round_robin"
    assert decode(OTLPConfig, {"endpoint": "gw:4317", "balancer_name": "pick_first"}).balancer_name == "pick_first"
    assert "exporters.x.balancer_name: invalid balancer_name: fastest" in errors(
        OTLPConfig, {"endpoint": "gw:4317", "balancer_name": "fastest"})
