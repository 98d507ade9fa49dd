"""Real eBPF: a keep-alive connection opened before the agent started is seeded from /proc,
and the receiver emits OTLP payloads on its own every collection_interval."""
from __future__ import annotations

import time

import pytest

from collector.testing import wait_until
from ebpf import http_metrics as hm

from .conftest import lost, run_workload, start_receiver, total, wait_file

K = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("pre")
    srv = run_workload("http_workload.py", "server", str(d / "port"), 60, env={"OTEL_SERVICE_NAME": "old-server"})
    port = int(wait_file(str(d / "port")))
    cli = run_workload("http_workload.py", "preexisting", port, str(d), K, env={"OTEL_SERVICE_NAME": "old-client"})
    wait_file(str(d / "ready"))
    rcv = start_receiver({"collection_interval": "500ms"})  # loads, scans /proc, seeds conns
    (d / "go").touch()
    assert cli.wait(30) == 0, cli.stderr.read().decode()
    yield rcv, port
    rcv.shutdown(time.monotonic() + 5)
    srv.kill()
    srv.wait(5)


def test_requests_on_a_connection_older_than_the_agent_are_measured(setup):
    rcv, port = setup
    s = rcv.store
    assert wait_until(lambda: total(s, hm.SERVER_DURATION, **{"service.name": "old-server"}) >= K - 1
                      and total(s, hm.CLIENT_DURATION, **{"service.name": "old-client"}) >= K, timeout=10)
    # The K requests made after the agent started, with their status. The server's first one is
    # normally read by a recv() that was already blocked in the kernel when the tracepoints
    # attached: its buffer address is unknown, so that one request is missed and counted
    # (documented in ebpf/README.md). On a loaded machine the server may not have reached that
    # recv() yet when the hooks attach; then all K are measured. Nothing else is acceptable.
    server = total(s, hm.SERVER_DURATION, **{"service.name": "old-server", "http.response.status_code": 202,
                                             "server.port": port})
    assert server in (K - 1, K)
    assert total(s, hm.CLIENT_DURATION, **{"service.name": "old-client", "http.response.status_code": 202,
                                           "server.port": port}) == K
    assert total(s, hm.SERVER_DURATION, **{"http.response.status_code": 200, "service.name": "old-server"}) == 0
    rcv.collect()
    if server == K - 1:
        # The miss is counted (the counter is machine-wide, so other processes may add to it).
        assert lost(rcv).get("http_request_missed_at_attach", 0) >= 1
    assert rcv.http.slow_path_counts().get("response_without_request", 0) == 0


def test_receiver_emits_metrics_payloads_every_interval(setup):
    rcv, _ = setup
    cap = rcv.consumer_capture
    assert wait_until(lambda: len(cap.payloads) >= 2, timeout=10)
    p = cap.payloads[-1]
    assert p.signal == "metrics"
    names = {m.name for rm in p.request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {hm.SERVER_DURATION, "apm.service.info"} <= names
