"""OTLP/JSON codec: the spec's encoding rules and the published example payloads."""
from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.otlp.json_codec import JSONDecodeError, from_json, parse_json_bytes, to_json
from tests.otlp.otlp_client import load_testdata

SIGNALS = ("traces", "logs", "metrics")


def normalized(obj, key=""):
    """The OTLP/JSON values a reader must treat as equal written one way: ids lower-case hex,
    64-bit integers (strings or numbers) and doubles as numbers."""
    if isinstance(obj, dict):
        return {k: normalized(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [normalized(v, key) for v in obj]
    if key in ("traceId", "spanId", "parentSpanId"):
        return obj.lower()
    if isinstance(obj, str) and key.endswith(("UnixNano", "intValue", "count", "asInt")) or key == "bucketCounts":
        return int(obj)
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return float(obj)
    return obj


@pytest.mark.parametrize("signal", SIGNALS)
def test_published_examples_round_trip_with_the_same_content(signal):
    original = json.loads(load_testdata(signal))
    request = from_json(signal, original)
    out = to_json(signal, request)
    assert normalized(out) == normalized(original)
    assert from_json(signal, out) == request  # what we write, we (and any OTLP reader) read back
    assert json.loads(load_testdata(signal)) == original  # the input dict was not modified


def test_ids_are_hex_on_output_and_either_case_on_input():
    req = from_json("traces", json.loads(load_testdata("traces")))
    span = req.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id == bytes.fromhex("5B8EFFF798038103D269B633813FC60C")
    assert span.parent_span_id == bytes.fromhex("EEE19B7EC3C1B173")
    out_span = to_json("traces", req)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert out_span["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert out_span["spanId"] == "eee19b7ec3c1b174"


def test_int64_are_strings_and_enums_are_ints_on_output():
    out = to_json("traces", from_json("traces", json.loads(load_testdata("traces"))))
    span = out["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["startTimeUnixNano"] == "1544712660000000000" and span["kind"] == 2


def test_link_and_exemplar_ids_are_hex_too():
    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    link = span.links.add(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8)
    span.events.add(name="e")
    out = to_json("traces", req)
    assert out["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["links"][0] == {
        "traceId": "ab" * 16, "spanId": "cd" * 8}
    assert from_json("traces", out).resource_spans[0].scope_spans[0].spans[0].links[0] == link

    m = ExportMetricsServiceRequest()
    metric = m.resource_metrics.add().scope_metrics.add().metrics.add(name="h")
    dp = metric.histogram.data_points.add(count=1)
    dp.exemplars.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, as_int=7)
    out = to_json("metrics", m)
    ex = out["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"][0]["exemplars"][0]
    assert ex == {"traceId": "01" * 16, "spanId": "02" * 8, "asInt": "7"}
    assert from_json("metrics", out) == m


def test_bytes_attribute_values_stay_base64():
    doc = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"bytesValue": "AAEC"}}]}]}]}
    req = from_json("logs", doc)
    assert req.resource_logs[0].scope_logs[0].log_records[0].body.bytes_value == b"\x00\x01\x02"
    assert to_json("logs", req) == doc


def test_original_field_names_are_accepted():
    doc = {"resource_logs": [{"scope_logs": [{"log_records": [
        {"trace_id": "01" * 16, "span_id": "02" * 8, "severity_number": 9, "time_unix_nano": 5}]}]}]}
    rec = from_json("logs", doc).resource_logs[0].scope_logs[0].log_records[0]
    assert (rec.trace_id, rec.span_id, rec.severity_number, rec.time_unix_nano) == (b"\x01" * 16, b"\x02" * 8, 9, 5)


def test_empty_ids_mean_unset():
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "", "spanId": "", "name": "n"}]}]}]}
    span = from_json("traces", doc).resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id == b"" and span.name == "n"


@pytest.mark.parametrize("doc", [
    [], "x", None,
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abc"}]}]}]},        # odd length
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 8}]}]}]},     # 8 bytes, not 16
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 12}]}]}]},            # not a string
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]},                # not a string
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": -1}]}]}]},  # uint64
    {"resourceSpans": {"scopeSpans": []}},
])
def test_invalid_documents_raise_a_value_error(doc):
    with pytest.raises(JSONDecodeError):
        from_json("traces", doc)


def test_parse_json_bytes_rejects_non_json_and_deep_nesting():
    with pytest.raises(ValueError):
        parse_json_bytes("logs", b"\x00\x01")
    with pytest.raises(ValueError):
        parse_json_bytes("logs", b'{"resourceLogs":' + b"[" * 50000 + b"]" * 50000 + b"}")
