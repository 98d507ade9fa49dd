"""Benchmark: the skuber-ksm role (kube_state_metrics receiver -> prometheus exporter) and the
k8s_cluster receiver against a fake API server holding 10k pods, 1k deployments (with their
replicasets) and 100 nodes. The server runs in one child process and each measured component in
another, so RSS is the component's own. Prints figures; never asserts timings.

    .venv/bin/pytest -m bench -s tests/benchmarks/bench_cluster.py
"""
import json
import os
import subprocess
import sys
import time

import pytest

DEPLOYMENTS = int(os.environ.get("BENCH_DEPLOYMENTS", "1000"))
PODS_PER_DEPLOYMENT = int(os.environ.get("BENCH_PODS_PER_DEPLOYMENT", "10"))
NODES = int(os.environ.get("BENCH_NODES", "100"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _serve(kubeconfig: str) -> None:
    """Child: a populated fake API server until stdin closes."""
    from collector.k8s.fakeapi import FakeAPIServer
    from collector.k8s.fakeapi import objects as o

    srv = FakeAPIServer(history_limit=1000).start()
    for i in range(NODES):
        srv.create(o.node(f"node-{i}", ip=f"192.168.{i // 250}.{i % 250 + 1}"))
    for ns in ("shop", "search", "payments", "infra"):
        srv.create(o.namespace(ns))
    for d in range(DEPLOYMENTS):
        ns = ("shop", "search", "payments", "infra")[d % 4]
        for obj in o.deployment_with_pods(f"app-{d}", ns, replicas=PODS_PER_DEPLOYMENT,
                                          node_name=f"node-{d % NODES}", first_ip=(d % 250, 1)):
            srv.create(obj)
    srv.write_kubeconfig(kubeconfig)
    print("ready", flush=True)
    sys.stdin.read()
    srv.stop()


def _scrape(port: int, needles=(b"\nkube_pod_info{", b"\nkube_node_info{")) -> tuple[float, int, list[int]]:
    """(seconds, body bytes, count of each needle), read in 1 MiB pieces so the scraper does
    not hold the body in the measured process."""
    import urllib.request
    t0 = time.perf_counter()
    size, counts, tail = 0, [0] * len(needles), b""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=120) as r:
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            size += len(piece)
            window = tail + piece
            for i, n in enumerate(needles):
                counts[i] += window.count(n) - tail.count(n)
            tail = window[-64:]
    return time.perf_counter() - t0, size, counts


def _measure_ksm(kubeconfig: str) -> dict:
    import gc
    import logging

    import psutil

    from collector.component import ComponentID, CreateSettings
    from collector.config import decode
    from collector.exporters.prometheus import factory as exporter_factory
    from collector.exporters.prometheus.config import Config as ExporterConfig
    from collector.receivers.kube_state_metrics import factory
    from collector.receivers.kube_state_metrics.config import Config
    from collector.telemetry import Telemetry
    from collector.testing import free_port

    def settings(kind, cid):
        return CreateSettings(ComponentID.parse(cid), kind, logging.getLogger(cid), Telemetry().component(kind, cid))

    pods = DEPLOYMENTS * PODS_PER_DEPLOYMENT
    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    port = free_port()
    exp = exporter_factory.create(settings("exporter", "prometheus"),
                                  decode(ExporterConfig, {"endpoint": f"127.0.0.1:{port}"}), frozenset({"metrics"}))
    exp.start(None)
    ingest_seconds = []

    class Timed:
        def consume(self, payload):
            t0 = time.perf_counter()
            exp.consume(payload)
            ingest_seconds.append(time.perf_counter() - t0)

    os.environ["KUBECONFIG"] = kubeconfig
    rcv = factory.create(settings("receiver", "kube_state_metrics"),
                         decode(Config, {"auth_type": "kubeConfig", "collection_interval": "30s"}),
                         {"metrics": Timed()})
    started = time.monotonic()
    rcv.start(None)
    first_full = None
    deadline = started + 600
    while time.monotonic() < deadline:
        _, _, (pod_lines, node_lines) = _scrape(port)
        if pod_lines >= pods and node_lines >= NODES:
            first_full = time.monotonic() - started
            break
        time.sleep(0.5)
    latencies = []
    size = 0
    for _ in range(20):
        took, size, _ = _scrape(port)
        latencies.append(took)
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=120) as r, \
            open(os.path.join(os.path.dirname(kubeconfig), "ksm_body.txt"), "wb") as out:
        while piece := r.read(1 << 20):  # kept for the scrape benchmark, streamed to disk
            out.write(piece)
    emit_t0 = time.perf_counter()
    rcv.emit_once()  # a steady-state emission: nothing changed, nothing re-rendered
    steady_emit = time.perf_counter() - emit_t0
    gc.collect()
    rss = psutil.Process().memory_info().rss
    latencies.sort()
    result = {"pods": pods, "series": exp.store.series_count, "body_mib": round(size / 2**20, 1),
              "time_to_first_full_scrape_s": round(first_full, 1) if first_full else None,
              "scrape_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
              "scrape_max_ms": round(latencies[-1] * 1000, 1),
              "first_ingest_s": round(ingest_seconds[0], 2) if ingest_seconds else None,
              "steady_emission_s": round(steady_emit, 2),
              "object_renders": rcv.renders, "cache_mib": round(rcv.cache.size_bytes() / 2**20, 1), "exporter_renders": exp.store.renders,
              "rss_mib": round(rss / 2**20, 1), "rss_growth_mib": round((rss - rss0) / 2**20, 1)}
    rcv.shutdown(time.monotonic() + 5)
    exp.shutdown(time.monotonic() + 5)
    return result


def _measure_cluster(kubeconfig: str) -> dict:
    import logging

    import psutil

    from collector.component import ComponentID, CreateSettings
    from collector.config import decode
    from collector.pdata import count_items
    from collector.receivers.k8s_cluster import factory
    from collector.receivers.k8s_cluster.config import Config
    from collector.telemetry import Telemetry

    sizes = []

    class Count:
        def consume(self, payload):
            sizes.append(count_items("metrics", payload.request))

    os.environ["KUBECONFIG"] = kubeconfig
    cid = "k8s_cluster"
    rcv = factory.create(CreateSettings(ComponentID.parse(cid), "receiver", logging.getLogger(cid),
                                        Telemetry().component("receiver", cid)),
                         decode(Config, {"auth_type": "kubeConfig", "collection_interval": "10s",
                                         "allocatable_types_to_report": ["cpu", "memory"]}), {"metrics": Count()})
    started = time.monotonic()
    rcv.start(None)
    while not sizes and time.monotonic() - started < 600:
        time.sleep(0.2)
    first = time.monotonic() - started
    t0 = time.perf_counter()
    request = rcv.build_request()
    build = time.perf_counter() - t0
    result = {"time_to_first_collection_s": round(first, 1), "points": count_items("metrics", request),
              "collection_build_s": round(build, 2),
              "rss_mib": round(psutil.Process().memory_info().rss / 2**20, 1)}
    rcv.shutdown(time.monotonic() + 5)
    return result


def _measure_scrape(kubeconfig: str) -> dict:
    """The cluster role's prometheus receiver scraping the KSM body saved by the ksm run."""
    import gc
    import logging
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import psutil

    from collector.component import ComponentID, CreateSettings
    from collector.config import decode
    from collector.pdata import count_items
    from collector.receivers.prometheus import factory
    from collector.receivers.prometheus.config import Config
    from collector.telemetry import Telemetry

    path = os.path.join(os.path.dirname(kubeconfig), "ksm_body.txt")

    class Serve(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            size = os.path.getsize(path)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with open(path, "rb") as f:
                while piece := f.read(1 << 20):
                    self.wfile.write(piece)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    points = []

    class Count:
        def consume(self, payload):
            points.append(count_items("metrics", payload.request))

    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    cfg = decode(Config, {"config": {"scrape_configs": [{
        "job_name": "skuber-ksm", "scrape_interval": "1h", "scrape_timeout": "2m",
        "static_configs": [{"targets": [f"127.0.0.1:{srv.server_address[1]}"]}]}]}})
    rcv = factory.create(CreateSettings(ComponentID.parse("prometheus"), "receiver", logging.getLogger("p"),
                                        Telemetry().component("receiver", "prometheus")), cfg, {"metrics": Count()})
    took = []
    for _ in range(3):
        t0 = time.perf_counter()
        rcv.scrape_once(rcv.targets[0])
        took.append(time.perf_counter() - t0)
    rss = psutil.Process().memory_info().rss
    srv.shutdown()
    return {"body_mib": round(os.path.getsize(path) / 2**20, 1), "points": points[-1],
            "scrape_convert_s": [round(t, 2) for t in took], "rss_mib": round(rss / 2**20, 1),
            "rss_growth_mib": round((rss - rss0) / 2**20, 1)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    kubeconfig = str(tmp_path_factory.mktemp("bench") / "kubeconfig")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", kubeconfig], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", "fake API server did not start"
        yield kubeconfig
    finally:
        proc.stdin.close()
        proc.wait(30)


def _child(mode: str, kubeconfig: str) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), mode, kubeconfig], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.bench
def test_bench_ksm_endpoint_10k_pods(server):
    r = _child("ksm", server)
    print(f"\n[bench_cluster] ksm: {json.dumps(r)}")


@pytest.mark.bench
def test_bench_prometheus_receiver_scrapes_the_ksm_body(server):
    if not os.path.exists(os.path.join(os.path.dirname(server), "ksm_body.txt")):
        _child("ksm", server)
    r = _child("scrape", server)
    print(f"\n[bench_cluster] prometheus receiver on the KSM body: {json.dumps(r)}")


@pytest.mark.bench
def test_bench_k8s_cluster_10k_pods(server):
    r = _child("cluster", server)
    print(f"\n[bench_cluster] k8s_cluster: {json.dumps(r)}")


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    mode, kubeconfig = sys.argv[1], sys.argv[2]
    if mode == "serve":
        _serve(kubeconfig)
    else:
        measure = {"ksm": _measure_ksm, "scrape": _measure_scrape, "cluster": _measure_cluster}[mode]
        print(json.dumps(measure(kubeconfig)))
