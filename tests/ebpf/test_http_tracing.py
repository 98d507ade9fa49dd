"""Real eBPF: HTTP RED metrics and the service graph from syscall tracepoints."""
from __future__ import annotations

import time

import pytest

from collector.testing import free_port, wait_until
from ebpf import http_metrics as hm

from .conftest import lost, run_workload, start_receiver, total, wait_file

# status: (delay seconds, request count) over one keep-alive connection
PLAN = {200: (0.0, 6), 404: (0.1, 3), 500: (0.2, 2)}
TOTAL = sum(n for _, n in PLAN.values()) + 1 + 2  # + split request + pipelined pair


@pytest.fixture(scope="module")
def unrelated_port():
    return free_port()


# Both paths: exchanges measured in the kernel (default), and every buffer parsed in user
# space (body_size_metrics turns the kernel fast path off).
@pytest.fixture(scope="module", params=["kernel", "userspace"])
def receiver(request, unrelated_port):
    rcv = start_receiver({
        "collection_interval": "1h",
        "discovery": {"exclude_instrument": [{"open_ports": str(unrelated_port)}]},
        "routes": {"patterns": ["/status/{code}", "/pipe/{n}"], "unmatched": "path"},
        "ebpf": {"body_size_metrics": request.param == "userspace"},
    })
    rcv.path = request.param
    yield rcv
    rcv.shutdown(time.monotonic() + 5)


@pytest.fixture(scope="module")
def traffic(receiver, unrelated_port, tmp_path_factory):
    portfile = str(tmp_path_factory.mktemp("http") / "port")
    srv = run_workload("http_workload.py", "server", portfile, 30, env={"OTEL_SERVICE_NAME": "http-server"})
    port = int(wait_file(portfile))
    time.sleep(0.2)  # the listen event reaches the agent before the first request
    plan = ",".join(f"{code}:{delay}:{n}" for code, (delay, n) in PLAN.items())
    cli = run_workload("http_workload.py", "client", port, plan, env={"OTEL_SERVICE_NAME": "http-client"})
    other = run_workload("http_workload.py", "unrelated", unrelated_port, 5, env={"OTEL_SERVICE_NAME": "unrelated"})
    assert cli.wait(60) == 0, cli.stderr.read().decode()
    assert other.wait(60) == 0, other.stderr.read().decode()
    store = receiver.store

    def settled():
        receiver.tracer.poll_now()
        receiver.collect()
        return (total(store, hm.SERVER_DURATION, **{"service.name": "http-server"}) >= TOTAL
                and total(store, hm.CLIENT_DURATION, **{"service.name": "http-client"}) >= TOTAL)

    wait_until(settled, timeout=15)
    yield {"port": port}
    srv.kill()
    srv.wait(5)


@pytest.mark.parametrize("side,metric,svc", [("server", hm.SERVER_DURATION, "http-server"),
                                              ("client", hm.CLIENT_DURATION, "http-client")])
def test_keepalive_requests_are_counted_exactly_per_status(receiver, traffic, side, metric, svc):
    for code, (_, n) in PLAN.items():
        got = total(receiver.store, metric, **{"service.name": svc, "http.response.status_code": code,
                                               "http.route": "/status/{code}", "http.request.method": "GET",
                                               "url.scheme": "http", "server.port": traffic["port"]})
        assert got == n, (side, code, got, lost(receiver))


@pytest.mark.parametrize("metric,svc", [(hm.SERVER_DURATION, "http-server"), (hm.CLIENT_DURATION, "http-client")])
def test_durations_match_the_known_delays(receiver, traffic, metric, svc):
    from .conftest import series_for
    for code, (delay, n) in PLAN.items():
        ((count, seconds, buckets),) = series_for(receiver.store, metric, **{
            "service.name": svc, "http.response.status_code": code, "http.route": "/status/{code}"}).values()
        mean = seconds / count
        # server: from reading the request to writing the response; client adds a loopback
        # trip. The margin covers scheduling on a loaded 2-core machine.
        assert delay <= mean < delay + 0.08, (code, mean)


@pytest.mark.parametrize("metric,svc", [(hm.SERVER_DURATION, "http-server"), (hm.CLIENT_DURATION, "http-client")])
def test_request_split_across_writes_is_one_request(receiver, traffic, metric, svc):
    assert total(receiver.store, metric, **{"service.name": svc, "http.route": "/split",
                                            "http.response.status_code": 200}) == 1


@pytest.mark.parametrize("metric,svc", [(hm.SERVER_DURATION, "http-server"), (hm.CLIENT_DURATION, "http-client")])
def test_pipelined_pair_is_two_requests(receiver, traffic, metric, svc):
    assert total(receiver.store, metric, **{"service.name": svc, "http.route": "/pipe/{n}"}) == 2


def test_unrelated_process_traffic_is_not_counted(receiver, traffic, unrelated_port):
    for metric in (hm.SERVER_DURATION, hm.CLIENT_DURATION):
        assert total(receiver.store, metric, **{"service.name": "unrelated"}) == 0
        assert total(receiver.store, metric, **{"server.port": unrelated_port}) == 0


def test_service_graph_edge_counts_requests_and_failures(receiver, traffic):
    s = receiver.store
    edge = {"client": "http-client", "server": "http-server"}
    assert total(s, hm.GRAPH_TOTAL, **edge) == TOTAL
    assert total(s, hm.GRAPH_FAILED, **edge) == PLAN[500][1]
    assert total(s, hm.GRAPH_SERVER, **edge) == TOTAL
    assert total(s, hm.GRAPH_CLIENT, **edge) == TOTAL


def test_response_body_sizes_come_from_content_length(receiver, traffic):
    from .conftest import series_for
    if receiver.path == "kernel":
        assert series_for(receiver.store, hm.SERVER_RESP_SIZE) == {}  # off unless asked for
        return
    vals = series_for(receiver.store, hm.SERVER_RESP_SIZE, **{"service.name": "http-server"}).values()
    assert sum(v[0] for v in vals) == TOTAL
    assert sum(v[1] for v in vals) == 2 * TOTAL  # every body is "ok"

