"""Admission latency: the webhook sits on every pod creation's path (API server timeout 10 s).
Prints figures; never asserts timings. Run: pytest -m bench -s tests/operator/test_operator_bench.py"""

from __future__ import annotations

import http.client
import ssl
import statistics
import time

import pytest

from collector.operator.webhook import AdmissionHandler, Metrics, WebhookServer
from collector.testing import free_port
from tests.operator.operator_pods import deployment_pod
from tests.operator.test_operator_review import review

pytestmark = pytest.mark.bench
ANN = "instrumentation.opentelemetry.io/"


def _pods():
    many = [{"name": f"c{i}", "image": f"shop/c{i}:1.{i}", "env": [{"name": f"V{j}", "value": "x" * 20}
                                                                    for j in range(20)]} for i in range(5)]
    return {
        "python, 1 container": deployment_pod({ANN + "inject-python": "skuber-instrumentation"}),
        "java, 5 containers x 20 env": deployment_pod({ANN + "inject-java": "skuber-instrumentation",
                                                       ANN + "container-names": "c0,c1,c2,c3,c4"},
                                                      containers=many),
        "unannotated": deployment_pod({}),
    }


def test_bench_review_in_process(mutator):
    handler = AdmissionHandler(mutator, Metrics())
    for label, pod in _pods().items():
        body = review(pod)
        n, samples = 2000, []
        for _ in range(n):
            t0 = time.perf_counter()
            handler.review(body)
            samples.append(time.perf_counter() - t0)
        samples.sort()
        print(f"\nreview in-process [{label}]: {n / sum(samples):.0f}/s, "
              f"p50 {samples[n // 2] * 1e6:.0f} us, p99 {samples[int(n * .99)] * 1e6:.0f} us")


def test_bench_review_over_https(mutator, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "tls.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "tls.key"))
    port = free_port()
    server = WebhookServer(mutator, "127.0.0.1", port, str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"))
    server.start()
    try:
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        body = review(_pods()["python, 1 container"])
        for mode in ("keep-alive", "new connection each"):
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
            n, samples = 300, []
            for _ in range(n):
                t0 = time.perf_counter()
                if mode != "keep-alive":
                    conn.close()
                    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
                conn.request("POST", "/mutate-v1-pod", body, {"Content-Type": "application/json"})
                conn.getresponse().read()
                samples.append(time.perf_counter() - t0)
            conn.close()
            print(f"\nreview over HTTPS [{mode}]: {n / sum(samples):.0f}/s, "
                  f"p50 {statistics.median(samples) * 1e3:.2f} ms, "
                  f"p99 {sorted(samples)[int(n * .99)] * 1e3:.2f} ms")
    finally:
        server.shutdown()
