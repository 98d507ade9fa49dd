"""cpu scraper on the fixture node: per-CPU times by state, utilization, counts, frequency."""
from tests.receivers.hostmetrics.fixture_node import BOOT, NOW

NS = 1_000_000_000


def test_cpu_time_is_cumulative_per_cpu_and_state_from_boot(scrape, attrs_of):
    points, errors = scrape("cpu")
    assert errors == []
    assert set(points) == {"system.cpu.time"}  # the only default metric
    pts = points["system.cpu.time"]
    p = pts[0]
    assert (p["kind"], p["unit"], p["monotonic"], p["temporality"], p["value_kind"]) == \
        ("sum", "s", True, 2, "as_double")
    assert p["description"] == "Total seconds each logical CPU spent on each mode."
    assert p["scope"].endswith("/receiver/hostmetricsreceiver/internal/scraper/cpuscraper")
    assert all(q["start"] == BOOT * NS and q["time"] == int(NOW * NS) for q in pts)
    assert attrs_of(pts, "cpu", "state") == {
        ("cpu0", "user"): 200.0, ("cpu0", "system"): 60.0, ("cpu0", "idle"): 2400.0,
        ("cpu0", "interrupt"): 0.0, ("cpu0", "nice"): 1.0, ("cpu0", "softirq"): 5.0,
        ("cpu0", "steal"): 0.5, ("cpu0", "wait"): 10.0,
        ("cpu1", "user"): 100.0, ("cpu1", "system"): 40.0, ("cpu1", "idle"): 2600.0,
        ("cpu1", "interrupt"): 0.0, ("cpu1", "nice"): 1.0, ("cpu1", "softirq"): 2.0,
        ("cpu1", "steal"): 0.5, ("cpu1", "wait"): 5.0,
    }


def test_optional_cpu_metrics_switch_on_per_metric(scrape, attrs_of):
    points, errors = scrape("cpu", {"metrics": {
        "system.cpu.time": {"enabled": False},
        "system.cpu.logical.count": {"enabled": True},
        "system.cpu.physical.count": {"enabled": True},
        "system.cpu.frequency": {"enabled": True}}})
    assert errors == []
    assert "system.cpu.time" not in points
    assert points["system.cpu.logical.count"][0]["value"] == 2
    assert points["system.cpu.logical.count"][0]["unit"] == "{cpu}"
    # Both logical CPUs list the same core siblings (0-1): one physical core.
    assert points["system.cpu.physical.count"][0]["value"] == 1
    # scaling_cur_freq is in kHz.
    assert attrs_of(points["system.cpu.frequency"], "cpu") == {("cpu0",): 2.5e9, ("cpu1",): 2.4005e9}


def test_frequency_falls_back_to_cpuinfo_without_cpufreq(node_copy, make, attrs_of):
    import shutil
    from tests.receivers.hostmetrics.fixture_node import flatten

    root, fs = node_copy
    shutil.rmtree(root / "sys/devices/system/cpu/cpu1/cpufreq")
    s = make("cpu", fs, {"metrics": {"system.cpu.frequency": {"enabled": True}}})
    points = flatten(s.scrape()[0])
    assert attrs_of(points["system.cpu.frequency"], "cpu") == {("cpu0",): 2.5e9, ("cpu1",): 2.4005e9}


def test_utilization_is_share_of_elapsed_cpu_time_from_second_scrape(node_copy, make, clock, attrs_of):
    from tests.receivers.hostmetrics.fixture_node import flatten

    root, fs = node_copy
    s = make("cpu", fs, {"metrics": {"system.cpu.utilization": {"enabled": True}}})
    first = flatten(s.scrape()[0])
    assert "system.cpu.utilization" not in first  # needs two readings
    stat = (root / "proc/stat").read_text().splitlines()
    # cpu0: +300 user ticks, +100 idle ticks (400 ticks elapsed); cpu1: +400 idle only.
    stat[1] = "cpu0 20300 100 6000 240100 1000 0 500 50 0 0"
    stat[2] = "cpu1 10000 100 4000 260400 500 0 200 50 0 0"
    (root / "proc/stat").write_text("\n".join(stat) + "\n")
    clock.t += 4
    pts = flatten(s.scrape()[0])["system.cpu.utilization"]
    assert pts[0]["kind"] == "gauge" and pts[0]["unit"] == "1"
    got = attrs_of(pts, "cpu", "state")
    assert got[("cpu0", "user")] == 0.75 and got[("cpu0", "idle")] == 0.25
    assert got[("cpu1", "idle")] == 1.0 and got[("cpu1", "user")] == 0.0
    assert sum(v for (cpu, _), v in got.items() if cpu == "cpu0") == 1.0


def test_utilization_is_zero_when_no_cpu_time_passed(make, node_fs, clock):
    from tests.receivers.hostmetrics.fixture_node import flatten

    s = make("cpu", node_fs, {"metrics": {"system.cpu.utilization": {"enabled": True}}})
    s.scrape()
    clock.t += 1
    pts = flatten(s.scrape()[0])["system.cpu.utilization"]
    assert len(pts) == 16 and {p["value"] for p in pts} == {0.0}


def test_utilization_denominator_counts_guest_time_as_upstream(node_copy, make, clock, attrs_of):
    """ucal's totalCPU adds guest and guest_nice on top of the eight states (the kernel already
    counts guest inside user), so on a VM host the states sum to less than 1, as upstream."""
    from tests.receivers.hostmetrics.fixture_node import flatten

    root, fs = node_copy
    s = make("cpu", fs, {"metrics": {"system.cpu.utilization": {"enabled": True}}})
    s.scrape()
    stat = (root / "proc/stat").read_text().splitlines()
    # cpu0: +300 user ticks of which 100 are guest, +100 idle: 500 ticks in upstream's total.
    stat[1] = "cpu0 20300 100 6000 240100 1000 0 500 50 100 0"
    (root / "proc/stat").write_text("\n".join(stat) + "\n")
    clock.t += 4
    got = attrs_of(flatten(s.scrape()[0])["system.cpu.utilization"], "cpu", "state")
    assert got[("cpu0", "user")] == 0.6 and got[("cpu0", "idle")] == 0.2
