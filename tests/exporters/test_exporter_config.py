"""Config keys and defaults of `otlp` and `otlphttp`, as otelcol-contrib's, and the errors."""
from __future__ import annotations

import os

import pytest
import yaml

from collector.config import ConfigErrors, decode, load_config
from collector.config.tls import TLSClientConfig
from collector.exporters.exporterhelper.config import BackOffConfig, QueueConfig
from collector.exporters.otlp import factory as otlp_factory
from collector.exporters.otlp.config import Config as OTLPConfig
from collector.exporters.otlphttp import factory as http_factory
from collector.exporters.otlphttp.config import Config as HTTPConfig

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata", "config.yaml")


def _testdata():
    with open(TESTDATA) as f:
        return yaml.safe_load(f)


def test_defaults_match_otelcol():
    cfg = decode(OTLPConfig, {"endpoint": "gw:4317"})
    assert cfg.compression == "gzip" and cfg.timeout == 5.0 and cfg.headers == {}
    assert cfg.tls == TLSClientConfig() and cfg.tls.insecure is False
    assert cfg.retry_on_failure == BackOffConfig(enabled=True, initial_interval=5.0, randomization_factor=0.5,
                                                 multiplier=1.5, max_interval=30.0, max_elapsed_time=300.0)
    assert cfg.sending_queue == QueueConfig(enabled=True, num_consumers=10, queue_size=1000,
                                            block_on_overflow=False, storage=None)
    http = decode(HTTPConfig, {"endpoint": "http://gw:4318"})
    assert http.compression == "gzip" and http.timeout == 30.0 and http.encoding == "proto"
    assert http.signal_url("traces") == "http://gw:4318/v1/traces"
    assert decode(HTTPConfig, {"endpoint": "http://gw:4318/"}).signal_url("logs") == "http://gw:4318/v1/logs"
    assert otlp_factory.signals == http_factory.signals == frozenset({"logs", "metrics", "traces"})


def test_testdata_config_decodes_to_the_whole_expected_object():
    raw = _testdata()
    got = decode(OTLPConfig, raw["otlp"], "exporters.otlp")
    assert got == OTLPConfig(
        endpoint="gateway.example:4317",
        tls=TLSClientConfig(ca_file="/etc/ssl/gateway-ca.pem", server_name_override="gateway.internal"),
        compression="none", headers={"authorization": "Bearer abc"}, timeout=10.0,
        balancer_name="round_robin", keepalive={"time": "30s", "timeout": "5s", "permit_without_stream": True},
        retry_on_failure=BackOffConfig(initial_interval=1.0, max_interval=10.0, max_elapsed_time=0.0),
        sending_queue=QueueConfig(num_consumers=4, queue_size=500, block_on_overflow=True,
                                  storage="file_storage/queue"))
    http = decode(HTTPConfig, raw["otlphttp"], "exporters.otlphttp")
    assert http == HTTPConfig(endpoint="https://gateway.example:4318",
                              logs_endpoint="https://logs.example/custom/logs", encoding="json",
                              compression="", timeout=2.0, retry_on_failure=BackOffConfig(enabled=False),
                              sending_queue=QueueConfig(enabled=False))
    assert http.signal_url("logs") == "https://logs.example/custom/logs"
    assert http.signal_url("metrics") == "https://gateway.example:4318/v1/metrics"


def test_headers_are_not_in_the_printed_config():
    cfg = decode(OTLPConfig, _testdata()["otlp"])
    assert "Bearer abc" not in repr(cfg) and "Bearer abc" not in str(cfg)


@pytest.mark.parametrize("cls,raw,expected", [
    (OTLPConfig, {}, 'exporters.x.endpoint: requires a non-empty "endpoint"'),
    (OTLPConfig, {"endpoint": "gw:4317", "bogus": 1}, "exporters.x.bogus: unknown key"),
    (OTLPConfig, {"endpoint": "gw:4317", "compression": "zstd"}, "exporters.x.compression: unsupported compression 'zstd'"),
    (OTLPConfig, {"endpoint": "gw:4317", "timeout": "soon"}, "exporters.x.timeout: invalid duration 'soon'"),
    (OTLPConfig, {"endpoint": "gw:4317", "tls": {"insecure": "yes"}}, "exporters.x.tls.insecure: expected a boolean"),
    (OTLPConfig, {"endpoint": "gw:4317", "keepalive": {"tme": "1s"}}, "exporters.x.keepalive.tme: unknown key"),
    (OTLPConfig, {"endpoint": "gw:4317", "retry_on_failure": {"multiplier": -0.5}}, "exporters.x.retry_on_failure.multiplier: must not be negative"),
    (OTLPConfig, {"endpoint": "gw:4317", "retry_on_failure": {"max_elapsed_time": "-1s"}}, "exporters.x.retry_on_failure.max_elapsed_time: must not be negative"),
    (OTLPConfig, {"endpoint": "gw:4317", "sending_queue": {"queue_size": 0}}, "exporters.x.sending_queue.queue_size: must be positive"),
    (OTLPConfig, {"endpoint": "gw:4317", "sending_queue": {"blocking": True}}, "exporters.x.sending_queue.blocking: unknown key"),
    (OTLPConfig, {"endpoint": "ftp://gw:4317"}, "exporters.x.endpoint: unsupported scheme"),
    (HTTPConfig, {}, "exporters.x.endpoint: at least one endpoint must be specified"),
    (HTTPConfig, {"endpoint": "gw:4318"}, "exporters.x.endpoint: invalid URL 'gw:4318'"),
    (HTTPConfig, {"endpoint": "http://gw:4318", "encoding": "xml"}, "exporters.x.encoding: must be one of 'proto', 'json'"),
    (HTTPConfig, {"traces_endpoint": "http://gw:port"}, "exporters.x.traces_endpoint: invalid port"),
])
def test_bad_config_names_the_key(cls, raw, expected):
    with pytest.raises(ConfigErrors) as e:
        decode(cls, raw, "exporters.x")
    assert expected in str(e.value)


def test_full_collector_config_rejects_unknown_exporter_key():
    text = """
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:4317"}}}}
exporters:
  otlp: {endpoint: "gw:4317", tls: {insecure: true}, retry_on_failur: {}}
  otlphttp: {endpoint: "http://gw:4318"}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp, otlphttp]}
"""
    with pytest.raises(ConfigErrors) as e:
        load_config(["yaml:" + text])
    assert "exporters.otlp.retry_on_failur: unknown key" in str(e.value)
