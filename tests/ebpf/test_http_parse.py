"""HTTP/1.x heads from captured buffers, and http.route decisions."""
from __future__ import annotations

from ebpf.config import RoutesConfig
from ebpf.http_parse import parse_requests, parse_responses
from ebpf.routes import RouteMatcher


def test_request_line_method_and_path_without_query():
    (r,) = parse_requests(b"GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (r.method, r.path, r.content_length) == ("GET", "/users/42", None)


def test_pipelined_requests_with_bodies_are_all_found():
    data = (b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /b HTTP/1.1\r\n\r\nDELETE /c HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [(r.method, r.path, r.content_length) for r in parse_requests(data)] == [
        ("POST", "/a", 5), ("GET", "/b", None), ("DELETE", "/c", None)]


def test_truncated_capture_still_yields_the_started_message():
    assert [r.path for r in parse_requests(b"GET /long/path HTTP/1.1\r\nHost: exa")] == ["/long/path"]
    assert [r.status for r in parse_responses(b"HTTP/1.1 503 Service Unav")] == [503]


def test_responses_walk_bodies_by_content_length_and_stop_at_chunked():
    data = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/1.1 999")
    assert [(r.status, r.content_length) for r in parse_responses(data)] == [(200, 2), (404, None)]


def test_non_http_and_garbage_yield_nothing():
    for data in (b"", b"\x00\x01\x02\x03", b"GETX / HTTP/1.1\r\n", b"HTTP/1.1 2x0 OK\r\n",
                 b"GET / SPDY/3\r\n", b"\xff\xfe / HTTP/1.1\r\n"):
        assert parse_requests(data) == []
        assert parse_responses(data) == []


def test_route_patterns_then_unmatched_modes():
    cfg = RoutesConfig(patterns=["/users/{id}", "/files/:name/raw"], ignored_patterns=["/health"])
    m = RouteMatcher(cfg)
    assert m.route("/users/42") == "/users/{id}"
    assert m.route("/files/a.txt/raw") == "/files/:name/raw"
    assert m.route("/other") == "/**"
    assert m.ignored_path("/health") and not m.ignored_path("/healthz")
    assert RouteMatcher(RoutesConfig(unmatched="unset")).route("/x") is None
    assert RouteMatcher(RoutesConfig(unmatched="path")).route("/x/1") == "/x/1"
    assert RouteMatcher(RoutesConfig(unmatched="heuristic")).route(
        "/orders/12345/items/3f2a9c1e-0000-4000-8000-123456789abc") == "/orders/*/items/*"
