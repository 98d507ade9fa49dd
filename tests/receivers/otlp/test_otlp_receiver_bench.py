"""Benchmark: spans per CPU-second of the agent, client -> otlp receiver -> engine -> otlp exporter
-> sink. The client and the sink run in their own processes, so the CPU time measured (this
process's) is the agent's alone. Prints figures; never asserts timings.

    .venv/bin/pytest -m bench -s tests/receivers/otlp/test_otlp_receiver_bench.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from collector.testing import free_port, start_service, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOTAL_SPANS = 200_000

# A client process: n export calls of `per` realistic spans each, 4 in flight.
CLIENT = r"""
import sys, grpc, concurrent.futures as cf, http.client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest as R
transport, endpoint, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
req = R(); rs = req.resource_spans.add()
rs.resource.attributes.add(key="service.name").value.string_value = "checkout"
rs.resource.attributes.add(key="k8s.pod.name").value.string_value = "checkout-7d9f8-abcde"
ss = rs.scope_spans.add(); ss.scope.name = "io.opentelemetry.http"
for i in range(per):
    s = ss.spans.add(name="GET /api/v1/orders/{id}", kind=2)
    s.trace_id = i.to_bytes(16, "big"); s.span_id = (i + 1).to_bytes(8, "big"); s.parent_span_id = b"\x01" * 8
    s.start_time_unix_nano = 1700000000000000000 + i; s.end_time_unix_nano = s.start_time_unix_nano + 1500000
    for k, v in (("http.request.method", "GET"), ("url.path", "/api/v1/orders/123"), ("server.address", "orders")):
        s.attributes.add(key=k).value.string_value = v
    s.attributes.add(key="http.response.status_code").value.int_value = 200
body = req.SerializeToString()
if transport == "grpc":
    ch = grpc.insecure_channel(endpoint)
    call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                          request_serializer=lambda b: b, response_deserializer=lambda b: b)
    send = lambda _: call(body, timeout=30)
else:
    host, port = endpoint.rsplit(":", 1)
    import threading
    local = threading.local()
    def send(_):
        c = getattr(local, "c", None) or http.client.HTTPConnection(host, int(port), timeout=30)
        local.c = c
        c.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        r = c.getresponse(); r.read(); assert r.status == 200, r.status
with cf.ThreadPoolExecutor(4) as ex:
    list(ex.map(send, range(n)))
"""

SINK = r"""
import sys, time
from collector.sink import Sink
s = Sink(grpc=sys.argv[1], http=None, max_kept=10).start()
print("ready", flush=True)
time.sleep(600)
"""


def _run(transport: str, compression: str, per_request: int) -> None:
    sink_port, gport, hport = free_port(), free_port(), free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, f"127.0.0.1:{sink_port}"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout.readline().strip() == "ready"
        svc = start_service(f"""
receivers:
  otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:{gport}"}}, http: {{endpoint: "127.0.0.1:{hport}"}}}}}}
exporters:
  otlp: {{endpoint: "127.0.0.1:{sink_port}", tls: {{insecure: true}}, compression: {compression},
          sending_queue: {{queue_size: 5000}}}}
service:
  telemetry: {{metrics: {{level: none}}}}  # no :8888 endpoint; the counters are still kept
  pipelines: {{traces: {{receivers: [otlp], exporters: [otlp]}}}}
""")
        try:
            requests = TOTAL_SPANS // per_request
            total = requests * per_request
            endpoint = f"127.0.0.1:{gport if transport == 'grpc' else hport}"
            cpu0, wall0 = time.process_time(), time.monotonic()
            subprocess.run([sys.executable, "-c", CLIENT, transport, endpoint, str(requests), str(per_request)],
                           cwd=ROOT, check=True, timeout=300)
            sent = lambda: svc.telemetry.value("otelcol_exporter_sent_spans_total", {"exporter": "otlp"})  # noqa: E731
            assert wait_until(lambda: sent() >= total, timeout=120, interval=0.01), sent()
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            print(f"\nBENCH otlp receiver({transport}) -> engine -> otlp exporter(compression={compression}) -> sink: "
                  f"{total} spans in requests of {per_request}, agent CPU {cpu:.2f}s, wall {wall:.2f}s, "
                  f"{total / cpu:,.0f} spans per agent CPU-second, {total / wall:,.0f} spans/s wall")
        finally:
            svc.shutdown(time.monotonic() + 5)
    finally:
        sink.kill()
        sink.wait(10)


@pytest.mark.bench
@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("per_request", [100, 1000])
def test_bench_spans_per_agent_cpu_second(transport, compression, per_request):
    _run(transport, compression, per_request)
