"""Both exporters inside a real Service: the engine logs `Everything is ready` once they
connected (no data needed), and data from the otlp receiver reaches the sink through both."""
from __future__ import annotations

import logging
import time

import grpc

from collector.testing import free_port, start_service, wait_until
from tests.exporters.harness import spans_request

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{port}"}}
exporters:
  otlp: {{endpoint: "{grpc}", tls: {{insecure: true}}}}
  otlphttp: {{endpoint: "{http}"}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp, otlphttp]}}
"""


def test_everything_is_ready_once_both_exporters_connected_and_data_flows(sink, caplog):
    port = free_port()
    with caplog.at_level(logging.INFO):
        svc = start_service(CONFIG.format(port=port, grpc=sink.grpc_endpoint, http=sink.http_endpoint))
        try:
            assert wait_until(lambda: "Everything is ready" in caplog.text, timeout=15)
            assert sink.attempts == []
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                             request_serializer=None, response_deserializer=None)
                export(spans_request(7).SerializeToString(), timeout=10)
            assert sink.wait_for(lambda s: s.count("traces") == 14, timeout=10)
            assert sorted(r["transport"] for r in sink.records) == ["grpc", "http"]
        finally:
            svc.shutdown(time.monotonic() + 5)
    assert caplog.text.count("Everything is ready") == 1


def test_unreachable_gateway_keeps_the_agent_not_ready_and_says_why(caplog):
    port, dead = free_port(), free_port()
    with caplog.at_level(logging.INFO):
        svc = start_service(CONFIG.format(port=port, grpc=f"127.0.0.1:{dead}", http=f"http://127.0.0.1:{dead}"))
        try:
            assert wait_until(lambda: caplog.text.count("connection refused") >= 2, timeout=15)
        finally:
            svc.shutdown(time.monotonic() + 5)
    assert "Everything is ready" not in caplog.text
    assert f"127.0.0.1:{dead}" in caplog.text
