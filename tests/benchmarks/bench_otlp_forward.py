"""Benchmark: spans forwarded receiver -> engine -> otlp exporter -> sink, per CPU-second of the
agent process, with and without gzip. Prints figures; asserts nothing about timings.

    .venv/bin/pytest -m bench -s tests/benchmarks/bench_otlp_forward.py
    .venv/bin/python tests/benchmarks/bench_otlp_forward.py          # same, without pytest

The agent is a real `python -m collector run` process; the load generator and the sink live in
this process, so the agent's CPU time (psutil) is its own work only. The OpenTelemetry
Collector's testbed budget for this path is 30% of a core for 10k items/s (~33k items per
CPU-second); our target is >= 100k spans per agent CPU-second without compression.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SPANS_PER_REQUEST = 500
REQUESTS = 600
SENDERS = 4

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{receiver_port}"}}
exporters:
  otlp:
    endpoint: "{gateway}"
    compression: {compression}
    tls: {{insecure: true}}
    sending_queue: {{queue_size: 5000}}
service:
  telemetry:
    metrics: {{address: "127.0.0.1:{metrics_port}"}}
    logs: {{level: warn}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp]}}
"""


def _request_bytes() -> bytes:
    from collector.pdata import REQUEST_TYPES

    req = REQUEST_TYPES["traces"]()
    rs = req.resource_spans.add()
    for k, v in (("service.name", "checkout"), ("k8s.pod.name", "checkout-7d9f-abcde"),
                 ("k8s.namespace.name", "shop")):
        a = rs.resource.attributes.add()
        a.key, a.value.string_value = k, v
    ss = rs.scope_spans.add()
    ss.scope.name = "bench"
    for i in range(SPANS_PER_REQUEST):
        s = ss.spans.add()
        s.trace_id = os.urandom(16)
        s.span_id = os.urandom(8)
        s.parent_span_id = os.urandom(8)
        s.name = f"GET /api/items/{i % 20}"
        s.kind = 2
        s.start_time_unix_nano = 1_700_000_000_000_000_000 + i
        s.end_time_unix_nano = s.start_time_unix_nano + 1_000_000
        for k, v in (("http.request.method", "GET"), ("url.path", f"/api/items/{i % 20}"),
                     ("http.response.status_code", 200)):
            a = s.attributes.add()
            a.key = k
            if isinstance(v, int):
                a.value.int_value = v
            else:
                a.value.string_value = v
    return req.SerializeToString()


def run_once(compression: str) -> dict:
    import grpc
    import psutil

    from collector.sink import Sink
    from collector.testing import free_port, wait_until

    sink = Sink(grpc="127.0.0.1:0", http=None, max_kept=10).start()
    receiver_port, metrics_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "bench.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(receiver_port=receiver_port, gateway=sink.grpc_endpoint,
                                  compression=compression, metrics_port=metrics_port))
        agent = subprocess.Popen([sys.executable, "-m", "collector", "run", "--config", cfg],
                                 cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            body = _request_bytes()
            channel = grpc.insecure_channel(f"127.0.0.1:{receiver_port}")
            grpc.channel_ready_future(channel).result(timeout=30)
            export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                         request_serializer=None, response_deserializer=None)
            export(body, timeout=10)  # warm-up: connections made, exporter connected
            if not wait_until(lambda: sink.count("traces") >= SPANS_PER_REQUEST, timeout=30):
                raise RuntimeError("warm-up request never reached the sink")
            sink.clear()
            proc = psutil.Process(agent.pid)
            cpu0, t0 = proc.cpu_times(), time.monotonic()
            errors: list[Exception] = []

            def sender(n: int) -> None:
                for _ in range(n):
                    try:
                        export(body, timeout=30)
                    except grpc.RpcError as e:  # refused: counted, the benchmark goes on
                        errors.append(e)

            threads = [threading.Thread(target=sender, args=(REQUESTS // SENDERS,)) for _ in range(SENDERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            expected = (REQUESTS // SENDERS) * SENDERS - len(errors)
            sink.wait_for(lambda s: s.count("traces") >= expected * SPANS_PER_REQUEST, timeout=120)
            wall = time.monotonic() - t0
            cpu1 = proc.cpu_times()
            cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
            spans = sink.count("traces")
            channel.close()
        finally:
            agent.terminate()
            try:
                agent.wait(30)
            except subprocess.TimeoutExpired:
                agent.kill()
            sink.stop()
    return {"compression": compression, "spans": spans, "refused_requests": len(errors),
            "agent_cpu_s": cpu, "wall_s": wall, "spans_per_cpu_s": spans / cpu if cpu else 0.0,
            "spans_per_wall_s": spans / wall if wall else 0.0}


def _print(r: dict) -> None:
    print(f"otlp forward compression={r['compression']:<5} spans={r['spans']} "
          f"refused_requests={r['refused_requests']} agent_cpu={r['agent_cpu_s']:.2f}s "
          f"wall={r['wall_s']:.2f}s -> {r['spans_per_cpu_s']:,.0f} spans per agent CPU-second "
          f"({r['spans_per_wall_s']:,.0f} spans/s wall)")


@pytest.mark.bench
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_bench_otlp_forward(compression):
    _print(run_once(compression))


if __name__ == "__main__":
    for c in ("none", "gzip"):
        _print(run_once(c))
