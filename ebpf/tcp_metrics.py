"""TCP network metrics from tcp_tracer.c's events (names documented in ebpf/README.md).

Every connection is described client -> server: `src.*` is the client, `dst.*` the server and
`dst.port` the server's port (client ephemeral ports would explode cardinality). `reporter` says
whose socket measured it (`client` or `server`): a connection between two local processes is
measured twice, once by each side, as Istio's `reporter` label does.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections import OrderedDict
from typing import Callable

from .discovery import Process, ServiceRegistry
from .metric_store import DURATION_BUCKETS, Attrs, MetricStore, attrs

EV_LISTEN, EV_CONNECT, EV_CONNECT_FAIL, EV_ACCEPT, EV_CLOSE, EV_EXEC, EV_EXIT = range(1, 8)
ROLE_CLIENT, ROLE_SERVER = 1, 2

FLOW_BYTES = "beyla.network.flow.bytes"
CONNECTS = "network.tcp.connects"
CONNECT_DURATION = "network.tcp.connect.duration"
ACCEPTS = "network.tcp.accepts"
ACTIVE = "network.tcp.connections.active"
RTT = "network.tcp.rtt"
RETRANSMITS = "network.tcp.retransmits"
SERVICE_INFO = "apm.service.info"

CONNECT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025) + DURATION_BUCKETS


@dataclasses.dataclass
class TcpEvent:
    """Decoded tcp_event (see tcp_tracer.c); tests build these directly."""
    kind: int
    pid: int = 0
    sk: int = 0
    role: int = 0
    family: int = 2
    saddr: str = ""
    daddr: str = ""
    sport: int = 0
    dport: int = 0
    sent: int = 0
    recv: int = 0
    retrans: int = 0
    duration_ns: int = 0
    srtt_us: int = 0
    comm: str = ""


def decode_addr(family: int, raw: bytes) -> str:
    try:
        if family == socket.AF_INET:
            return socket.inet_ntop(socket.AF_INET, bytes(raw[:4]))
        addr = ipaddress.IPv6Address(bytes(raw[:16]))
        return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)
    except (ValueError, OSError):
        return ""


def decode_event(e) -> TcpEvent:
    return TcpEvent(kind=e.kind, pid=e.pid, sk=e.sk, role=e.role, family=e.family,
                    saddr=decode_addr(e.family, e.saddr), daddr=decode_addr(e.family, e.daddr),
                    sport=e.sport, dport=e.dport, sent=e.sent, recv=e.recv, retrans=e.retrans,
                    duration_ns=e.duration_ns, srtt_us=e.srtt_us,
                    comm=bytes(e.comm).split(b"\0", 1)[0].decode("utf-8", "replace"))


@dataclasses.dataclass
class SockState:
    role: int
    pid: int
    local: tuple[str, int]
    remote: tuple[str, int]
    sent: int = 0      # what was already counted (bytes, retransmits)
    recv: int = 0
    retrans: int = 0


class TcpMetrics:
    def __init__(self, store: MetricStore, registry: ServiceRegistry,
                 resource_of: Callable[[Process], Attrs], max_sockets: int = 65536,
                 count_drop: Callable[[str, int], None] | None = None,
                 flows: bool = True, flow_limit: int | None = None,
                 cidrs: list[str] | tuple = ()) -> None:
        self.store = store
        self.registry = registry
        self.resource_of = resource_of
        self.max_sockets = max_sockets
        self.count_drop = count_drop or (lambda reason, n: None)
        self.socks: "OrderedDict[int, SockState]" = OrderedDict()
        # (client addr, port) -> pid, and server-side (peer addr, port) -> local port. LRUs that
        # outlive the connection: HTTP events about a connection may be handled after its close.
        self.client_ports: "OrderedDict[tuple[str, int], int]" = OrderedDict()
        self.server_peers: "OrderedDict[tuple[str, int], int]" = OrderedDict()
        # network.enable=false: sockets are still followed (discovery, naming), not reported
        self.flows = flows
        # network.cidrs: src.cidr / dst.cidr, as Beyla decorates flows (narrowest match first)
        self.cidrs = sorted((ipaddress.ip_network(str(c), strict=False) for c in cidrs),
                            key=lambda n: -n.prefixlen)
        self._cidr_of: "OrderedDict[str, str]" = OrderedDict()

        def d(name, kind, unit, desc, bounds=()):  # network.cache_max_flows caps flow series
            store.define(name, kind, unit, desc, bounds, series_limit=flow_limit)
        d(FLOW_BYTES, "sum", "By", "Bytes sent over TCP connections, client to server (direction=request) and back (direction=response)")
        d(CONNECTS, "sum", "{connection}", "Outgoing TCP connection attempts, by outcome")
        d(CONNECT_DURATION, "histogram", "s", "Time from SYN sent to connection established", CONNECT_BUCKETS)
        d(ACCEPTS, "sum", "{connection}", "Incoming TCP connections accepted")
        d(ACTIVE, "gauge", "{connection}", "Open TCP connections at collection time")
        d(RTT, "histogram", "s", "Smoothed round-trip time of TCP connections, at close", CONNECT_BUCKETS)
        d(RETRANSMITS, "sum", "{segment}", "TCP segments retransmitted")
        store.define(SERVICE_INFO, "gauge", "1", "One series per discovered service, with its listen ports")

    # --- naming ----------------------------------------------------------------------------
    def _name_of_server(self, addr: str, port: int) -> str:
        p = self.registry.listener(port) if _is_local(addr) else None
        return p.name if p else addr

    def _name_of_client(self, addr: str, port: int) -> str:
        pid = self.client_ports.get((addr, port))
        p = self.registry.get(pid) if pid else None
        return p.name if p else addr

    # Used by http_metrics to name both ends of a connection.
    def client_name(self, peer: tuple[str, int]) -> str:
        return self._name_of_client(*peer)

    def server_name(self, peer: tuple[str, int]) -> tuple[str, bool]:
        p = self.registry.listener(peer[1]) if _is_local(peer[0]) else None
        return (p.name, True) if p and p.included else (peer[0], False)

    def local_port_for_peer(self, peer: tuple[str, int]) -> int | None:
        return self.server_peers.get(peer)

    def _remember(self, table: OrderedDict, key, value) -> None:
        table[key] = value
        table.move_to_end(key)
        if len(table) > self.max_sockets:
            table.popitem(last=False)

    def _flow(self, st: SockState, owner: Process) -> Attrs:
        if st.role == ROLE_CLIENT:
            (caddr, _), (saddr, sport) = st.local, st.remote
            src_name, dst_name = owner.name, self._name_of_server(saddr, sport)
        else:
            (saddr, sport), (caddr, cport) = st.local, st.remote
            src_name, dst_name = self._name_of_client(caddr, cport), owner.name
        # transport as Beyla spells it (the protocol's name from uapi/linux/in.h: "TCP")
        return attrs(**{"src.address": caddr, "src.name": src_name, "dst.address": saddr,
                        "dst.name": dst_name, "dst.port": sport, "transport": "TCP",
                        "src.cidr": self.cidr(caddr), "dst.cidr": self.cidr(saddr),
                        "reporter": "client" if st.role == ROLE_CLIENT else "server"})

    def cidr(self, addr: str) -> str | None:
        """The narrowest network.cidrs entry holding addr (None: no entry, no attribute)."""
        if not self.cidrs:
            return None
        hit = self._cidr_of.get(addr)
        if hit is None:
            try:
                ip = ipaddress.ip_address(addr)
            except ValueError:
                ip = None
            hit = next((str(n) for n in self.cidrs if ip is not None and ip.version == n.version
                        and ip in n), "")
            self._remember(self._cidr_of, addr, hit)
        return hit or None

    def _owner(self, st: SockState) -> Process | None:
        p = self.registry.get(st.pid) if st.pid else None
        if p is None and st.role == ROLE_SERVER:
            p = self.registry.listener(st.local[1])
            if p is not None:
                st.pid = p.pid
        return p if p is not None and p.included else None

    # --- events ----------------------------------------------------------------------------
    def handle(self, e: TcpEvent) -> None:
        if e.kind == EV_LISTEN:
            self.registry.observe(e.pid, e.sport)
        elif e.kind in (EV_CONNECT, EV_CONNECT_FAIL):
            self._connect(e)
        elif e.kind == EV_ACCEPT:
            self._accept(e)
        elif e.kind == EV_CLOSE:
            self._close(e)
        elif e.kind == EV_EXEC:
            self.registry.exec(e.pid)
        elif e.kind == EV_EXIT:
            self.registry.exit(e.pid)
        else:
            self.count_drop("unknown_event", 1)

    def _track(self, sk: int, st: SockState) -> None:
        self.socks[sk] = st
        if len(self.socks) > self.max_sockets:
            self.socks.popitem(last=False)
            self.count_drop("socket_table_full", 1)

    def _connect(self, e: TcpEvent) -> None:
        p = self.registry.observe(e.pid)
        st = SockState(ROLE_CLIENT, e.pid, (e.saddr, e.sport), (e.daddr, e.dport))
        if p is None or not p.included:
            return
        ok = e.kind == EV_CONNECT
        if ok:
            self._track(e.sk, st)
            self._remember(self.client_ports, st.local, e.pid)
        if not self.flows:
            return
        flow = self._flow(st, p)
        res = self.resource_of(p)
        self.store.add(CONNECTS, res, flow + (("outcome", "success" if ok else "failure"),), 1)
        if ok:
            self.store.record(CONNECT_DURATION, res, flow, e.duration_ns / 1e9)

    def _accept(self, e: TcpEvent) -> None:
        st = SockState(ROLE_SERVER, 0, (e.saddr, e.sport), (e.daddr, e.dport))
        self._remember(self.server_peers, st.remote, e.sport)
        p = self._owner(st)
        if p is None:
            return
        self._track(e.sk, st)
        if self.flows:
            self.store.add(ACCEPTS, self.resource_of(p), self._flow(st, p), 1)

    def _close(self, e: TcpEvent) -> None:
        st = self.socks.pop(e.sk, None)
        if st is None:
            return
        if not st.pid and e.pid:
            st.pid = e.pid
        self._account(st, e.sent, e.recv, e.retrans)
        p = self._owner(st)
        if p is not None and e.srtt_us and self.flows:
            self.store.record(RTT, self.resource_of(p), self._flow(st, p), e.srtt_us / 1e6)

    def _account(self, st: SockState, sent: int, recv: int, retrans: int) -> None:
        """Counts what the kernel counted since we last looked (never negative: a reused
        socket address resets counters)."""
        ds, dr, dt = max(0, sent - st.sent), max(0, recv - st.recv), max(0, retrans - st.retrans)
        st.sent, st.recv, st.retrans = max(sent, st.sent), max(recv, st.recv), max(retrans, st.retrans)
        if not (ds or dr or dt) or not self.flows:
            return
        p = self._owner(st)
        if p is None:
            return
        res, flow = self.resource_of(p), self._flow(st, p)
        # From the client's socket, sent bytes are requests; from the server's, responses.
        out_dir, in_dir = ("request", "response") if st.role == ROLE_CLIENT else ("response", "request")
        if ds:
            self.store.add(FLOW_BYTES, res, flow + (("direction", out_dir),), ds)
        if dr:
            self.store.add(FLOW_BYTES, res, flow + (("direction", in_dir),), dr)
        if dt:
            self.store.add(RETRANSMITS, res, flow, dt)

    # --- collection ------------------------------------------------------------------------
    def collect(self, live: dict[int, tuple[int, int, int, int]] | None) -> None:
        """live: sk -> (pid, sent, recv, retrans) read from the kernel's socks map (None when
        bytes are only known at close). Updates deltas, active connections and service info."""
        if live:
            for sk, (pid, sent, recv, retrans) in live.items():
                st = self.socks.get(sk)
                if st is None:
                    continue
                if not st.pid and pid:
                    st.pid = pid
                self._account(st, sent, recv, retrans)
        self.store.clear(ACTIVE)
        counts: dict[tuple, int] = {}
        for st in (self.socks.values() if self.flows else ()):
            p = self._owner(st)
            if p is not None:
                key = (self.resource_of(p), self._flow(st, p))
                counts[key] = counts.get(key, 0) + 1
        for (res, flow), n in counts.items():
            self.store.set(ACTIVE, res, flow, n)
        self.store.clear(SERVICE_INFO)
        for p in self.registry.services():
            self.store.set(SERVICE_INFO, self.resource_of(p), attrs(**{
                "server.ports": ",".join(str(x) for x in sorted(p.ports)),
                "process.pid": p.pid, "process.executable.path": p.exe,
                "container.id": p.container_id or ""}), 1)


def _is_local(addr: str) -> bool:
    """Whether a server address is this host's (loopback or one of our interfaces): only then
    can a local listener be the server. Pod IPs of other nodes are left as addresses."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified:
        return True
    return addr in _local_addresses()


_LOCAL_CACHE: dict[str, set[str]] = {}


def _local_addresses() -> set[str]:
    cached = _LOCAL_CACHE.get("v")
    if cached is None:
        cached = set()
        try:
            for info in socket.getaddrinfo(socket.gethostname(), None):
                cached.add(info[4][0])
        except OSError:
            pass
        _LOCAL_CACHE["v"] = cached
    return cached
