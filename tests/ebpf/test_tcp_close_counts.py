"""Real eBPF on the fallback path of kernels < 6.5 (no sock:sock_*_length tracepoints): bytes
come from struct tcp_sock at close, at offsets read from BTF. Exact counts prove the offsets."""
from __future__ import annotations

import time

import pytest

from collector.testing import free_port, wait_until
from ebpf import bpf_program
from ebpf import tcp_metrics as tm

from .conftest import run_workload, start_receiver, total, wait_file

N, REQ, RESP = 3, 3000, 777


@pytest.fixture(scope="module")
def receiver():
    real = bpf_program.probe_features
    mp = pytest.MonkeyPatch()

    def without_sock_length(tracefs):
        f = real(tracefs)
        f.sock_length_tracepoints = False
        return f

    mp.setattr(bpf_program, "probe_features", without_sock_length)
    try:
        rcv = start_receiver({"collection_interval": "1h", "ebpf": {"http_capture": False}})
    finally:
        mp.undo()
    yield rcv
    rcv.shutdown(time.monotonic() + 5)


def test_close_time_bytes_from_btf_offsets_are_exact(receiver, tmp_path):
    assert not receiver.tracer.features.sock_length_tracepoints
    portfile = str(tmp_path / "port")
    srv = run_workload("tcp_workload.py", "server", portfile, N, REQ, RESP, 1, env={"OTEL_SERVICE_NAME": "close-srv"})
    port = int(wait_file(portfile))
    cli = run_workload("tcp_workload.py", "client", port, N, REQ, RESP, free_port(),
                       env={"OTEL_SERVICE_NAME": "close-cli"})
    assert cli.wait(30) == 0
    s = receiver.store
    base = {"service.name": "close-cli", "dst.port": port}

    def done():
        receiver.tracer.poll_now()
        return total(s, tm.RTT, **base) >= N and total(s, tm.FLOW_BYTES, **base) >= N * (REQ + RESP)

    assert wait_until(done, timeout=10)
    assert total(s, tm.FLOW_BYTES, direction="request", **base) == N * REQ
    assert total(s, tm.FLOW_BYTES, direction="response", **base) == N * RESP
    srv.wait(10)
