"""Per-connection request/response matching with synthetic kernel events (no BPF needed)."""
from __future__ import annotations

import os

import pytest

from collector.config.decode import decode
from ebpf import http_metrics as hm
from ebpf.config import DiscoveryConfig, EbpfConfig, RoutesConfig
from ebpf.discovery import ServiceRegistry
from ebpf.metric_store import MetricStore
from ebpf.tcp_metrics import TcpMetrics

from .conftest import total

PROC = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ebpf", "proc")
SRV, CLI = 4242, 4243
MS = 1_000_000


@pytest.fixture
def env():
    reg = ServiceRegistry(decode(DiscoveryConfig, {}, ""), proc=PROC, self_pid=1)
    reg.scan()
    store = MetricStore(lambda: 1000.0, series_limit=50)
    drops = {}
    res = lambda p: (("service.name", p.name),)  # noqa: E731
    tcp = TcpMetrics(store, reg, res)  # names the other end of connections, as in the receiver
    http = hm.HttpMetrics(store, reg, res, RoutesConfig(), EbpfConfig(http_request_timeout=1.0, body_size_metrics=True),
                          count_drop=lambda r, n: drops.__setitem__(r, drops.get(r, 0) + n),
                          peer_name=tcp)
    return http, store, drops


def req(path="/", method="GET"):
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def resp(code=200, body=b"ok"):
    return f"HTTP/1.1 {code} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def server(http, fd, ts_ms, kind, data):
    http.handle(kind, SRV, fd, hm.ROLE_SERVER, ("127.0.0.1", 40960), ts_ms * MS, data)


def test_keepalive_requests_on_one_connection_are_matched_in_order(env):
    http, store, _ = env
    for i, code in enumerate((200, 404, 500)):
        server(http, 9, 100 * i, hm.H_READ, req(f"/r{i}"))
        server(http, 9, 100 * i + 10 * (i + 1), hm.H_WRITE, resp(code))
    s = store.series(hm.SERVER_DURATION)
    got = {dict(a)["http.response.status_code"]: (c, round(sm, 6)) for (_, a), (c, sm, _) in s.items()}
    assert got == {200: (1, 0.01), 404: (1, 0.02), 500: (1, 0.03)}
    assert total(store, hm.GRAPH_FAILED, server="checkout") == 1


def test_pipelined_requests_in_one_read_pop_one_per_response(env):
    http, store, drops = env
    server(http, 9, 0, hm.H_READ, req("/a") + req("/b"))
    server(http, 9, 5, hm.H_WRITE, resp(200))
    server(http, 9, 7, hm.H_WRITE, resp(201))
    assert total(store, hm.SERVER_DURATION) == 2
    assert drops == {}


def test_fd_reuse_after_close_starts_a_clean_connection(env):
    http, store, drops = env
    server(http, 9, 0, hm.H_READ, req("/never-answered"))
    # the same fd number, a new connection: the kernel stamps it with a new generation
    http.handle(hm.H_READ, SRV, 9, hm.ROLE_SERVER, ("127.0.0.1", 40961), 3 * MS, req("/fresh"), gen=2)
    http.handle(hm.H_WRITE, SRV, 9, hm.ROLE_SERVER, ("127.0.0.1", 40961), 4 * MS, resp(200), gen=2)
    ((count, seconds, _),) = store.series(hm.SERVER_DURATION).values()
    assert count == 1 and abs(seconds - 0.001) < 1e-9
    assert drops["http_unanswered"] == 1


def test_client_side_pairs_write_with_read_and_names_the_local_server(env):
    http, store, _ = env
    http.handle(hm.H_WRITE, CLI, 7, hm.ROLE_CLIENT, ("127.0.0.1", 8080), 0, req("/c", "POST"))
    http.handle(hm.H_READ, CLI, 7, hm.ROLE_CLIENT, ("127.0.0.1", 8080), 25 * MS, resp(201, b"done"))
    ((key, (count, seconds, _)),) = store.series(hm.CLIENT_DURATION).items()
    a = dict(key[1])
    assert (a["http.request.method"], a["http.response.status_code"], a["server.port"]) == ("POST", 201, 8080)
    assert abs(seconds - 0.025) < 1e-9
    # the server is local (checkout listens on 8080): it counts the edge itself, no double count
    assert total(store, hm.GRAPH_TOTAL) == 0 and total(store, hm.GRAPH_CLIENT, server="checkout") == 1
    assert total(store, hm.CLIENT_RESP_SIZE) == 1


def test_external_server_edge_is_counted_from_the_client(env):
    http, store, _ = env
    http.handle(hm.H_WRITE, CLI, 7, hm.ROLE_CLIENT, ("10.9.9.9", 443), 0, req())
    http.handle(hm.H_READ, CLI, 7, hm.ROLE_CLIENT, ("10.9.9.9", 443), MS, resp(503))
    assert total(store, hm.GRAPH_TOTAL, client="curl", server="10.9.9.9") == 1
    assert total(store, hm.GRAPH_FAILED, client="curl", server="10.9.9.9") == 1


def test_unmatched_response_garbage_and_timeouts_are_counted_not_fatal(env):
    http, store, drops = env
    server(http, 9, 0, hm.H_WRITE, resp(200))
    server(http, 9, 0, hm.H_READ, b"\x16\x03\x01 TLS bytes")
    server(http, 9, 0, hm.H_READ, req("/slow"))
    http.expire(10.0)  # 10 s later; the request timeout is 1 s
    assert drops == {"http_unmatched_response": 1, "http_unparsed": 1, "http_request_timeout": 1}
    assert total(store, hm.SERVER_DURATION) == 0


def test_in_flight_fifo_and_connection_table_are_bounded(env):
    http, _, drops = env
    for i in range(hm.MAX_IN_FLIGHT + 3):
        server(http, 9, i, hm.H_READ, req())
    assert len(http.conns[(SRV, 9)].pending) == hm.MAX_IN_FLIGHT
    assert drops["http_in_flight_limit"] == 3
    http.max_conns = 2
    for fd in (20, 21, 22):
        server(http, fd, 0, hm.H_READ, req())
    assert len(http.conns) == 2 and drops["http_connection_table_full"] >= 2


def test_excluded_process_is_not_recorded(env):
    http, store, _ = env
    http.registry.get(SRV).included = False
    server(http, 9, 0, hm.H_READ, req())
    server(http, 9, 1, hm.H_WRITE, resp())
    assert total(store, hm.SERVER_DURATION) == 0


def test_kernel_handover_of_an_in_flight_request_then_1xx_is_skipped(env):
    http, store, drops = env

    class Ev:  # the fields of http_tracer.c's http_event that user space reads
        def __init__(self, kind, ts, data, method=1):
            import ctypes
            self.kind, self.pid, self.fd, self.role, self.ts_ns, self.gen = kind, SRV, 9, hm.ROLE_SERVER, ts, 7
            self.peer = bytes(10) + b"\xff\xff" + bytes([127, 0, 0, 1])
            self.peer_port, self.local_port, self.client_pid, self.method = 40960, 8080, 4243, method
            self.status, self.duration_ns, self.pad = 0, 0, 0
            self.data = (ctypes.c_uint8 * 512).from_buffer_copy(data.ljust(512, b"\0"))
            self.caplen = len(data)

    http.handle_raw(Ev(hm.H_PENDING, 0, b"/first"), 0)
    http.handle_raw(Ev(hm.H_READ, MS, req("/second")), 0)
    http.handle_raw(Ev(hm.H_WRITE, 2 * MS, b"HTTP/1.1 100 Continue\r\n\r\n"), 0)
    http.handle_raw(Ev(hm.H_WRITE, 3 * MS, resp(200)), 0)
    http.handle_raw(Ev(hm.H_WRITE, 4 * MS, resp(201)), 0)
    got = {dict(a)["http.response.status_code"]: round(v[1], 6)
           for (_, a), v in store.series(hm.SERVER_DURATION).items()}
    assert got == {200: 0.003, 201: 0.003}
    # the kernel knew the client process: the edge names it
    assert total(store, hm.GRAPH_TOTAL, client="curl", server="checkout") == 2
    assert drops == {}


def test_client_counted_edges_fail_on_4xx_as_client_spans_do(env):
    http, store, _ = env
    http.handle(hm.H_WRITE, CLI, 7, hm.ROLE_CLIENT, ("10.9.9.9", 443), 0, req())
    http.handle(hm.H_READ, CLI, 7, hm.ROLE_CLIENT, ("10.9.9.9", 443), MS, resp(404))
    assert total(store, hm.GRAPH_FAILED, client="curl", server="10.9.9.9") == 1
    # a server-counted edge fails on 5xx only
    server(http, 9, 0, hm.H_READ, req())
    server(http, 9, 1, hm.H_WRITE, resp(404))
    assert total(store, hm.GRAPH_FAILED, server="checkout") == 0


def test_ignored_patterns_respect_ignore_mode(env):
    http, store, _ = env
    http.routes = hm.RouteMatcher(RoutesConfig(ignored_patterns=["/health"], ignore_mode="traces"))
    server(http, 9, 0, hm.H_READ, req("/health"))
    server(http, 9, 1, hm.H_WRITE, resp())
    assert total(store, hm.SERVER_DURATION) == 1  # only traces would be dropped: we make metrics
    http.routes = hm.RouteMatcher(RoutesConfig(ignored_patterns=["/health"]))
    server(http, 9, 2, hm.H_READ, req("/health"))
    server(http, 9, 3, hm.H_WRITE, resp())
    assert total(store, hm.SERVER_DURATION) == 1
