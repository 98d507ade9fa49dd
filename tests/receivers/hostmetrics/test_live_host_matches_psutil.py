"""On this machine (no root_path), the scrapers read what psutil reads: an independent
parser of the same kernel files, used here as the reference."""
import os

import psutil

from collector.receivers.hostmetrics.hostfs import HostFS
from tests.receivers.hostmetrics.fixture_node import by_attrs, flatten, make_scraper


def scrape(name, raw=None):
    return flatten(make_scraper(name, HostFS(""), raw).scrape()[0])


def test_cpu_times_match_psutil():
    before = psutil.cpu_times(percpu=True)
    ours = by_attrs(scrape("cpu")["system.cpu.time"], "cpu", "state")
    after = psutil.cpu_times(percpu=True)
    assert len(ours) == 8 * len(before)
    for i, (b, a) in enumerate(zip(before, after)):
        for state, field in (("user", "user"), ("system", "system"), ("idle", "idle")):
            assert getattr(b, field) - 0.011 <= ours[(f"cpu{i}", state)] <= getattr(a, field) + 0.011


def test_memory_total_and_swap_match_psutil():
    usage = {k[0]: v for k, v in by_attrs(scrape("memory")["system.memory.usage"], "state").items()}
    vm = psutil.virtual_memory()
    assert usage["used"] + usage["free"] + usage["buffered"] + usage["cached"] == vm.total
    limit = scrape("memory", {"metrics": {"system.memory.limit": {"enabled": True}}})
    assert limit["system.memory.limit"][0]["value"] == vm.total


def test_root_filesystem_matches_psutil_disk_usage():
    points = scrape("filesystem")["system.filesystem.usage"]
    root = {p["attrs"]["state"]: p["value"] for p in points if p["attrs"]["mountpoint"] == "/"}
    du = psutil.disk_usage("/")
    assert abs(root["used"] + root["free"] + root["reserved"] - du.total) <= du.total * 0.001
    assert abs(root["free"] - du.free) <= max(du.total * 0.01, 1 << 20)


def test_network_counters_match_psutil():
    before = psutil.net_io_counters(pernic=True)
    ours = by_attrs(scrape("network")["system.network.io"], "device", "direction")
    after = psutil.net_io_counters(pernic=True)
    assert set(before) & set(after) <= {d for d, _ in ours}
    for nic in set(before) & set(after):
        assert before[nic].bytes_recv <= ours[(nic, "receive")] <= after[nic].bytes_recv
        assert before[nic].bytes_sent <= ours[(nic, "transmit")] <= after[nic].bytes_sent


def test_process_scraper_sees_this_test_process():
    me = os.getpid()
    points = scrape("process", {"mute_process_all_errors": True})
    mine = [p for p in points["process.memory.usage"] if p["resource"]["process.pid"] == me]
    assert len(mine) == 1
    rss = psutil.Process(me).memory_info().rss
    assert abs(mine[0]["value"] - rss) <= max(rss * 0.1, 8 << 20)
    assert mine[0]["resource"]["process.executable.name"] == psutil.Process(me).name()
