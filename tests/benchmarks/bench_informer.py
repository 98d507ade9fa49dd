"""Benchmark: an informer syncing 10k pods from the fake API server. The server runs in one child
process and each measured informer in another, so RSS figures are the informer's own. Prints time
to sync, RSS growth and Python heap retained (tracemalloc) for raw dicts, for the slim records
k8sattributes keeps, and for a node field selector. Never asserts timings.

    .venv/bin/pytest -m bench -s tests/benchmarks/bench_informer.py
"""
import json
import os
import subprocess
import sys
import time

import pytest

PODS = int(os.environ.get("BENCH_PODS", "10000"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _measure(kubeconfig: str, mode: str) -> dict:
    """Runs in the child process."""
    import gc
    import tracemalloc

    import psutil

    from collector.k8s.client import make_api_client
    from collector.k8s.informer import Informer
    from collector.processors.k8sattributes.config import ExtractConfig
    from collector.processors.k8sattributes.records import Rules, pod_record

    rules = Rules(ExtractConfig())
    kw = {"transform": None} if mode == "raw" else {"transform": lambda raw: pod_record(raw, rules, [])}
    if mode == "node":
        kw["field_selector"] = "spec.nodeName=node-1"
    api = make_api_client("kubeConfig", kubeconfig=kubeconfig)
    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    inf = Informer(api, "pods", read_timeout_seconds=60, **kw)
    started = time.monotonic()
    inf.start()
    synced = inf.wait_synced(300)
    took = time.monotonic() - started
    gc.collect()
    rss = psutil.Process().memory_info().rss - rss0
    result = {"mode": mode, "synced": synced, "pods": len(inf.items()), "pages": inf.stats.lists,
              "seconds": round(took, 2), "rss_mib": round(rss / 2**20, 1)}
    inf.stop()
    del inf
    gc.collect()
    # a second sync under tracemalloc (slower, so not timed): the Python heap the cache retains
    tracemalloc.start()
    inf = Informer(api, "pods", read_timeout_seconds=60, **kw)
    inf.start()
    inf.wait_synced(300)
    gc.collect()
    result["heap_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
    tracemalloc.stop()
    inf.stop()
    return result


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    kubeconfig = str(tmp_path_factory.mktemp("bench") / "kubeconfig")
    proc = subprocess.Popen([sys.executable, "-m", "collector.k8s.fakeapi", "--port", "0", "--pods", str(PODS),
                             "--nodes", "10", "--kubeconfig", kubeconfig],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once populated; EOF if it died
        assert "fake API server on" in line, "fake API server did not start"
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.bench
def test_bench_informer_sync_10k_pods(server):
    for mode in ("raw", "slim", "node"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), server, mode], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        r = json.loads(out.stdout.strip().splitlines()[-1])
        per_pod = r["heap_mib"] * 2**20 / max(r["pods"], 1)
        print(f"\n[bench_informer] {r['mode']:>4}: pods={r['pods']} pages={r['pages']} synced={r['synced']} "
              f"time_to_sync={r['seconds']}s rss_growth={r['rss_mib']}MiB heap={r['heap_mib']}MiB "
              f"({per_pod:.0f} B/pod)")


@pytest.mark.bench
def test_bench_k8sattributes_enrichment_with_10k_pods(server, monkeypatch):
    """The hot path: enrich resources by connection IP against a synced 10k-pod table."""
    import logging

    from collector import pdata
    from collector.component import ComponentID, CreateSettings, Payload
    from collector.config import decode
    from collector.processors.k8sattributes import factory
    from collector.telemetry import Telemetry

    class Drop:
        def consume(self, payload):
            pass

    monkeypatch.setenv("KUBECONFIG", server)
    config = decode(factory.config_class, {"auth_type": "kubeConfig", "wait_for_metadata": True,
                                           "wait_for_metadata_timeout": "120s"})
    settings = CreateSettings(id=ComponentID("k8sattributes", "bench"), kind="processor",
                              logger=logging.getLogger("bench"), telemetry=Telemetry().component("processor", "k8sattributes/bench"))
    proc = factory.create(settings, config, "traces", Drop())
    proc.start(None)
    try:
        ips = [p.ip for p in proc.cache.pods.items()][:1000]
        batches, per_batch = 200, 50
        requests = []
        for b in range(batches):
            req = pdata.new_request("traces")
            for i in range(per_batch):
                rs = req.resource_spans.add()
                pdata.set_attr(rs.resource.attributes, "k8s.pod.ip", ips[(b * per_batch + i) % len(ips)])
                pdata.set_attr(rs.resource.attributes, "service.name", "svc")
            requests.append(req)
        started = time.perf_counter()
        for req in requests:
            proc.consume(Payload("traces", req, []))
        took = time.perf_counter() - started
        n = batches * per_batch
        print(f"\n[bench_informer] k8sattributes: {n} resources enriched in {took:.3f}s "
              f"= {n / took:,.0f} resources/s ({took / n * 1e6:.1f} us each), table={len(proc.cache)} ids")
    finally:
        proc.shutdown(0)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    print(json.dumps(_measure(sys.argv[1], sys.argv[2])))
