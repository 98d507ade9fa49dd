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
    tracemalloc.start()
    inf = Informer(api, "pods", read_timeout_seconds=60, **kw)
    started = time.monotonic()
    inf.start()
    synced = inf.wait_synced(300)
    took = time.monotonic() - started
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss = psutil.Process().memory_info().rss - rss0
    result = {"mode": mode, "synced": synced, "pods": len(inf.items()), "pages": inf.stats.lists,
              "seconds": round(took, 2), "rss_mib": round(rss / 2**20, 1), "heap_mib": round(heap / 2**20, 1)}
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


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    print(json.dumps(_measure(sys.argv[1], sys.argv[2])))
