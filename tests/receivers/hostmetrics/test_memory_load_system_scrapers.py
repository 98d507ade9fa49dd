"""memory, load and system scrapers on the fixture node."""
from tests.receivers.hostmetrics.fixture_node import BOOT

KB = 1024


def test_memory_usage_states_follow_gopsutil_arithmetic(scrape, attrs_of):
    points, errors = scrape("memory")
    assert errors == [] and set(points) == {"system.memory.usage"}
    pts = points["system.memory.usage"]
    assert (pts[0]["kind"], pts[0]["unit"], pts[0]["monotonic"], pts[0]["value_kind"]) == \
        ("sum", "By", False, "as_int")
    assert pts[0]["start"] == BOOT * 10**9
    total = 8_000_000 * KB
    got = {k[0]: v for k, v in attrs_of(pts, "state").items()}
    cached = (3_000_000 + 400_000) * KB  # Cached + SReclaimable
    assert got == {
        "used": total - 1_000_000 * KB - 200_000 * KB - cached,
        "free": 1_000_000 * KB, "buffered": 200_000 * KB, "cached": cached,
        "slab_reclaimable": 400_000 * KB, "slab_unreclaimable": 200_000 * KB,
    }
    # used + free + buffered + cached is the whole of MemTotal.
    assert got["used"] + got["free"] + got["buffered"] + got["cached"] == total


def test_optional_memory_metrics(scrape, attrs_of):
    names = ["system.memory.utilization", "system.memory.limit", "system.linux.memory.available",
             "system.linux.memory.dirty", "system.memory.linux.shared", "system.memory.page_size"]
    points, _ = scrape("memory", {"metrics": {n: {"enabled": True} for n in names}})
    assert points["system.memory.limit"][0]["value"] == 8_000_000 * KB
    assert points["system.linux.memory.available"][0]["value"] == 5_000_000 * KB
    assert points["system.linux.memory.dirty"][0]["value"] == 1234 * KB
    assert points["system.memory.linux.shared"][0]["value"] == 100_000 * KB
    assert points["system.memory.page_size"][0]["value"] == 4096
    util = {k[0]: v for k, v in attrs_of(points["system.memory.utilization"], "state").items()}
    assert util["free"] == 0.125 and points["system.memory.utilization"][0]["kind"] == "gauge"


def test_load_averages_and_cpu_average(scrape):
    points, errors = scrape("load")
    assert errors == []
    assert {n: p[0]["value"] for n, p in points.items()} == {
        "system.cpu.load_average.1m": 0.5, "system.cpu.load_average.5m": 1.25,
        "system.cpu.load_average.15m": 2.0}
    p = points["system.cpu.load_average.1m"][0]
    assert (p["kind"], p["unit"]) == ("gauge", "{thread}")
    averaged, _ = scrape("load", {"cpu_average": True})  # two logical CPUs in the fixture
    assert averaged["system.cpu.load_average.15m"][0]["value"] == 1.0


def test_system_uptime(scrape):
    points, errors = scrape("system")
    assert errors == []
    p = points["system.uptime"][0]
    assert (p["value"], p["unit"], p["kind"], p["value_kind"]) == (86400.25, "s", "gauge", "as_double")
    assert p["description"] == "The time the system has been running"
