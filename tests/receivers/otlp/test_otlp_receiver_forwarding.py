"""Through the whole agent: client -> otlp receiver -> engine -> otlp exporter -> sink.

The published OTLP/JSON examples must arrive at the gateway with exactly the content sent, and
the OpenTelemetry Python SDK's own exporters must be understood as a real app's would be.
"""
from __future__ import annotations

import json
import time

import pytest

from collector.otlp.json_codec import from_json
from collector.sink import Sink
from collector.testing import free_port, start_service
from tests.otlp.otlp_client import grpc_export, http_export, load_testdata

SIGNALS = ("traces", "logs", "metrics")


@pytest.fixture
def agent():
    sink = Sink().start()
    gport, hport = free_port(), free_port()
    svc = start_service(f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{gport}"}}
      http: {{endpoint: "127.0.0.1:{hport}"}}
exporters:
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{insecure: true}}, retry_on_failure: {{initial_interval: 100ms}}}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp]}}
    logs: {{receivers: [otlp], exporters: [otlp]}}
    metrics: {{receivers: [otlp], exporters: [otlp]}}
""")
    yield sink, f"127.0.0.1:{gport}", f"http://127.0.0.1:{hport}"
    svc.shutdown(time.monotonic() + 5)
    sink.stop()


@pytest.mark.parametrize("signal", SIGNALS)
def test_published_json_examples_are_forwarded_with_the_same_content(agent, signal):
    sink, _, http = agent
    sent = load_testdata(signal)
    ans = http_export(http, f"/v1/{signal}", sent, "application/json")
    assert ans.status == 200, ans.body
    assert sink.wait_for(lambda s: len(s.messages(signal)) == 1, timeout=10)
    (received,) = sink.messages(signal)
    assert received == from_json(signal, json.loads(sent))
    # And the gateway's OTLP/JSON view carries the same ids, names and values.
    (record,) = [r for r in sink.records if r["signal"] == signal]
    assert from_json(signal, record["request"]) == received


def test_protobuf_over_grpc_is_forwarded_unchanged(agent):
    sink, grpc_ep, _ = agent
    request = from_json("logs", json.loads(load_testdata("logs")))
    for _ in range(3):
        assert grpc_export(grpc_ep, "logs", request.SerializeToString()).code.name == "OK"
    assert sink.wait_for(lambda s: s.count("logs") == 3, timeout=10)
    assert all(m == request for m in sink.messages("logs"))


def test_the_opentelemetry_sdk_exporters_reach_the_gateway_through_the_agent(agent):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    sink, grpc_ep, http = agent
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(GRPCSpanExporter(endpoint=grpc_ep, insecure=True)))
    provider.add_span_processor(SimpleSpanProcessor(HTTPSpanExporter(endpoint=f"{http}/v1/traces")))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("pay", attributes={"amount": 42}) as span:
        ctx = span.get_span_context()
    provider.shutdown()
    assert sink.wait_for(lambda s: s.count("traces") == 2, timeout=15)
    for msg in sink.messages("traces"):
        rs = msg.resource_spans[0]
        got = rs.scope_spans[0].spans[0]
        assert {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"] == "checkout"
        assert got.name == "pay" and got.trace_id == ctx.trace_id.to_bytes(16, "big")
        assert got.span_id == ctx.span_id.to_bytes(8, "big")
        assert got.attributes[0].key == "amount" and got.attributes[0].value.int_value == 42
