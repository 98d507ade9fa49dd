"""HTTP RED metrics and the service graph from http_exchange.c and http_tracer.c.

Two sources, one set of metrics:
- the kernel's fast path: per (pid, role, method, path, status, port, peer) duration histograms
  in the http_agg map, read every collection interval (`collect_kernel`), as deltas;
- the slow path: connections the kernel handed over (pipelining, bodies, long heads...) send
  each buffer that starts an HTTP message. Per connection (pid, fd) a FIFO of requests awaits
  their responses: the server side pushes on read and pops on write, the client side pushes on
  write and pops on read; a new connection generation on the same fd starts clean.
"""
from __future__ import annotations

import ctypes
import dataclasses
import ipaddress
from collections import OrderedDict, deque
from typing import Callable

from .config import EbpfConfig, RoutesConfig
from .discovery import Process, ServiceRegistry
from .http_parse import parse_requests, parse_responses
from .metric_store import DURATION_BUCKETS, SIZE_BUCKETS, Attrs, MetricStore, attrs
from .routes import RouteMatcher
from .tcp_metrics import decode_addr

H_READ, H_WRITE, H_DONE, H_PENDING = 1, 2, 5, 6
CONN_TLS = 2  # http_event.pad flag: the connection's plaintext came from the OpenSSL uprobes
ROLE_CLIENT, ROLE_SERVER = 1, 2
MAX_IN_FLIGHT = 64  # requests awaiting a response on one connection
METHODS = {1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "HEAD", 6: "OPTIONS", 7: "PATCH",
           8: "CONNECT", 9: "TRACE"}

# Index -> reason of http_exchange.c's slow_reasons counters.
SLOW_REASONS = ("head_size", "unreadable_buffer", "tail_call_failed", "body_or_split_or_pipelined",
                "long_path", "response_without_request", "pipelined", "bad_status_line")

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
    body: int | None = None


@dataclasses.dataclass
class Conn:
    role: int
    peer: tuple[str, int]
    local_port: int = 0
    client_pid: int = 0
    gen: int = 0
    scheme: str = "http"
    pending: deque = dataclasses.field(default_factory=deque)


@dataclasses.dataclass
class Exchange:
    """One request/response, or `count` of them aggregated by the kernel."""
    pid: int
    role: int
    method: str
    path: str
    status: int
    port: int
    peer_addr: str
    client_pid: int = 0
    count: int = 1
    seconds: float = 0.0              # one duration, or the sum of `count`
    buckets: list | None = None       # kernel aggregates: bucket counts
    req_body: int | None = None
    resp_body: int | None = None
    scheme: str = "http"              # https: plaintext seen through the OpenSSL uprobes


class HttpMetrics:
    def __init__(self, store: MetricStore, registry: ServiceRegistry,
                 resource_of: Callable[[Process], Attrs], routes: RoutesConfig, ebpf: EbpfConfig,
                 count_drop: Callable[[str, int], None] | None = None, peer_name=None) -> None:
        self.store = store
        self.registry = registry
        self.resource_of = resource_of
        self.routes = RouteMatcher(routes)
        self.timeout_ns = int(ebpf.http_request_timeout * 1e9)
        self.body_sizes = ebpf.body_size_metrics
        self.max_conns = ebpf.max_http_connections
        self.count_drop = count_drop or (lambda reason, n: None)
        self.peers = peer_name  # TcpMetrics: names the other end of a connection
        self.conns: "OrderedDict[tuple[int, int], Conn]" = OrderedDict()
        self.tracer = None
        self._kernel_seen: dict[bytes, tuple[int, int, tuple]] = {}
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
        clients = {(s.local_addr, s.local_port): pid for pid, _, role, s in seeds if role == ROLE_CLIENT}
        for pid, fd, role, sock in seeds:
            if (pid, fd) in self.conns:
                continue
            try:
                packed = ipaddress.ip_address(sock.remote_addr)
                raw = (packed.packed if packed.version == 6
                       else ipaddress.IPv6Address("::ffff:" + sock.remote_addr).packed)
            except ValueError:
                self.count_drop("seed_failed", 1)
                continue
            leaf = table.Leaf()
            leaf.role = role
            leaf.gen = 1
            leaf.flags = 1  # CONN_SEEDED
            leaf.peer_port = sock.remote_port
            if role == ROLE_SERVER:
                leaf.local_port = sock.local_port
                leaf.client_pid = clients.get((sock.remote_addr, sock.remote_port), 0)
            for i, b in enumerate(raw):
                leaf.peer[i] = b
            with self.tracer.lock:
                table[table.Key((pid << 32) | fd)] = leaf

    def handle_raw(self, e, size: int) -> None:
        data = ctypes.string_at(ctypes.addressof(e.data), min(e.caplen, len(e.data))) if e.caplen else b""
        peer = (decode_addr(10, bytes(e.peer)), e.peer_port)
        scheme = "https" if e.pad & CONN_TLS else "http"
        if e.kind == H_DONE:  # completed in the kernel, aggregate map full: record it here
            self._account(Exchange(e.pid, e.role, METHODS.get(e.method, "_OTHER"), _cstr(data),
                                   e.status, e.local_port if e.role == ROLE_SERVER else e.peer_port,
                                   peer[0], e.client_pid, seconds=e.duration_ns / 1e9, scheme=scheme))
            return
        conn = self._conn(e.pid, e.fd, e.role, peer, e.gen, e.local_port, e.client_pid)
        conn.scheme = scheme
        if e.kind == H_PENDING:
            self._push(conn, Pending(e.ts_ns, METHODS.get(e.method, "_OTHER"), _cstr(data)))
            return
        self._data(e.kind, e.pid, conn, e.ts_ns, data)

    def collect_kernel(self) -> None:
        """Adds what the kernel aggregated since the last call (its counters are cumulative)."""
        if self.tracer is None:
            return
        table = self.tracer.table("http_agg")
        with self.tracer.lock:
            items = [(bytes(k), k, v.count, v.sum_ns, tuple(v.buckets)) for k, v in table.items()]
        finished = []
        for raw, k, count, sum_ns, buckets in items:
            p = self.registry.get(k.pid)
            if p is None or p.exited or not p.included:
                # accounted below if still wanted, then freed: the map must not fill up with
                # processes that ended or that discovery excluded
                finished.append((raw, k))
            prev = self._kernel_seen.get(raw, (0, 0, (0,) * len(buckets)))
            dc = count - prev[0]
            if dc <= 0:
                continue
            self._kernel_seen[raw] = (count, sum_ns, buckets)
            peer = decode_addr(10, bytes(k.addr)) if any(k.addr) else ""
            self._account(Exchange(k.pid, k.role, METHODS.get(k.method, "_OTHER"), _cstr(bytes(k.path)),
                                   k.status, k.port, peer, k.client_pid, count=dc,
                                   seconds=(sum_ns - prev[1]) / 1e9,
                                   buckets=[a - b for a, b in zip(buckets, prev[2])],
                                   scheme="https" if k.tls else "http"))
        if finished:
            with self.tracer.lock:
                for raw, k in finished:
                    try:
                        del table[k]
                    except KeyError:
                        pass
                    self._kernel_seen.pop(raw, None)

    def slow_path_counts(self) -> dict[str, int]:
        """Cumulative connections handed to user space, by reason (self-telemetry)."""
        if self.tracer is None:
            return {}
        with self.tracer.lock:
            raw = {k.value: v.value for k, v in self.tracer.table("slow_reasons").items()}
        return {SLOW_REASONS[i]: n for i, n in raw.items() if i < len(SLOW_REASONS)}

    # --- slow path ------------------------------------------------------------------------
    def _conn(self, pid, fd, role, peer, gen, local_port=0, client_pid=0) -> Conn:
        key = (pid, fd)
        conn = self.conns.get(key)
        if conn is None or conn.gen != gen:
            if conn is not None and conn.pending:
                self.count_drop("http_unanswered", len(conn.pending))
            conn = Conn(role, peer, local_port, client_pid, gen)
            self.conns[key] = conn
            if len(self.conns) > self.max_conns:
                _, old = self.conns.popitem(last=False)
                self.count_drop("http_connection_table_full", 1 + len(old.pending))
        self.conns.move_to_end(key)
        return conn

    def _push(self, conn: Conn, p: Pending) -> None:
        if len(conn.pending) >= MAX_IN_FLIGHT:
            conn.pending.popleft()
            self.count_drop("http_in_flight_limit", 1)
        conn.pending.append(p)

    def handle(self, kind: int, pid: int, fd: int, role: int, peer: tuple[str, int],
               ts_ns: int, data: bytes, gen: int = 0) -> None:
        """One slow-path buffer (also the entry point of the synthetic-event tests)."""
        self._data(kind, pid, self._conn(pid, fd, role, peer, gen), ts_ns, data)

    def _data(self, kind: int, pid: int, conn: Conn, ts_ns: int, data: bytes) -> None:
        if (conn.role == ROLE_SERVER) == (kind == H_READ):
            reqs = parse_requests(data)
            if not reqs:
                self.count_drop("http_unparsed", 1)
            for r in reqs:
                self._push(conn, Pending(ts_ns, r.method, r.path, r.content_length))
            return
        resps = parse_responses(data)
        if not resps:
            self.count_drop("http_unparsed", 1)
        for r in resps:
            if r.status < 200:
                continue  # 1xx: the final response is still to come
            if not conn.pending:
                self.count_drop("http_unmatched_response", 1)
                continue
            req = conn.pending.popleft()
            port = conn.local_port if conn.role == ROLE_SERVER else conn.peer[1]
            self._account(Exchange(pid, conn.role, req.method, req.path, r.status, port, conn.peer[0],
                                   conn.client_pid, seconds=max(0, ts_ns - req.ts_ns) / 1e9,
                                   req_body=req.body, resp_body=r.content_length, scheme=conn.scheme), conn)

    # --- recording ------------------------------------------------------------------------
    def _account(self, x: Exchange, conn: Conn | None = None) -> None:
        p = self.registry.get(x.pid)
        if p is None or not p.included or self.routes.ignored_path(x.path):
            return
        res = self.resource_of(p)
        common = {"http.request.method": x.method, "http.response.status_code": x.status,
                  "url.scheme": x.scheme, "http.route": self.routes.route(x.path)}
        if x.role == ROLE_SERVER:
            port = x.port or self._server_port(p, conn)
            a = attrs(**common, **{"server.port": port or None})
            self._observe(SERVER_DURATION, res, a, x)
            self._sizes(SERVER_REQ_SIZE, SERVER_RESP_SIZE, res, a, x)
            client = self.registry.get(x.client_pid) if x.client_pid else None
            edge = attrs(client=client.name if client else self._client_name(x, conn),
                         client_namespace=client.namespace if client else "",
                         server=p.name, server_namespace=p.namespace, connection_type="", source="apm")
            self._edge(edge, x, GRAPH_SERVER, count_requests=True, failed_from=500)
        else:
            a = attrs(**common, **{"server.port": x.port or None, "server.address": x.peer_addr or None})
            self._observe(CLIENT_DURATION, res, a, x)
            self._sizes(CLIENT_REQ_SIZE, CLIENT_RESP_SIZE, res, a, x)
            server_name, local = self._server_name((x.peer_addr, x.port))
            server = self.registry.listener(x.port) if local else None
            edge = attrs(client=p.name, client_namespace=p.namespace, server=server_name,
                         server_namespace=server.namespace if server else "",
                         connection_type="" if local else "virtual_node", source="apm")
            # a local server counts the request itself: no double count. Counted from the
            # client, a 4xx fails too (Beyla/OTel status of client spans)
            self._edge(edge, x, GRAPH_CLIENT, count_requests=not local, failed_from=400)

    def _observe(self, name: str, res: Attrs, a: Attrs, x: Exchange) -> None:
        if x.buckets is None:
            self.store.record(name, res, a, x.seconds)
        else:
            self.store.merge(name, res, a, x.count, x.seconds, x.buckets)

    def _sizes(self, req_name: str, resp_name: str, res: Attrs, a: Attrs, x: Exchange) -> None:
        if not self.body_sizes:
            return
        if x.req_body is not None:
            self.store.record(req_name, res, a, x.req_body)
        if x.resp_body is not None:
            self.store.record(resp_name, res, a, x.resp_body)

    def _edge(self, edge: Attrs, x: Exchange, histogram: str, count_requests: bool,
              failed_from: int) -> None:
        if count_requests:
            self.store.add(GRAPH_TOTAL, GRAPH_RESOURCE, edge, x.count)
            if x.status >= failed_from:
                self.store.add(GRAPH_FAILED, GRAPH_RESOURCE, edge, x.count)
        self._observe(histogram, GRAPH_RESOURCE, edge, x)

    def _server_port(self, p: Process, conn: Conn | None) -> int:
        port = 0
        if conn is not None and self.peers is not None:
            port = self.peers.local_port_for_peer(conn.peer) or 0
        if not port and len(p.ports) == 1:
            port = next(iter(p.ports))
        if conn is not None and port:
            conn.local_port = port
        return port

    def _client_name(self, x: Exchange, conn: Conn | None) -> str:
        if conn is not None and self.peers is not None:
            return self.peers.client_name(conn.peer)  # learned from the TCP tracer's connects
        return x.peer_addr

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


def _cstr(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "replace") or "/"
