"""The fake OTLP gateway: what it records, its scripted failures, TLS, output file."""
from __future__ import annotations

import json
import ssl
import time

import grpc
import pytest
import trustme
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.sink import Sink
from tests.otlp.otlp_client import grpc_export, http_export, retry_info_seconds, load_testdata


def spans_request(n: int, name: str = "op") -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    for i in range(n):
        span = ss.spans.add(name=f"{name}-{i}")
        span.trace_id = bytes(range(16))
        span.span_id = i.to_bytes(8, "big")
    return req


def logs_request(n: int) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        sl.log_records.add().body.string_value = f"line {i}"
    return req


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


def test_records_every_transport_and_encoding(sink):
    body = spans_request(3).SerializeToString()
    assert grpc_export(sink.grpc_endpoint, "traces", body).code == grpc.StatusCode.OK
    assert grpc_export(sink.grpc_endpoint, "traces", body, compression=grpc.Compression.Gzip).code == grpc.StatusCode.OK
    assert http_export(sink.http_endpoint, "/v1/traces", body).status == 200
    assert http_export(sink.http_endpoint, "/v1/traces", body, gzip=True).status == 200
    assert http_export(sink.http_endpoint, "/v1/logs", load_testdata("logs"), "application/json").status == 200
    assert sink.count("traces") == 12
    assert sink.count("logs") == 1
    assert [r["transport"] for r in sink.records] == ["grpc", "grpc", "http", "http", "http"]
    first = sink.records[0]
    assert first["signal"] == "traces"
    span = first["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert span["traceId"] == bytes(range(16)).hex() and span["spanId"] == "0000000000000001"
    assert [m.resource_spans[0].scope_spans[0].spans[2].name for m in sink.messages("traces")] == ["op-2"] * 4
    assert sink.peers("traces") == ["127.0.0.1"] * 4


def test_grpc_failure_is_scripted_with_retry_info_then_accepts(sink):
    sink.set_failure("UNAVAILABLE", times=2, retry_after=1.5, error_message="go away")
    body = spans_request(2).SerializeToString()
    answers = [grpc_export(sink.grpc_endpoint, "traces", body) for _ in range(3)]
    assert [a.code for a in answers] == [grpc.StatusCode.UNAVAILABLE] * 2 + [grpc.StatusCode.OK]
    assert answers[0].details == "go away"
    assert retry_info_seconds(answers[0].trailing) == pytest.approx(1.5)
    assert sink.count("traces") == 2 and len(sink.records) == 1  # failures are not recorded
    assert [a["status"] for a in sink.attempts] == ["UNAVAILABLE", "UNAVAILABLE", "OK"]
    assert sink.requests("traces") == 3


def test_grpc_code_name_maps_to_http_status_and_retry_after(sink):
    sink.set_failure("RESOURCE_EXHAUSTED", times=1, retry_after=2.2)
    ans = http_export(sink.http_endpoint, "/v1/traces", spans_request(1).SerializeToString())
    assert ans.status == 429
    assert ans.headers["retry-after"] == "3"  # whole seconds, rounded up
    from google.rpc import status_pb2
    assert status_pb2.Status.FromString(ans.body).code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert sink.count("traces") == 0


@pytest.mark.parametrize("status,grpc_code", [(503, "UNAVAILABLE"), (429, "RESOURCE_EXHAUSTED"),
                                              (400, "INVALID_ARGUMENT"), (500, "UNKNOWN")])
def test_http_status_is_answered_on_both_transports(sink, status, grpc_code):
    sink.set_failure(status, times=2)
    body = logs_request(1).SerializeToString()
    assert http_export(sink.http_endpoint, "/v1/logs", body).status == status
    assert grpc_export(sink.grpc_endpoint, "logs", body).code == getattr(grpc.StatusCode, grpc_code)
    assert http_export(sink.http_endpoint, "/v1/logs", body).status == 200


def test_failure_until_cleared(sink):
    sink.set_failure("UNAVAILABLE", times=-1)
    body = logs_request(1).SerializeToString()
    assert all(grpc_export(sink.grpc_endpoint, "logs", body).code == grpc.StatusCode.UNAVAILABLE for _ in range(4))
    sink.clear_failure()
    assert grpc_export(sink.grpc_endpoint, "logs", body).code == grpc.StatusCode.OK
    assert sink.count("logs") == 1


def test_delay_holds_the_answer(sink):
    sink.set_failure(delay=0.4, times=1)
    body = logs_request(1).SerializeToString()
    t0 = time.monotonic()
    assert grpc_export(sink.grpc_endpoint, "logs", body).code == grpc.StatusCode.OK
    assert time.monotonic() - t0 >= 0.4
    ans = grpc_export(sink.grpc_endpoint, "logs", body, timeout=0.2)
    assert ans.code == grpc.StatusCode.OK  # only the first answer was delayed
    sink.set_failure(delay=2, times=1)
    assert grpc_export(sink.grpc_endpoint, "logs", body, timeout=0.3).code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_partial_success_on_both_transports(sink):
    sink.set_failure(partial_rejected=2, times=2, error_message="2 spans too old")
    body = spans_request(5).SerializeToString()
    ans = grpc_export(sink.grpc_endpoint, "traces", body)
    assert ans.code == grpc.StatusCode.OK
    assert ans.response.partial_success.rejected_spans == 2
    assert ans.response.partial_success.error_message == "2 spans too old"
    h = http_export(sink.http_endpoint, "/v1/traces", json.dumps({"resourceSpans": []}).encode(), "application/json")
    assert h.status == 200 and h.json() == {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "2 spans too old"}}
    assert sink.count("traces") == 5  # partial success is an accepted request
    assert [a["status"] for a in sink.attempts] == ["PARTIAL", "PARTIAL"]


def test_set_failure_rejects_an_unknown_status(sink):
    with pytest.raises(ValueError):
        sink.set_failure("NOT_A_CODE")
    with pytest.raises(ValueError):
        sink.set_failure(99)


def test_wait_for_is_bounded_and_wakes_on_arrival(sink):
    t0 = time.monotonic()
    assert sink.wait_for(lambda s: s.count("logs") > 0, timeout=0.3) is False
    assert time.monotonic() - t0 < 2
    import threading
    threading.Timer(0.2, lambda: grpc_export(sink.grpc_endpoint, "logs", logs_request(4).SerializeToString())).start()
    assert sink.wait_for(lambda s: s.count("logs") == 4, timeout=5)


def test_out_file_has_one_json_line_per_accepted_request(tmp_path):
    out = tmp_path / "sink.jsonl"
    with Sink(out=str(out)) as s:
        s.set_failure("UNAVAILABLE", times=1)
        body = logs_request(2).SerializeToString()
        grpc_export(s.grpc_endpoint, "logs", body)
        grpc_export(s.grpc_endpoint, "logs", body)
        http_export(s.http_endpoint, "/v1/metrics", load_testdata("metrics"), "application/json")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["signal"], x["transport"]) for x in lines] == [("logs", "grpc"), ("metrics", "http")]
    assert lines[0]["request"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][1]["body"] == {"stringValue": "line 1"}


def test_max_kept_bounds_memory_but_counts_stay_exact():
    with Sink(http=None, max_kept=2) as s:
        for _ in range(5):
            grpc_export(s.grpc_endpoint, "logs", logs_request(3).SerializeToString())
        assert s.count("logs") == 15
        assert len(s.records) == 2 and s.dropped_records == 3


@pytest.fixture(scope="module")
def pki():
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client.example")
    return ca, server, client


def _files(tmp_path, ca, server, client):
    paths = {}
    for name, blob in [("ca", ca.cert_pem), ("cert", server.cert_chain_pems[0]), ("key", server.private_key_pem),
                       ("ccert", client.cert_chain_pems[0]), ("ckey", client.private_key_pem)]:
        p = tmp_path / f"{name}.pem"
        blob.write_to_path(str(p))
        paths[name] = str(p)
    return paths


def test_mutual_tls_accepts_a_client_certificate_and_refuses_none(tmp_path, pki):
    ca, server, client = pki
    f = _files(tmp_path, ca, server, client)
    with Sink(tls_cert=f["cert"], tls_key=f["key"], client_ca=f["ca"]) as s:
        assert s.http_endpoint.startswith("https://")
        body = logs_request(1).SerializeToString()
        root = ca.cert_pem.bytes()
        ok = grpc.ssl_channel_credentials(root, client.private_key_pem.bytes(), client.cert_chain_pems[0].bytes())
        assert grpc_export(s.grpc_endpoint, "logs", body, credentials=ok).code == grpc.StatusCode.OK
        no_cert = grpc.ssl_channel_credentials(root)
        assert grpc_export(s.grpc_endpoint, "logs", body, credentials=no_cert).code == grpc.StatusCode.UNAVAILABLE
        ctx = ssl.create_default_context(cafile=f["ca"])
        ctx.load_cert_chain(f["ccert"], f["ckey"])
        assert http_export(s.http_endpoint, "/v1/logs", body, context=ctx).status == 200
        bare = ssl.create_default_context(cafile=f["ca"])
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            http_export(s.http_endpoint, "/v1/logs", body, context=bare)
        assert s.count("logs") == 2


def test_tls_without_client_ca_serves_any_client(tmp_path, pki):
    ca, server, client = pki
    f = _files(tmp_path, ca, server, client)
    with Sink(tls_cert=f["cert"], tls_key=f["key"]) as s:
        body = logs_request(1).SerializeToString()
        creds = grpc.ssl_channel_credentials(ca.cert_pem.bytes())
        assert grpc_export(s.grpc_endpoint, "logs", body, credentials=creds).code == grpc.StatusCode.OK
        ctx = ssl.create_default_context(cafile=f["ca"])
        assert http_export(s.http_endpoint, "/v1/logs", body, context=ctx).status == 200
