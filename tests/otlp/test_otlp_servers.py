"""The shared OTLP servers: status tables, handler contract, connection limits, stop, CORS."""
from __future__ import annotations

import http.client
import os
import socket
import threading
import time

import grpc
import pytest

from collector.otlp.cors import CORSPolicy
from collector.otlp.grpc_server import GRPCServer, GRPCSettings, peer_ip
from collector.otlp.http_server import HTTPServer, HTTPSettings
from collector.otlp.listen import split_endpoint
from collector.otlp.status import ExportFailure, PartialSuccess, grpc_code_for, http_status_for
from collector.testing import wait_until
from tests.otlp.otlp_client import grpc_export, http_export


@pytest.mark.parametrize("code,status", [
    ("UNAVAILABLE", 503), ("CANCELLED", 503), ("DEADLINE_EXCEEDED", 503), ("ABORTED", 503), ("OUT_OF_RANGE", 503),
    ("DATA_LOSS", 503), ("RESOURCE_EXHAUSTED", 429), ("INVALID_ARGUMENT", 400), ("UNAUTHENTICATED", 401),
    ("PERMISSION_DENIED", 403), ("UNIMPLEMENTED", 404), ("INTERNAL", 500), ("UNKNOWN", 500)])
def test_grpc_codes_map_to_http_as_the_collector_maps_them(code, status):
    assert http_status_for(code) == status


@pytest.mark.parametrize("status,code", [
    (400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"), (404, "UNIMPLEMENTED"),
    (429, "RESOURCE_EXHAUSTED"), (502, "UNAVAILABLE"), (503, "UNAVAILABLE"), (504, "UNAVAILABLE"),
    (500, "UNKNOWN"), (418, "UNKNOWN")])
def test_http_statuses_map_to_grpc_codes(status, code):
    assert grpc_code_for(status) == code


def test_export_failure_from_either_kind_of_status():
    f = ExportFailure.from_status("unavailable", "x", retry_after=0.2)
    assert (f.grpc_code, f.http_status, f.retry_after_header()) == ("UNAVAILABLE", 503, "1")
    assert ExportFailure.from_status("429").grpc_code == "RESOURCE_EXHAUSTED"
    for bad in ("NOPE", 700, True):
        with pytest.raises(ValueError):
            ExportFailure.from_status(bad)


def test_endpoints_and_peers_parse():
    assert split_endpoint("localhost:4317") == ("localhost", 4317)
    assert split_endpoint("[::1]:4318") == ("::1", 4318)
    assert split_endpoint(":4318") == ("", 4318)
    for bad in ("4317", "host:", "::1:4317", "h:99999"):
        with pytest.raises(ValueError):
            split_endpoint(bad)
    assert peer_ip("ipv4:10.1.2.3:5000") == "10.1.2.3"
    assert peer_ip("ipv6:[::1]:5000") == "::1"
    assert peer_ip("ipv6:%5B::1%5D:5000") == "::1"
    assert peer_ip("unix:/tmp/sock") is None


class Recorder:
    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer
        self.gate: threading.Event | None = None

    def __call__(self, signal, request, transport, peer):
        self.calls.append((signal, transport, peer))
        if self.gate is not None:
            self.gate.wait(5)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_handler_bug_is_answered_unavailable_and_the_server_keeps_serving():
    handler = Recorder(ZeroDivisionError("oops"))
    g = GRPCServer(GRPCSettings(endpoint="127.0.0.1:0"), handler)
    h = HTTPServer(HTTPSettings(endpoint="127.0.0.1:0"), handler)
    g.start()
    h.start()
    try:
        assert grpc_export(g.endpoint, "logs", b"").code == grpc.StatusCode.UNAVAILABLE
        assert http_export("http://" + h.endpoint, "/v1/logs", b"").status == 503
        handler.answer = PartialSuccess(1, "one bad")
        assert grpc_export(g.endpoint, "logs", b"").response.partial_success.rejected_log_records == 1
        assert handler.calls == [("logs", "grpc", "127.0.0.1"), ("logs", "http", "127.0.0.1"),
                                 ("logs", "grpc", "127.0.0.1")]
    finally:
        g.stop()
        h.stop()


def test_stop_cuts_idle_keep_alive_connections_promptly():
    h = HTTPServer(HTTPSettings(endpoint="127.0.0.1:0", idle_timeout=60), Recorder())
    h.start()
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=5)
    conn.request("POST", "/v1/logs", b"", {"Content-Type": "application/x-protobuf"})
    assert conn.getresponse().read() == b""
    t0 = time.monotonic()
    h.stop(grace=0.5)
    assert time.monotonic() - t0 < 2
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("POST", "/v1/logs", b"", {"Content-Type": "application/x-protobuf"})
        conn.getresponse()
    conn.close()


def test_stop_lets_a_request_in_flight_finish():
    handler = Recorder()
    handler.gate = threading.Event()
    h = HTTPServer(HTTPSettings(endpoint="127.0.0.1:0"), handler)
    h.start()
    result = {}
    t = threading.Thread(target=lambda: result.update(a=http_export("http://" + h.endpoint, "/v1/logs", b"")))
    t.start()
    assert wait_until(lambda: handler.calls)
    threading.Timer(0.3, handler.gate.set).start()
    h.stop(grace=3)
    t.join(5)
    assert result["a"].status == 200


def test_connections_beyond_the_limit_wait_for_a_free_slot():
    handler = Recorder()
    h = HTTPServer(HTTPSettings(endpoint="127.0.0.1:0", max_connections=1), handler)
    h.start()
    try:
        first = socket.create_connection(("127.0.0.1", h.port), timeout=5)  # holds the only slot
        assert wait_until(lambda: h._slots._value == 0)
        result = {}
        t = threading.Thread(target=lambda: result.update(a=http_export("http://" + h.endpoint, "/v1/logs", b"")))
        t.start()
        time.sleep(0.3)
        assert "a" not in result  # queued in the listen backlog, not served and not refused
        first.close()
        t.join(5)
        assert result["a"].status == 200
    finally:
        h.stop()


def test_cors_preflight_and_actual_request_headers():
    cors = CORSPolicy.build(["https://*.example.com"], ["X-Custom"], 600)
    h = HTTPServer(HTTPSettings(endpoint="127.0.0.1:0", cors=cors), Recorder())
    h.start()
    try:
        base = "http://" + h.endpoint
        ok = http_export(base, "/v1/traces", b"", method="OPTIONS", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-custom"})
        assert ok.status == 204
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        assert ok.headers["access-control-allow-methods"] == "POST"
        assert ok.headers["access-control-allow-headers"] == "content-type, x-custom"
        assert ok.headers["access-control-max-age"] == "600"
        bad = http_export(base, "/v1/traces", b"", method="OPTIONS", headers={
            "Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
        assert bad.status == 204 and "access-control-allow-origin" not in bad.headers
        post = http_export(base, "/v1/traces", b"", headers={"Origin": "https://app.example.com"})
        assert post.status == 200 and post.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "access-control-allow-origin" not in http_export(base, "/v1/traces", b"",
                                                                headers={"Origin": "https://x.org"}).headers
    finally:
        h.stop()


def test_without_cors_options_is_method_not_allowed():
    h = HTTPServer(HTTPSettings(endpoint="127.0.0.1:0"), Recorder())
    h.start()
    try:
        assert http_export("http://" + h.endpoint, "/v1/traces", b"", method="OPTIONS").status == 405
    finally:
        h.stop()


@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_a_taken_port_is_reported_as_address_already_in_use(kind):
    # grpcio itself only says "Failed to bind"; a person needs the reason.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    endpoint = f"127.0.0.1:{taken.getsockname()[1]}"
    server = (GRPCServer(GRPCSettings(endpoint=endpoint), Recorder()) if kind == "grpc"
              else HTTPServer(HTTPSettings(endpoint=endpoint), Recorder()))
    try:
        with pytest.raises(OSError) as e:
            server.start()
        assert f"cannot listen on {endpoint}" in str(e.value)
        assert "address already in use" in str(e.value).lower()
    finally:
        server.stop()
        taken.close()


def test_http_server_on_a_unix_socket_starts_again_after_stop(tmp_path):
    path = str(tmp_path / "otlp.sock")
    for _ in range(2):  # the second start fails if stop() left the socket file behind
        h = HTTPServer(HTTPSettings(endpoint=path, transport="unix"), Recorder())
        h.start()
        h.stop()
    assert not os.path.exists(path)
