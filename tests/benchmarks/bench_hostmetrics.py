"""Benchmark: CPU time per scrape, hostmetrics receiver vs Debian's prometheus-node-exporter,
measured in the same run on the same machine.

Ours: the receiver's scrape of the scrapers an agent enables by default (cpu, memory, load,
filesystem, disk, network, paging, processes, system), plus the request's protobuf encoding,
timed with this process's CPU clock; then the same with the per-process `process` scraper
added. node_exporter: its own CPU time (utime+stime from /proc/<pid>/stat) across N GETs of
/metrics with its default collectors. Figures are printed, never asserted:
    .venv/bin/pytest -m bench -s tests/benchmarks/bench_hostmetrics.py
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from collector.component import ComponentID, CreateSettings  # noqa: E402
from collector.config import decode  # noqa: E402
from collector.receivers.hostmetrics.config import Config  # noqa: E402
from collector.receivers.hostmetrics.receiver import HostMetricsReceiver  # noqa: E402
from collector.telemetry import Telemetry  # noqa: E402
from collector.testing import free_port, wait_until  # noqa: E402

SCRAPES = 50
DEFAULT_SCRAPERS = ["cpu", "memory", "load", "filesystem", "disk", "network", "paging",
                    "processes", "system"]
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


SCRAPER_SETTINGS = {
    "process": {"mute_process_all_errors": True},
    # Listing TCP sockets (net/tcp, net/tcp6) is the kernel's work per socket; node_exporter's
    # defaults do not do it, so the comparison is also printed without it.
    "network-noconn": {"metrics": {"system.network.connections": {"enabled": False}}},
}


def receiver(scrapers):
    tel = Telemetry()
    settings = CreateSettings(ComponentID("hostmetrics"), "receiver", logging.getLogger("bench"),
                              tel.component("receiver", "hostmetrics"))
    cfg = decode(Config, {"scrapers": {s.split("-")[0]: SCRAPER_SETTINGS.get(s, {}) for s in scrapers}})
    return HostMetricsReceiver(settings, cfg, consumer=None)


def tcp_sockets() -> int:
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                n += sum(1 for _ in f) - 1
        except OSError:
            pass
    return n


def measure_ours(scrapers) -> tuple[float, float, int, int]:
    r = receiver(scrapers)
    r.scrape().SerializeToString()  # warm caches (imports, first-read page cache)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    points = size = 0
    for _ in range(SCRAPES):
        req = r.scrape()
        size = len(req.SerializeToString())
        points = sum(len(getattr(m, m.WhichOneof("data")).data_points)
                     for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
    return ((time.process_time() - cpu0) / SCRAPES, (time.perf_counter() - wall0) / SCRAPES,
            points, size)


def measure_node_exporter() -> tuple[float, float, int, int]:
    port = free_port()
    proc = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"

    def get() -> bytes:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read()
    try:
        def up():
            try:
                get()
                return True
            except OSError:
                return False
        assert wait_until(up, timeout=15), "node_exporter did not start"
        get()
        p = psutil.Process(proc.pid)
        t0 = p.cpu_times()
        wall0 = time.perf_counter()
        body = b""
        for _ in range(SCRAPES):
            body = get()
        wall = (time.perf_counter() - wall0) / SCRAPES
        t1 = p.cpu_times()
        cpu = ((t1.user + t1.system) - (t0.user + t0.system)) / SCRAPES
        samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        return cpu, wall, samples, len(body)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.bench
@pytest.mark.skipif(not os.access(NODE_EXPORTER, os.X_OK), reason="prometheus-node-exporter not installed")
def test_cpu_per_scrape_receiver_vs_node_exporter():
    ours = measure_ours(DEFAULT_SCRAPERS)
    ours_noconn = measure_ours([s if s != "network" else "network-noconn" for s in DEFAULT_SCRAPERS])
    ours_proc = measure_ours(DEFAULT_SCRAPERS + ["process"])
    ne = measure_node_exporter()
    nproc = len(psutil.pids())
    print(f"\nhostmetrics bench: {SCRAPES} scrapes each, {os.cpu_count()} CPUs, {nproc} processes, "
          f"{tcp_sockets()} TCP sockets")
    print(f"  receiver (9 default scrapers): {ours[0] * 1e3:7.2f} ms CPU/scrape, "
          f"{ours[1] * 1e3:7.2f} ms wall, {ours[2]} points, {ours[3]} bytes protobuf")
    print(f"  same, no network.connections : {ours_noconn[0] * 1e3:7.2f} ms CPU/scrape, "
          f"{ours_noconn[1] * 1e3:7.2f} ms wall, {ours_noconn[2]} points")
    print(f"  receiver + process scraper   : {ours_proc[0] * 1e3:7.2f} ms CPU/scrape, "
          f"{ours_proc[1] * 1e3:7.2f} ms wall, {ours_proc[2]} points, {ours_proc[3]} bytes protobuf")
    print(f"  node_exporter (defaults)     : {ne[0] * 1e3:7.2f} ms CPU/scrape, "
          f"{ne[1] * 1e3:7.2f} ms wall, {ne[2]} samples, {ne[3]} bytes text")
    if ne[0] > 0:
        print(f"  ratio receiver/node_exporter : {ours[0] / ne[0]:.2f} (default scrapers), "
              f"{ours_noconn[0] / ne[0]:.2f} (no connections), {ours_proc[0] / ne[0]:.2f} (with process)")
