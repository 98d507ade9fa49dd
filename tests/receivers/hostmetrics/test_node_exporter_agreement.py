"""The receiver and Debian's prometheus-node-exporter read the same machine and must agree:
CPU seconds, memory, filesystem size/free and network bytes within 1% or, for counters, within
what the counter moved between our two reads taken around node_exporter's."""
import logging
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from collector.component import ComponentID, CreateSettings
from collector.config import decode
from collector.receivers.hostmetrics.config import Config
from collector.receivers.hostmetrics.receiver import HostMetricsReceiver
from collector.telemetry import Telemetry
from collector.testing import free_port, wait_until
from tests.receivers.hostmetrics.fixture_node import by_attrs, flatten

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"

pytestmark = pytest.mark.skipif(
    not os.access(NODE_EXPORTER, os.X_OK),
    reason="Debian's prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)")


def parse_exposition(text: str) -> dict[str, list[tuple[dict, float]]]:
    out: dict[str, list[tuple[dict, float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name, _, labels = name_labels.partition("{")
        attrs = {}
        for part in labels.rstrip("}").split('",'):
            if "=" in part:
                k, _, v = part.partition("=")
                attrs[k] = v.strip('"')
        out.setdefault(name, []).append((attrs, float(value)))
    return out


@pytest.fixture(scope="module")
def node_exporter():
    port = free_port()
    proc = subprocess.Popen(
        [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
         "--collector.cpu", "--collector.meminfo", "--collector.filesystem", "--collector.netdev"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"

    def up():
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False
    try:
        assert wait_until(up, timeout=15), "node_exporter did not start"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


class Sink:
    def __init__(self):
        self.payloads = []

    def consume(self, payload):
        self.payloads.append(payload)


@pytest.fixture(scope="module")
def readings(node_exporter):
    """(ours before, node_exporter, ours after), taken back to back."""
    tel = Telemetry()
    settings = CreateSettings(ComponentID("hostmetrics"), "receiver", logging.getLogger("t"),
                              tel.component("receiver", "hostmetrics"))
    cfg = decode(Config, {"scrapers": {"cpu": {}, "memory": {}, "filesystem": {}, "network": {}}})
    sink = Sink()
    r = HostMetricsReceiver(settings, cfg, sink)
    r.scrape_and_send()
    with urllib.request.urlopen(node_exporter, timeout=5) as resp:
        ne = parse_exposition(resp.read().decode())
    time.sleep(0.05)
    r.scrape_and_send()
    before, after = (flatten(p.request.resource_metrics) for p in sink.payloads)
    return before, ne, after


def close(ne_value, a, b, rel=0.01, slack=0.0):
    """ne_value within [min(a,b), max(a,b)] widened by 1% and an absolute slack."""
    lo, hi = min(a, b), max(a, b)
    margin = max(abs(ne_value) * rel, slack)
    return lo - margin <= ne_value <= hi + margin


def test_cpu_seconds_agree(readings):
    before, ne, after = readings
    modes = {"user": "user", "system": "system", "idle": "idle", "nice": "nice", "iowait": "wait",
             "irq": "interrupt", "softirq": "softirq", "steal": "steal"}
    a = by_attrs(before["system.cpu.time"], "cpu", "state")
    b = by_attrs(after["system.cpu.time"], "cpu", "state")
    checked = 0
    for attrs, value in ne["node_cpu_seconds_total"]:
        key = (f"cpu{attrs['cpu']}", modes[attrs["mode"]])
        # node_exporter prints seconds with 2 decimals: 0.01 s of rounding.
        assert close(value, a[key], b[key], slack=0.02), (key, a[key], value, b[key])
        checked += 1
    assert checked == len(a) == len(b)


def test_memory_agrees(readings):
    before, ne, after = readings
    v = {name[len("node_memory_"):-len("_bytes")]: s[0][1] for name, s in ne.items()
         if name.startswith("node_memory_")}
    a = {k[0]: x for k, x in by_attrs(before["system.memory.usage"], "state").items()}
    b = {k[0]: x for k, x in by_attrs(after["system.memory.usage"], "state").items()}
    total = v["MemTotal"]
    assert sum(a[s] for s in ("used", "free", "buffered", "cached")) == total
    tol = total * 0.01
    assert close(v["MemFree"], a["free"], b["free"], rel=0, slack=tol)
    assert close(v["Buffers"], a["buffered"], b["buffered"], rel=0, slack=tol)
    assert close(v["Cached"] + v["SReclaimable"], a["cached"], b["cached"], rel=0, slack=tol)
    assert close(v["SReclaimable"], a["slab_reclaimable"], b["slab_reclaimable"], rel=0, slack=tol)


def test_filesystem_size_and_free_agree(readings):
    before, ne, _ = readings
    ours = {}
    for p in before["system.filesystem.usage"]:
        ours.setdefault(p["attrs"]["mountpoint"], {})[p["attrs"]["state"]] = p["value"]
    size = {a["mountpoint"]: v for a, v in ne["node_filesystem_size_bytes"]}
    free = {a["mountpoint"]: v for a, v in ne["node_filesystem_free_bytes"]}
    avail = {a["mountpoint"]: v for a, v in ne["node_filesystem_avail_bytes"]}
    common = set(ours) & set(size)
    assert "/" in common, (sorted(ours), sorted(size))
    for mp in common:
        o = ours[mp]
        assert abs(o["used"] + o["free"] + o["reserved"] - size[mp]) <= size[mp] * 0.01, mp
        # node_exporter's free is every free block; ours splits it into free (available to
        # users) and reserved (root's share).
        assert abs(o["free"] + o["reserved"] - free[mp]) <= max(size[mp] * 0.01, 1 << 20), mp
        assert abs(o["free"] - avail[mp]) <= max(size[mp] * 0.01, 1 << 20), mp


def test_network_bytes_agree(readings):
    before, ne, after = readings
    a = by_attrs(before["system.network.io"], "device", "direction")
    b = by_attrs(after["system.network.io"], "device", "direction")
    checked = 0
    for metric, direction in (("node_network_receive_bytes_total", "receive"),
                              ("node_network_transmit_bytes_total", "transmit")):
        for attrs, value in ne[metric]:
            key = (attrs["device"], direction)
            if key in a:
                assert close(value, a[key], b[key], slack=64 * 1024), (key, a[key], value, b[key])
                checked += 1
    assert checked >= 2
