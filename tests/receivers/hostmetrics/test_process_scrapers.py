"""processes and process scrapers on the fixture node (pids 1, 2, 4242 and zombie 777)."""
from tests.receivers.hostmetrics.fixture_node import BOOT

NS = 10**9


def test_processes_count_by_status_and_created(scrape, attrs_of):
    points, errors = scrape("processes")
    assert errors == []
    counts = {k[0]: v for k, v in attrs_of(points["system.processes.count"], "status").items()}
    # running/blocked come from procs_running/procs_blocked of /proc/stat, the rest per pid.
    assert counts == {"running": 3, "blocked": 1, "sleeping": 2, "zombies": 1}
    created = points["system.processes.created"][0]
    assert (created["value"], created["monotonic"], created["unit"]) == (54321, True, "{processes}")
    assert points["system.processes.count"][0]["monotonic"] is False


def _by_pid(points):
    out = {}
    for name, pts in points.items():
        for p in pts:
            out.setdefault(p["resource"]["process.pid"], {}).setdefault(name, []).append(p)
    return out


def test_process_resource_attributes(scrape):
    points, _ = scrape("process")
    procs = _by_pid(points)
    assert set(procs) == {1, 2, 4242, 777}
    res1 = procs[1]["process.cpu.time"][0]["resource"]
    assert res1 == {"process.pid": 1, "process.parent_pid": 0, "process.executable.name": "systemd",
                    "process.executable.path": "/usr/lib/systemd/systemd",
                    "process.command": "/sbin/init", "process.command_line": "/sbin/init splash",
                    "process.owner": "root"}
    res = procs[4242]["process.cpu.time"][0]["resource"]
    # comm is cut to 15 characters by the kernel; the name is restored from argv[0].
    assert res["process.executable.name"] == "my-long-service-name"
    assert res["process.command_line"] == "/usr/bin/my-long-service-name --port 8080"
    assert res["process.owner"] == "app" and res["process.parent_pid"] == 1
    kthread = procs[2]["process.cpu.time"][0]["resource"]
    assert kthread["process.executable.path"] == "" and kthread["process.command"] == ""
    assert procs[777]["process.cpu.time"][0]["resource"]["process.executable.name"] == "defunct (x)"


def test_process_metrics_values_and_start_time(scrape, attrs_of):
    points, _ = scrape("process")
    p1 = _by_pid(points)[1]
    assert set(p1) == {"process.cpu.time", "process.memory.usage", "process.memory.virtual",
                       "process.disk.io"}
    assert attrs_of(p1["process.cpu.time"], "state") == {("user",): 5.0, ("system",): 3.0, ("wait",): 0.07}
    assert p1["process.memory.usage"][0]["value"] == 3000 * 4096
    assert p1["process.memory.virtual"][0]["value"] == 170_000_000
    assert attrs_of(p1["process.disk.io"], "direction") == {("read",): 300_000_000, ("write",): 150_000_000}
    # Counters start at the process's creation: boot + 10 ticks.
    assert {p["start"] for p in p1["process.cpu.time"]} == {BOOT * NS + NS // 10}
    cpu = p1["process.cpu.time"][0]
    assert (cpu["unit"], cpu["monotonic"], cpu["kind"]) == ("s", True, "sum")


def test_optional_process_metrics(scrape, attrs_of):
    names = ["process.paging.faults", "process.threads", "process.context_switches",
             "process.open_file_descriptors", "process.signals_pending", "process.uptime",
             "process.disk.operations", "process.memory.utilization"]
    points, _ = scrape("process", {"metrics": {n: {"enabled": True} for n in names}})
    # pids 2 and 777 have no fd/ directory: reported as errors, the processes still emitted.
    assert set(_by_pid(points)) == {1, 2, 4242, 777}
    p = _by_pid(points)[4242]
    assert len(p["process.threads"]) == 1
    assert attrs_of(p["process.paging.faults"], "type") == {("major",): 12, ("minor",): 7000}
    assert p["process.threads"][0]["value"] == 4
    assert attrs_of(p["process.context_switches"], "type") == {("involuntary",): 20, ("voluntary",): 10}
    assert p["process.open_file_descriptors"][0]["value"] == 1
    assert p["process.signals_pending"][0]["value"] == 0
    assert p["process.uptime"][0]["value"] == 0.5
    assert attrs_of(p["process.disk.operations"], "direction") == {("read",): 3, ("write",): 4}
    # a percentage, as upstream records it
    assert p["process.memory.utilization"][0]["value"] == 100 * 25000 * 4096 / (8_000_000 * 1024)


def test_process_errors_are_reported_unless_muted(scrape):
    _, errors = scrape("process")
    assert any("error reading process executable for pid 2" in e for e in errors)
    assert any("error reading username" in e and "pid 777" in e for e in errors)
    _, errors = scrape("process", {"mute_process_exe_error": True, "mute_process_user_error": True})
    assert errors == []
    _, errors = scrape("process", {"mute_process_all_errors": True})
    assert errors == []


def test_process_name_filters_and_scrape_delay(scrape):
    points, _ = scrape("process", {"include": {"names": ["systemd", "my-long-service-name"],
                                               "match_type": "strict"}})
    assert set(_by_pid(points)) == {1, 4242}
    points, _ = scrape("process", {"exclude": {"names": ["^k", "defunct"], "match_type": "regexp"}})
    assert set(_by_pid(points)) == {1, 4242}
    # 4242 started 0.5 s ago: younger than the delay, skipped.
    points, _ = scrape("process", {"scrape_process_delay": "1s"})
    assert set(_by_pid(points)) == {1, 2, 777}


def test_resource_attributes_switch(scrape):
    points, _ = scrape("process", {"resource_attributes": {"process.cgroup": {"enabled": True},
                                                           "process.command_line": {"enabled": False}}})
    res = _by_pid(points)[4242]["process.cpu.time"][0]["resource"]
    assert res["process.cgroup"] == "0::/kubepods/pod123/abc" and "process.command_line" not in res


def test_cpu_utilization_from_second_scrape(node_copy, make, clock, attrs_of):
    from tests.receivers.hostmetrics.fixture_node import flatten

    root, fs = node_copy
    s = make("process", fs, {"metrics": {"process.cpu.utilization": {"enabled": True}},
                             "include": {"names": ["systemd"], "match_type": "strict"}})
    assert "process.cpu.utilization" not in flatten(s.scrape()[0])
    stat = (root / "proc/1/stat").read_text().replace(" 500 300 20000", " 900 300 20000")
    (root / "proc/1/stat").write_text(stat)
    clock.t += 2  # 2 s wall on 2 CPUs = 4 CPU-seconds; +4 s user
    util = attrs_of(flatten(s.scrape()[0])["process.cpu.utilization"], "state")
    assert util == {("user",): 1.0, ("system",): 0.0, ("wait",): 0.0}


def test_a_process_that_exits_mid_scrape_is_skipped_silently(node_copy, make):
    import shutil

    from tests.receivers.hostmetrics.fixture_node import flatten

    root, fs = node_copy
    real_read = fs.read

    def read(path):
        if path.endswith("/4242/status"):
            shutil.rmtree(root / "proc/4242")
            raise FileNotFoundError(2, "gone", path)
        return real_read(path)
    fs.read = read
    rms, errors = make("process", fs, {"mute_process_exe_error": True,
                                       "mute_process_user_error": True}).scrape()
    assert errors == []
    assert 4242 not in _by_pid(flatten(rms))
