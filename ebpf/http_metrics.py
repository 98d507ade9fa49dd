"""HTTP RED metrics and the service graph from http_tracer.c's message-start events.

Per connection (pid, fd) a FIFO of requests awaiting their response: the server side pushes a
request when it reads one and pops it when it writes a response; the client side pushes on
write and pops on read. That makes keep-alive (many requests per connection) and pipelining
(several requests in flight) come out right, and an H_OPEN event for a reused fd starts clean.
"""
from __future__ import annotations

import ctypes
import dataclasses
from collections import OrderedDict, deque
from typing import Callable

from .config import EbpfConfig, RoutesConfig
from .discovery import Process, ServiceRegistry
from .http_parse import parse_requests, parse_responses
from .metric_store import DURATION_BUCKETS, SIZE_BUCKETS, Attrs, MetricStore, attrs
from .routes import RouteMatcher
from .tcp_metrics import decode_addr

H_READ, H_WRITE, H_OPEN, H_CLOSE = 1, 2, 3, 4
ROLE_CLIENT, ROLE_SERVER = 1, 2
MAX_IN_FLIGHT = 64  # requests awaiting a response on one connection

SERVER_DURATION = "http.server.request.duration"
CLIENT_DURATION = "http.client.request.duration"
SERVER_REQ_SIZE = "http.server.request.body.size"
SERVER_RESP_SIZE = "http.server.response.body.size"
CLIENT_REQ_SIZE = "http.client.request.body.size"
CLIENT_RESP_SIZE = "http.client.response.body.size"
GRAPH_TOTAL = "traces_service_graph_request_total"
GRAPH_FAILED = "traces_service_graph_request_failed_total"
GRAPH_SERVER = "traces_service_graph_request_server_seconds"
GRAPH_CLIENT = "traces_service_graph_request_client_seconds"
GRAPH_RESOURCE: Attrs = ()  # the service graph is the node's view, not one service's


@dataclasses.dataclass
class Pending:
    ts_ns: int
    method: str
    path: str
    body: int | None


@dataclasses.dataclass
class Conn:
    role: int
    peer: tuple[str, int]
    local_port: int = 0
    pending: deque = dataclasses.field(default_factory=deque)


class HttpMetrics:
    def __init__(self, store: MetricStore, registry: ServiceRegistry,
                 resource_of: Callable[[Process], Attrs], routes: RoutesConfig, ebpf: EbpfConfig,
                 count_drop: Callable[[str, int], None] | None = None, peer_name=None) -> None:
        self.store = store
        self.registry = registry
        self.resource_of = resource_of
        self.routes = RouteMatcher(routes)
        self.timeout_ns = int(ebpf.http_request_timeout * 1e9)
        self.max_conns = ebpf.max_http_connections
        self.count_drop = count_drop or (lambda reason, n: None)
        self.peers = peer_name  # TcpMetrics: names the other end of a connection
        self.conns: "OrderedDict[tuple[int, int], Conn]" = OrderedDict()
        self.tracer = None
        d = store.define
        d(SERVER_DURATION, "histogram", "s", "Duration of HTTP server requests.", DURATION_BUCKETS)
        d(CLIENT_DURATION, "histogram", "s", "Duration of HTTP client requests.", DURATION_BUCKETS)
        for name, what in ((SERVER_REQ_SIZE, "HTTP server request bodies"),
                           (SERVER_RESP_SIZE, "HTTP server response bodies"),
                           (CLIENT_REQ_SIZE, "HTTP client request bodies"),
                           (CLIENT_RESP_SIZE, "HTTP client response bodies")):
            d(name, "histogram", "By", f"Size of {what} (from Content-Length).", SIZE_BUCKETS)
        d(GRAPH_TOTAL, "sum", "{request}", "Requests between two services.")
        d(GRAPH_FAILED, "sum", "{request}", "Failed requests (5xx) between two services.")
        d(GRAPH_SERVER, "histogram", "s", "Request duration between two services, server side.", DURATION_BUCKETS)
        d(GRAPH_CLIENT, "histogram", "s", "Request duration between two services, client side.", DURATION_BUCKETS)

    # --- kernel side ----------------------------------------------------------------------
    def attach(self, tracer) -> None:
        self.tracer = tracer

    def seed(self, seeds) -> None:
        """Connections that existed before the agent started, from the /proc scan."""
        if self.tracer is None:
            return
        table = self.tracer.table("conns")
        for pid, fd, role, sock in seeds:
            key = (pid, fd)
            if key in self.conns:
                continue
            peer = (sock.remote_addr, sock.remote_port)
            self._put(key, Conn(role, peer, sock.local_port if role == ROLE_SERVER else 0))
            leaf = table.Leaf()
            leaf.role = role
            leaf.peer_port = sock.remote_port
            try:
                import ipaddress
                ip = ipaddress.ip_address(sock.remote_addr)
                leaf.family = 2 if ip.version == 4 else 10
                for i, b in enumerate(ip.packed):
                    leaf.peer[i] = b
                with self.tracer.lock:
                    table[table.Key((pid << 32) | fd)] = leaf
            except (ValueError, Exception):
                self.count_drop("seed_failed", 1)

    def handle_raw(self, e, size: int) -> None:
        data = ctypes.string_at(ctypes.addressof(e.data), min(e.caplen, len(e.data))) if e.caplen else b""
        peer = (decode_addr(e.family, bytes(e.peer)), e.peer_port) if e.family else ("", 0)
        self.handle(e.kind, e.pid, e.fd, e.role, peer, e.ts_ns, data)

    # --- user space -----------------------------------------------------------------------
    def _put(self, key, conn: Conn) -> None:
        self.conns[key] = conn
        self.conns.move_to_end(key)
        if len(self.conns) > self.max_conns:
            _, old = self.conns.popitem(last=False)
            self.count_drop("http_connection_table_full", 1 + len(old.pending))

    def handle(self, kind: int, pid: int, fd: int, role: int, peer: tuple[str, int],
               ts_ns: int, data: bytes) -> None:
        key = (pid, fd)
        if kind == H_OPEN:
            old = self.conns.pop(key, None)
            if old and old.pending:
                self.count_drop("http_unanswered", len(old.pending))
            self._put(key, Conn(role, peer))
            return
        if kind == H_CLOSE:
            old = self.conns.pop(key, None)
            if old and old.pending:
                self.count_drop("http_unanswered", len(old.pending))
            return
        conn = self.conns.get(key)
        if conn is None:  # seeded in the kernel but not here (restart races): learn it now
            conn = Conn(role, peer)
            self._put(key, conn)
        inbound = kind == H_READ
        if (conn.role == ROLE_SERVER) == inbound:
            reqs = parse_requests(data)
            if not reqs:
                self.count_drop("http_unparsed", 1)
            for r in reqs:
                if len(conn.pending) >= MAX_IN_FLIGHT:
                    conn.pending.popleft()
                    self.count_drop("http_in_flight_limit", 1)
                conn.pending.append(Pending(ts_ns, r.method, r.path, r.content_length))
        else:
            resps = parse_responses(data)
            if not resps:
                self.count_drop("http_unparsed", 1)
            for r in resps:
                if not conn.pending:
                    self.count_drop("http_unmatched_response", 1)
                    continue
                req = conn.pending.popleft()
                self._record(pid, conn, req, r.status, r.content_length, ts_ns)

    def _record(self, pid: int, conn: Conn, req: Pending, status: int, resp_body, ts_ns: int) -> None:
        p = self.registry.get(pid)
        if p is None or not p.included:
            return
        if self.routes.ignored_path(req.path):
            return
        seconds = max(0, ts_ns - req.ts_ns) / 1e9
        route = self.routes.route(req.path)
        res = self.resource_of(p)
        common = {"http.request.method": req.method, "http.response.status_code": status,
                  "url.scheme": "http", "http.route": route}
        if conn.role == ROLE_SERVER:
            if not conn.local_port and self.peers is not None:
                conn.local_port = self.peers.local_port_for_peer(conn.peer) or 0
            if not conn.local_port and len(p.ports) == 1:
                conn.local_port = next(iter(p.ports))
            a = attrs(**common, **{"server.port": conn.local_port or None})
            self.store.record(SERVER_DURATION, res, a, seconds)
            if req.body is not None:
                self.store.record(SERVER_REQ_SIZE, res, a, req.body)
            if resp_body is not None:
                self.store.record(SERVER_RESP_SIZE, res, a, resp_body)
            client = self._client_name(conn.peer)
            edge = attrs(client=client, server=p.name, server_namespace=p.namespace,
                         connection_type="", source="apm")
            self.store.add(GRAPH_TOTAL, GRAPH_RESOURCE, edge, 1)
            if status >= 500:
                self.store.add(GRAPH_FAILED, GRAPH_RESOURCE, edge, 1)
            self.store.record(GRAPH_SERVER, GRAPH_RESOURCE, edge, seconds)
        else:
            server_name, local = self._server_name(conn.peer)
            a = attrs(**common, **{"server.port": conn.peer[1] or None,
                                   "server.address": conn.peer[0] or None})
            self.store.record(CLIENT_DURATION, res, a, seconds)
            if req.body is not None:
                self.store.record(CLIENT_REQ_SIZE, res, a, req.body)
            if resp_body is not None:
                self.store.record(CLIENT_RESP_SIZE, res, a, resp_body)
            edge = attrs(client=p.name, client_namespace=p.namespace, server=server_name,
                         connection_type="" if local else "virtual_node", source="apm")
            if not local:  # a local server counts the request itself (no double count)
                self.store.add(GRAPH_TOTAL, GRAPH_RESOURCE, edge, 1)
                if status >= 500:
                    self.store.add(GRAPH_FAILED, GRAPH_RESOURCE, edge, 1)
            self.store.record(GRAPH_CLIENT, GRAPH_RESOURCE, edge, seconds)

    def _client_name(self, peer: tuple[str, int]) -> str:
        return self.peers.client_name(peer) if self.peers is not None else peer[0]

    def _server_name(self, peer: tuple[str, int]) -> tuple[str, bool]:
        """(name, whether the server is a local discovered service)."""
        if self.peers is None:
            return peer[0], False
        return self.peers.server_name(peer)

    def expire(self, now_monotonic: float) -> None:
        """Drops requests that never got a response within ebpf.http_request_timeout."""
        if self.timeout_ns <= 0:
            return
        limit = int(now_monotonic * 1e9) - self.timeout_ns
        expired = 0
        for conn in self.conns.values():
            while conn.pending and conn.pending[0].ts_ns < limit:
                conn.pending.popleft()
                expired += 1
        if expired:
            self.count_drop("http_request_timeout", expired)
