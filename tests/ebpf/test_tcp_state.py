"""TCP metric bookkeeping with synthetic events: deltas, bounds, naming (no BPF needed)."""
from __future__ import annotations

import os

import pytest

from collector.config.decode import decode
from ebpf import tcp_metrics as tm
from ebpf.config import DiscoveryConfig
from ebpf.discovery import ServiceRegistry
from ebpf.metric_store import MetricStore

from .conftest import total

PROC = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ebpf", "proc")


@pytest.fixture
def env():
    reg = ServiceRegistry(decode(DiscoveryConfig, {}, ""), proc=PROC, self_pid=1)
    store = MetricStore(lambda: 1.0)
    drops = {}
    tcp = tm.TcpMetrics(store, reg, lambda p: (("service.name", p.name),), max_sockets=2,
                        count_drop=lambda r, n: drops.__setitem__(r, drops.get(r, 0) + n))
    tcp.handle(tm.TcpEvent(tm.EV_LISTEN, pid=4242, sport=8080, saddr="127.0.0.1"))
    return tcp, store, drops


def test_live_counts_then_close_count_each_byte_once(env):
    tcp, store, _ = env
    tcp.handle(tm.TcpEvent(tm.EV_CONNECT, pid=4243, sk=1, role=1, saddr="127.0.0.1", sport=40000,
                           daddr="127.0.0.1", dport=8080, duration_ns=50_000))
    tcp.collect({1: (4243, 100, 10, 0)})
    tcp.collect({1: (4243, 100, 10, 0)})  # nothing new
    tcp.handle(tm.TcpEvent(tm.EV_CLOSE, pid=4243, sk=1, sent=150, recv=10, retrans=2, srtt_us=80))
    base = {"service.name": "curl", "dst.name": "checkout", "dst.port": 8080}
    assert total(store, tm.FLOW_BYTES, direction="request", **base) == 150
    assert total(store, tm.FLOW_BYTES, direction="response", **base) == 10
    assert total(store, tm.RETRANSMITS, **base) == 2
    assert total(store, tm.RTT, **base) == 1
    assert total(store, tm.CONNECTS, outcome="success", **base) == 1


def test_accept_is_attributed_to_the_listener_and_names_the_local_client(env):
    tcp, store, _ = env
    tcp.handle(tm.TcpEvent(tm.EV_CONNECT, pid=4243, sk=1, role=1, saddr="127.0.0.1", sport=40000,
                           daddr="127.0.0.1", dport=8080))
    tcp.handle(tm.TcpEvent(tm.EV_ACCEPT, sk=2, role=2, saddr="127.0.0.1", sport=8080,
                           daddr="127.0.0.1", dport=40000))
    assert total(store, tm.ACCEPTS, **{"service.name": "checkout", "src.name": "curl"}) == 1
    tcp.collect(None)
    assert total(store, tm.ACTIVE) == 2
    assert tcp.local_port_for_peer(("127.0.0.1", 40000)) == 8080


def test_counters_never_go_backwards_and_socket_table_is_bounded(env):
    tcp, store, drops = env
    for sk in (1, 2, 3):
        tcp.handle(tm.TcpEvent(tm.EV_CONNECT, pid=4243, sk=sk, saddr="127.0.0.1", sport=40000 + sk,
                               daddr="10.0.0.1", dport=80))
    assert len(tcp.socks) == 2 and drops["socket_table_full"] == 1
    tcp.collect({3: (4243, 50, 0, 0)})
    tcp.collect({3: (4243, 20, 0, 0)})  # a reused socket address: no negative delta
    assert total(store, tm.FLOW_BYTES) == 50


def test_unknown_event_kind_is_counted(env):
    tcp, _, drops = env
    tcp.handle(tm.TcpEvent(99))
    assert drops == {"unknown_event": 1}


def test_network_disabled_follows_sockets_without_reporting_flows():
    reg = ServiceRegistry(decode(DiscoveryConfig, {}, ""), proc=PROC, self_pid=1)
    store = MetricStore(lambda: 1.0)
    tcp = tm.TcpMetrics(store, reg, lambda p: (("service.name", p.name),), flows=False)
    tcp.handle(tm.TcpEvent(tm.EV_LISTEN, pid=4242, sport=8080, saddr="127.0.0.1"))
    tcp.handle(tm.TcpEvent(tm.EV_CONNECT, pid=4243, sk=1, saddr="127.0.0.1", sport=40000,
                           daddr="127.0.0.1", dport=8080))
    tcp.handle(tm.TcpEvent(tm.EV_CLOSE, pid=4243, sk=1, sent=10, recv=5, srtt_us=9))
    tcp.collect(None)
    assert store.series(tm.FLOW_BYTES) == {} and store.series(tm.CONNECTS) == {}
    assert tcp.client_name(("127.0.0.1", 40000)) == "curl"  # still names the other end
    assert len(store.series(tm.SERVICE_INFO)) == 2


def test_flow_series_are_capped_by_cache_max_flows():
    reg = ServiceRegistry(decode(DiscoveryConfig, {}, ""), proc=PROC, self_pid=1)
    store = MetricStore(lambda: 1.0, series_limit=1000)
    tcp = tm.TcpMetrics(store, reg, lambda p: (("service.name", p.name),), flow_limit=3)
    for port in range(10):
        tcp.handle(tm.TcpEvent(tm.EV_CONNECT_FAIL, pid=4243, sk=port, saddr="127.0.0.1",
                               sport=40000 + port, daddr="10.0.0.1", dport=1000 + port))
    assert len(store.series(tm.CONNECTS)) == 4  # 3 + the overflow series


def test_flow_attributes_as_beyla_names_them_with_cidrs():
    reg = ServiceRegistry(decode(DiscoveryConfig, {}, ""), proc=PROC, self_pid=1)
    store = MetricStore(lambda: 1.0)
    tcp = tm.TcpMetrics(store, reg, lambda p: (("service.name", p.name),),
                        cidrs=["10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0"])
    tcp.handle(tm.TcpEvent(tm.EV_CONNECT, pid=4243, sk=1, role=1, saddr="10.1.2.3", sport=40000,
                           daddr="192.168.1.9", dport=443))
    tcp.handle(tm.TcpEvent(tm.EV_CLOSE, pid=4243, sk=1, sent=10, recv=20))
    ((_, a),) = [k for k in store.series(tm.FLOW_BYTES) if dict(k[1])["direction"] == "request"]
    a = dict(a)
    assert a["transport"] == "TCP"  # Beyla's spelling of the protocol
    assert (a["src.cidr"], a["dst.cidr"]) == ("10.1.0.0/16", "0.0.0.0/0")  # the narrowest match
    assert set(a) == {"src.address", "src.name", "dst.address", "dst.name", "dst.port", "transport",
                      "src.cidr", "dst.cidr", "reporter", "direction"}
