"""The otlp receiver's answers: success, error mappings, malformed and oversized input, gzip."""
from __future__ import annotations

import gzip
import http.client
import json
import socket
import zlib

import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.component import PermanentError, Refused
from tests.otlp.otlp_client import grpc_export, http_export
from tests.receivers.otlp.receiver_harness import RunningReceiver

PB, JS = "application/x-protobuf", "application/json"


def spans(n: int) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    for i in range(n):
        s = ss.spans.add(name=f"s{i}")
        s.trace_id, s.span_id = b"\x01" * 16, (i + 1).to_bytes(8, "big")
    return req


def logs(n: int, size: int = 10) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for _ in range(n):
        sl.log_records.add().body.string_value = "x" * size
    return req


@pytest.fixture
def rx():
    r = RunningReceiver({"grpc": {}, "http": {}}).start()
    yield r
    r.stop()


def test_accepts_grpc_and_http_and_keeps_the_peer_address(rx):
    body = spans(3).SerializeToString()
    assert grpc_export(rx.grpc, "traces", body).code == grpc.StatusCode.OK
    ans = http_export(rx.http, "/v1/traces", body)
    assert ans.status == 200 and ans.headers["content-type"] == PB and ans.body == b""
    got = rx.consumers["traces"].payloads
    assert [p.client_addr for p in got] == ["127.0.0.1", "127.0.0.1"]
    assert [p.request for p in got] == [spans(3), spans(3)]
    assert rx.metric("otelcol_receiver_accepted_spans_total", transport="grpc") == 3
    assert rx.metric("otelcol_receiver_accepted_spans_total", transport="http") == 3


def test_json_request_gets_a_json_response(rx):
    ans = http_export(rx.http, "/v1/logs", b'{"resourceLogs": []}', "application/json; charset=utf-8")
    assert ans.status == 200 and ans.headers["content-type"] == JS and ans.json() == {}


@pytest.mark.parametrize("error,grpc_code,http_status", [
    (Refused("data refused due to high memory usage"), grpc.StatusCode.UNAVAILABLE, 503),
    (PermanentError("bad data"), grpc.StatusCode.INVALID_ARGUMENT, 400),
    (RuntimeError("bug downstream"), grpc.StatusCode.UNAVAILABLE, 503),
])
def test_consumer_errors_map_as_the_collector_maps_them(rx, error, grpc_code, http_status):
    rx.consumers["logs"].error = error
    body = logs(2).SerializeToString()
    g = grpc_export(rx.grpc, "logs", body)
    assert g.code == grpc_code and str(error) in g.details
    h = http_export(rx.http, "/v1/logs", body)
    assert h.status == http_status
    assert status_pb2.Status.FromString(h.body).message == str(error)
    hj = http_export(rx.http, "/v1/logs", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}', JS)
    assert hj.status == http_status and hj.json()["message"] == str(error)
    assert rx.metric("otelcol_receiver_refused_log_records_total", transport="grpc") == 2
    assert rx.metric("otelcol_receiver_refused_log_records_total", transport="http") == 3
    assert rx.metric("otelcol_receiver_accepted_log_records_total", transport="http") == 0


def test_resource_exhaustion_with_retry_delay_is_429(rx):
    class Throttled(Refused):
        grpc_code = "RESOURCE_EXHAUSTED"
        retry_after = 3

    rx.consumers["traces"].error = Throttled("slow down")
    h = http_export(rx.http, "/v1/traces", spans(1).SerializeToString())
    assert h.status == 429 and h.headers["retry-after"] == "3"
    assert grpc_export(rx.grpc, "traces", b"").code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_malformed_protobuf_is_invalid_argument_and_400(rx):
    junk = b"\x0a\xff\xff\xff\xff\x0f garbage"
    g = grpc_export(rx.grpc, "traces", junk)
    assert g.code == grpc.StatusCode.INVALID_ARGUMENT
    h = http_export(rx.http, "/v1/traces", junk)
    assert h.status == 400 and status_pb2.Status.FromString(h.body).code == 3
    assert rx.consumers["traces"].payloads == []
    assert rx.metric("skuber_receiver_bad_requests_total", transport="http", reason="decode") == 1
    assert rx.metric("skuber_receiver_bad_requests_total", transport="grpc", reason="decode") == 1


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b'"x"', b'{"resourceSpans": 5}', b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}',
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"0102"}]}]}]}', b"\xff\xfe\x00", b"[" * 100000,
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}',
])
def test_malformed_json_is_400_in_json(rx, body):
    h = http_export(rx.http, "/v1/traces", body, JS)
    assert h.status == 400 and h.headers["content-type"] == JS
    assert h.json()["code"] == 3 and h.json()["message"]


def test_unknown_json_fields_are_ignored_as_the_spec_requires(rx):
    body = b'{"resourceSpans":[{"futureField":1,"scopeSpans":[{"spans":[{"name":"a","newThing":{"x":1}}]}]}]}'
    assert http_export(rx.http, "/v1/traces", body, JS).status == 200
    assert rx.consumers["traces"].payloads[0].request.resource_spans[0].scope_spans[0].spans[0].name == "a"


def test_other_content_type_is_415_and_unknown_path_404_and_get_405(rx):
    h = http_export(rx.http, "/v1/traces", b"{}", "text/plain")
    assert h.status == 415 and b"unsupported media type" in h.body
    assert http_export(rx.http, "/v1/other", b"", PB).status == 404
    g = http_export(rx.http, "/v1/traces", b"", PB, method="GET")
    assert g.status == 405 and g.headers["allow"] == "POST"


def test_gzip_and_deflate_bodies_are_accepted_and_unknown_encoding_is_400(rx):
    body = spans(4).SerializeToString()
    assert http_export(rx.http, "/v1/traces", body, gzip=True).status == 200
    assert http_export(rx.http, "/v1/traces", zlib.compress(body), headers={"Content-Encoding": "deflate"}).status == 200
    two_members = gzip.compress(body[:10]) + gzip.compress(body[10:])
    assert http_export(rx.http, "/v1/traces", two_members, headers={"Content-Encoding": "gzip"}).status == 200
    assert http_export(rx.http, "/v1/traces", body, headers={"Content-Encoding": "br"}).status == 400
    assert http_export(rx.http, "/v1/traces", b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"}).status == 400
    assert http_export(rx.http, "/v1/traces", gzip.compress(body)[:-12], headers={"Content-Encoding": "gzip"}).status == 400
    assert [p.request for p in rx.consumers["traces"].payloads] == [spans(4)] * 3
    assert grpc_export(rx.grpc, "traces", body, compression=grpc.Compression.Gzip).code == grpc.StatusCode.OK


def test_oversized_requests_are_413_and_resource_exhausted():
    r = RunningReceiver({"grpc": {"max_recv_msg_size_mib": 1}, "http": {"max_request_body_size": "64KiB"}}).start()
    try:
        big = logs(1, 2 * 1024 * 1024).SerializeToString()
        assert grpc_export(r.grpc, "logs", big).code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert http_export(r.http, "/v1/logs", logs(1, 70 * 1024).SerializeToString()).status == 413
        # A small gzip body that inflates beyond the limit (a "zip bomb") is refused too.
        bomb = logs(1, 10 * 1024 * 1024).SerializeToString()
        h = http_export(r.http, "/v1/logs", bomb, gzip=True)
        assert h.status == 413
        assert http_export(r.http, "/v1/logs", logs(1, 1000).SerializeToString()).status == 200
        assert grpc_export(r.grpc, "logs", logs(1, 1000).SerializeToString()).code == grpc.StatusCode.OK
        assert len(r.consumers["logs"].payloads) == 2
    finally:
        r.stop()


def test_chunked_body_and_keep_alive_on_one_connection(rx):
    host, port = rx.http.removeprefix("http://").rsplit(":", 1)
    body = spans(2).SerializeToString()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        f = s.makefile("rb")
        chunked = (f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nTransfer-Encoding: chunked\r\n\r\n"
                   f"{len(body):x}\r\n").encode() + body + b"\r\n0\r\n\r\n"
        plain = (f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {len(body)}\r\n\r\n"
                 ).encode() + body
        s.sendall(chunked + plain)
        for _ in range(2):
            status = f.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            while f.readline() not in (b"\r\n", b""):
                pass
    assert len(rx.consumers["traces"].payloads) == 2


def test_only_the_signals_of_its_pipelines_are_served():
    r = RunningReceiver({"grpc": {}, "http": {}}, signals=("logs",)).start()
    try:
        assert grpc_export(r.grpc, "traces", b"").code == grpc.StatusCode.UNIMPLEMENTED
        assert http_export(r.http, "/v1/traces", b"").status == 404
        assert grpc_export(r.grpc, "logs", b"").code == grpc.StatusCode.OK
    finally:
        r.stop()


def test_only_the_protocols_listed_are_served():
    r = RunningReceiver({"http": {"traces_url_path": "custom/traces"}}).start()
    try:
        assert set(r.receiver.endpoints) == {"http"}
        assert http_export(r.http, "/custom/traces", spans(1).SerializeToString()).status == 200
        assert http_export(r.http, "/v1/traces", spans(1).SerializeToString()).status == 404
    finally:
        r.stop()


def test_a_busy_port_fails_start_with_the_endpoint_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        for proto in ("grpc", "http"):
            r = RunningReceiver({proto: {"endpoint": f"127.0.0.1:{port}"}})
            with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
                r.start()
            r.stop()


def test_json_with_snake_case_names_and_string_or_number_int64(rx):
    doc = {"resource_spans": [{"scope_spans": [{"spans": [
        {"trace_id": "5B8EFFF798038103D269B633813FC60C", "span_id": "eee19b7ec3c1b174",
         "start_time_unix_nano": "1544712660000000000", "end_time_unix_nano": 1544712661000000000,
         "kind": "SPAN_KIND_SERVER", "name": "x"}]}]}]}
    assert http_export(rx.http, "/v1/traces", json.dumps(doc).encode(), JS).status == 200
    span = rx.consumers["traces"].payloads[0].request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.end_time_unix_nano - span.start_time_unix_nano == 10 ** 9 and span.kind == 2


def test_server_tls_and_mutual_tls_from_config(tmp_path):
    import ssl

    import trustme

    ca = trustme.CA()
    server, client = ca.issue_cert("127.0.0.1"), ca.issue_cert("app.example")
    paths = {}
    for name, blob in [("ca", ca.cert_pem), ("cert", server.cert_chain_pems[0]), ("key", server.private_key_pem),
                       ("ccert", client.cert_chain_pems[0]), ("ckey", client.private_key_pem)]:
        blob.write_to_path(str(tmp_path / name))
        paths[name] = str(tmp_path / name)
    tls = {"cert_file": paths["cert"], "key_file": paths["key"], "client_ca_file": paths["ca"]}
    r = RunningReceiver({"grpc": {"tls": tls}, "http": {"tls": tls}}).start()
    try:
        body = spans(1).SerializeToString()
        with_cert = grpc.ssl_channel_credentials(ca.cert_pem.bytes(), client.private_key_pem.bytes(),
                                                 client.cert_chain_pems[0].bytes())
        assert grpc_export(r.grpc, "traces", body, credentials=with_cert).code == grpc.StatusCode.OK
        no_cert = grpc.ssl_channel_credentials(ca.cert_pem.bytes())
        assert grpc_export(r.grpc, "traces", body, credentials=no_cert).code == grpc.StatusCode.UNAVAILABLE
        https = r.http.replace("http://", "https://")
        ctx = ssl.create_default_context(cafile=paths["ca"])
        ctx.load_cert_chain(paths["ccert"], paths["ckey"])
        assert http_export(https, "/v1/traces", body, context=ctx).status == 200
        with pytest.raises(OSError):  # ssl.SSLError and connection resets are OSErrors
            http_export(https, "/v1/traces", body, context=ssl.create_default_context(cafile=paths["ca"]))
        with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP to a TLS port
            http_export(r.http, "/v1/traces", body)
        assert len(r.consumers["traces"].payloads) == 2
        assert r.metric("skuber_receiver_bad_requests_total", transport="http", reason="tls") >= 1
    finally:
        r.stop()
