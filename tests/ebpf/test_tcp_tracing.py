"""Real eBPF: TCP discovery and network metrics against known loopback traffic."""
from __future__ import annotations

import time

import pytest

from collector.testing import free_port, wait_until
from ebpf import tcp_metrics as tm

from .conftest import run_workload, start_receiver, total, wait_file

N, REQ, RESP = 5, 1234, 4321


@pytest.fixture(scope="module")
def receiver():
    rcv = start_receiver({"collection_interval": "1h", "ebpf": {"http_capture": False},
                          "attributes": {"kubernetes": {"cluster_name": "test-cluster"}}})
    yield rcv
    rcv.shutdown(time.monotonic() + 5)


@pytest.fixture(scope="module")
def traffic(receiver, tmp_path_factory):
    portfile = str(tmp_path_factory.mktemp("tcp") / "port")
    srv = run_workload("tcp_workload.py", "server", portfile, N, REQ, RESP, 3,
                       env={"OTEL_SERVICE_NAME": "tcp-server"})
    port = int(wait_file(portfile))
    refused = free_port()
    cli = run_workload("tcp_workload.py", "client", port, N, REQ, RESP, refused,
                       env={"OTEL_SERVICE_NAME": "tcp-client"})
    assert cli.wait(30) == 0, cli.stderr.read()
    store = receiver.store

    def settled():
        receiver.tracer.poll_now()
        receiver.collect()
        return (total(store, tm.ACCEPTS, **{"service.name": "tcp-server"}) >= N
                and total(store, tm.FLOW_BYTES, **{"service.name": "tcp-server"}) >= N * (REQ + RESP)
                and total(store, tm.FLOW_BYTES, **{"service.name": "tcp-client"}) >= N * (REQ + RESP))

    wait_until(settled, timeout=15)
    req = receiver.collect()
    yield {"port": port, "refused": refused, "server_pid": srv.pid, "client_pid": cli.pid, "request": req}
    srv.kill()
    srv.wait(5)


def test_listening_server_is_discovered_with_its_port(receiver, traffic):
    p = receiver.registry.get(traffic["server_pid"])
    assert p is not None and p.included
    assert p.name == "tcp-server"
    assert traffic["port"] in p.ports
    info = [a for (res, a) in receiver.store.series(tm.SERVICE_INFO)
            if dict(res).get("service.name") == "tcp-server"]
    assert info and dict(info[0])["server.ports"] == str(traffic["port"])


def test_successful_connects_are_counted_exactly(receiver, traffic):
    s = receiver.store
    assert total(s, tm.CONNECTS, **{"service.name": "tcp-client", "outcome": "success",
                                    "dst.port": traffic["port"], "dst.name": "tcp-server"}) == N
    assert total(s, tm.CONNECT_DURATION, **{"service.name": "tcp-client", "dst.port": traffic["port"]}) == N


def test_refused_connect_counts_as_failed(receiver, traffic):
    assert total(receiver.store, tm.CONNECTS, **{"service.name": "tcp-client", "outcome": "failure",
                                                 "dst.port": traffic["refused"]}) == 1


def test_accepts_are_counted_on_the_server(receiver, traffic):
    assert total(receiver.store, tm.ACCEPTS, **{"service.name": "tcp-server", "dst.port": traffic["port"],
                                                "src.name": "tcp-client"}) == N


def test_bytes_are_counted_exactly_from_both_sides(receiver, traffic):
    s = receiver.store
    for svc, reporter in (("tcp-client", "client"), ("tcp-server", "server")):
        base = {"service.name": svc, "reporter": reporter, "dst.port": traffic["port"]}
        assert total(s, tm.FLOW_BYTES, direction="request", **base) == N * REQ
        # the client also sends one byte-free close; the server waits for it: no extra payload
        assert total(s, tm.FLOW_BYTES, direction="response", **base) == N * RESP


def test_loopback_traffic_has_no_retransmits_and_rtt_is_measured(receiver, traffic):
    s = receiver.store
    assert total(s, tm.RETRANSMITS, **{"service.name": "tcp-server"}) == 0
    assert total(s, tm.RTT, **{"service.name": "tcp-client"}) == N


def test_closed_connections_are_not_active(receiver, traffic):
    assert total(receiver.store, tm.ACTIVE, **{"service.name": "tcp-client"}) == 0


def test_export_carries_cluster_name_and_service_resources(receiver, traffic):
    req = traffic["request"]
    names = set()
    for rm in req.resource_metrics:
        attrs = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
        assert attrs["k8s.cluster.name"] == "test-cluster"
        names.add(attrs["service.name"])
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                assert m.name
    assert {"tcp-server", "tcp-client"} <= names


def test_the_agent_does_not_trace_itself(receiver, traffic):
    import os
    p = receiver.registry.get(os.getpid())
    assert p is None or not p.included
