"""Real eBPF + uprobes: HTTPS plaintext through the OpenSSL tier (Python's ssl uses libssl)."""
from __future__ import annotations

import time

import pytest

from collector.testing import wait_until
from ebpf import http_metrics as hm

from .conftest import lost, run_workload, start_receiver, total, wait_file

PLAN = {200: 5, 404: 2}


@pytest.fixture(scope="module")
def receiver():
    rcv = start_receiver({"collection_interval": "1h",
                          "routes": {"patterns": ["/status/{code}"]}})
    if not rcv.tracer.tls_attached:
        rcv.shutdown(time.monotonic() + 5)
        print("SKIP reason: no libssl found for the OpenSSL uprobes")
        pytest.skip("no libssl found for the OpenSSL uprobes")
    yield rcv
    rcv.shutdown(time.monotonic() + 5)


@pytest.fixture(scope="module")
def traffic(receiver, tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    srv = run_workload("http_workload.py", "server", str(d / "port"), 30,
                       env={"OTEL_SERVICE_NAME": "tls-server", "TLS_CERT": str(d / "server.pem"),
                            "TLS_KEY": str(d / "server.pem")})
    port = int(wait_file(str(d / "port")))
    time.sleep(0.2)
    plan = ",".join(f"{code}:0:{n}" for code, n in PLAN.items())
    cli = run_workload("http_workload.py", "tlsclient", port, plan,
                       env={"OTEL_SERVICE_NAME": "tls-client", "TLS_CA": str(d / "ca.pem")})
    assert cli.wait(60) == 0, cli.stderr.read().decode()
    s = receiver.store
    n = sum(PLAN.values())

    def settled():
        receiver.tracer.poll_now()
        receiver.collect()
        return (total(s, hm.SERVER_DURATION, **{"service.name": "tls-server"}) >= n
                and total(s, hm.CLIENT_DURATION, **{"service.name": "tls-client"}) >= n)

    wait_until(settled, timeout=15)
    yield port
    srv.kill()
    srv.wait(5)


@pytest.mark.parametrize("metric,svc", [(hm.SERVER_DURATION, "tls-server"), (hm.CLIENT_DURATION, "tls-client")])
def test_https_requests_are_counted_exactly_with_scheme_https(receiver, traffic, metric, svc):
    for code, n in PLAN.items():
        got = total(receiver.store, metric, **{"service.name": svc, "url.scheme": "https",
                                               "http.response.status_code": code, "server.port": traffic,
                                               "http.route": "/status/{code}"})
        assert got == n, (code, got, lost(receiver))
    # the ciphertext on the socket itself is never taken for HTTP
    assert total(receiver.store, metric, **{"service.name": svc, "url.scheme": "http"}) == 0


def test_https_edge_in_the_service_graph(receiver, traffic):
    assert total(receiver.store, hm.GRAPH_TOTAL, client="tls-client", server="tls-server") == sum(PLAN.values())


def test_a_process_with_its_own_libssl_copy_is_probed_through_proc(receiver, tmp_path):
    """As a container's own libssl: a copy the host probes do not cover (another inode),
    found in /proc/<pid>/maps and probed through /proc/<pid>/root."""
    import shutil
    import ssl  # noqa: F401  (the test process itself maps the host libssl)
    trustme = pytest.importorskip("trustme")
    host_lib = receiver.tracer.tls_attached[0]
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy(host_lib, libdir / "libssl.so.3")
    ca = trustme.CA()
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "s.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    env = {"LD_LIBRARY_PATH": str(libdir), "TLS_CERT": str(tmp_path / "s.pem"), "TLS_KEY": str(tmp_path / "s.pem")}
    srv = run_workload("http_workload.py", "server", str(tmp_path / "port"), 30,
                       env=dict(env, OTEL_SERVICE_NAME="copy-server"))
    try:
        port = int(wait_file(str(tmp_path / "port")))
        assert wait_until(lambda: any(str(libdir) in p or p.endswith(str(libdir / "libssl.so.3"))
                                      for p in receiver.tracer.tls_attached), timeout=10), receiver.tracer.tls_attached
        cli = run_workload("http_workload.py", "tlsclient", port, "200:0:3",
                           env={"OTEL_SERVICE_NAME": "copy-client", "TLS_CA": str(tmp_path / "ca.pem")})
        assert cli.wait(60) == 0, cli.stderr.read().decode()

        def counted():
            receiver.tracer.poll_now()
            receiver.collect()
            return total(receiver.store, hm.SERVER_DURATION, **{"service.name": "copy-server", "url.scheme": "https"}) >= 3
        assert wait_until(counted, timeout=10)
        assert total(receiver.store, hm.SERVER_DURATION, **{"service.name": "copy-server", "url.scheme": "https"}) == 3
    finally:
        srv.kill()
        srv.wait(5)
