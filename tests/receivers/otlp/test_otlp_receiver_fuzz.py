"""Random bytes and random JSON at both endpoints: no crash, only 200 or 4xx, still serving."""
from __future__ import annotations

import json
import socket

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.otlp.otlp_client import grpc_export, http_export, load_testdata
from tests.receivers.otlp.receiver_harness import RunningReceiver

# No example database: the run must not write files into the checkout.
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
PATHS = {"traces": "/v1/traces", "logs": "/v1/logs", "metrics": "/v1/metrics"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=40)
    | st.sampled_from(["5B8EFFF798038103D269B633813FC60C", "eee19b7ec3c1b174", "NaN", "-1", "1e400"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25)

# OTLP-shaped documents whose leaves are random: they reach deep into the id fix-ups and the
# protobuf JSON parser, where fully random JSON would stop at the first level.
_keys = st.sampled_from(["traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano", "attributes",
                         "links", "body", "timeUnixNano", "asInt", "asDouble", "exemplars", "dataPoints",
                         "severityNumber", "flags", "status", "events", "value", "key", "intValue", "bytesValue"])
_items = st.lists(st.dictionaries(_keys, json_values, max_size=5), max_size=3)
otlp_shaped = st.sampled_from(["traces", "logs", "metrics"]).flatmap(lambda signal: st.tuples(st.just(signal), {
    "traces": st.fixed_dictionaries({"resourceSpans": st.lists(st.fixed_dictionaries(
        {"scopeSpans": st.lists(st.fixed_dictionaries({"spans": _items}), max_size=2)}), max_size=2)}),
    "logs": st.fixed_dictionaries({"resource_logs": st.lists(st.fixed_dictionaries(
        {"scopeLogs": st.lists(st.fixed_dictionaries({"logRecords": _items}), max_size=2)}), max_size=2)}),
    "metrics": st.fixed_dictionaries({"resourceMetrics": st.lists(st.fixed_dictionaries(
        {"scopeMetrics": st.lists(st.fixed_dictionaries({"metrics": st.lists(st.fixed_dictionaries(
            {"sum": st.fixed_dictionaries({"dataPoints": _items})}), max_size=2)}), max_size=2)}),
        max_size=2)}),
}[signal]))


@pytest.fixture(scope="module")
def rx():
    r = RunningReceiver({"grpc": {}, "http": {"max_request_body_size": "256KiB"}}).start()
    yield r
    r.stop()


@FUZZ
@given(body=st.binary(max_size=2048), signal=st.sampled_from(list(PATHS)),
       ctype=st.sampled_from(["application/x-protobuf", "application/json"]), gz=st.booleans())
def test_random_bytes_over_http_get_200_or_4xx(rx, body, signal, ctype, gz):
    ans = http_export(rx.http, PATHS[signal], body, ctype, gzip=gz)
    assert ans.status == 200 or 400 <= ans.status < 500, (ans.status, ans.body[:200])


@FUZZ
@given(body=st.binary(max_size=2048), encoding=st.sampled_from(["gzip", "deflate", "identity"]))
def test_random_bytes_with_a_content_encoding_get_200_or_4xx(rx, body, encoding):
    ans = http_export(rx.http, "/v1/logs", body, headers={"Content-Encoding": encoding})
    assert ans.status == 200 or 400 <= ans.status < 500


@FUZZ
@given(body=st.binary(max_size=2048), signal=st.sampled_from(list(PATHS)), gz=st.booleans())
def test_random_bytes_over_grpc_get_ok_or_invalid_argument(rx, body, signal, gz):
    ans = grpc_export(rx.grpc, signal, body, compression=grpc.Compression.Gzip if gz else None)
    assert ans.code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT), (ans.code, ans.details)


@FUZZ
@given(doc=json_values, signal=st.sampled_from(list(PATHS)))
def test_random_json_gets_200_or_400(rx, doc, signal):
    ans = http_export(rx.http, PATHS[signal], json.dumps(doc).encode(), "application/json")
    assert ans.status in (200, 400), (ans.status, ans.body[:200])
    if ans.status == 400:
        assert ans.json()["code"] == 3


@FUZZ
@given(case=otlp_shaped, gz=st.booleans())
def test_random_otlp_shaped_json_gets_200_or_400(rx, case, gz):
    signal, doc = case
    ans = http_export(rx.http, PATHS[signal], json.dumps(doc).encode(), "application/json", gzip=gz)
    assert ans.status in (200, 400), (ans.status, ans.body[:300])


@FUZZ
@given(head=st.sampled_from([b"", b"POST /v1/logs HTTP/1.1\r\n", b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\n"]),
       raw=st.binary(max_size=1024))
def test_random_bytes_on_the_http_socket_get_4xx_or_nothing(rx, head, raw):
    host, port = rx.http.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        try:
            s.sendall(head + raw)
            s.shutdown(socket.SHUT_WR)  # EOF: the server must not wait for more
            answer = b""
            while len(answer) < 65536:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            return  # the server may drop a hopeless connection; it must keep serving others
    if answer:
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4", b"HTTP/1.1 200")), status_line


def test_receiver_serves_after_the_fuzzing(rx):
    before = len(rx.consumers["traces"].payloads)
    assert http_export(rx.http, "/v1/traces", load_testdata("traces"), "application/json").status == 200
    assert grpc_export(rx.grpc, "traces", b"").code == grpc.StatusCode.OK
    assert len(rx.consumers["traces"].payloads) == before + 2
