"""paging, disk and network scrapers on the fixture node."""
import pytest

from collector.config import ConfigErrors


def test_paging_usage_per_swap_device(scrape, attrs_of):
    points, errors = scrape("paging")
    assert errors == []
    usage = attrs_of(points["system.paging.usage"], "device", "state")
    assert usage == {
        ("/dev/sda3", "used"): 1_048_574 * 1024, ("/dev/sda3", "free"): 1_048_574 * 1024,
        ("/swap file", "used"): 0, ("/swap file", "free"): 1024 * 1024,  # \040 unescaped
    }
    p = points["system.paging.usage"][0]
    assert (p["unit"], p["monotonic"]) == ("By", False)


def test_paging_operations_and_faults_are_kernel_counts(scrape, attrs_of):
    points, _ = scrape("paging")
    assert attrs_of(points["system.paging.operations"], "direction", "type") == {
        ("page_in", "major"): 300, ("page_out", "major"): 400,
        ("page_in", "minor"): 1_000_000, ("page_out", "minor"): 2_000_000}
    assert attrs_of(points["system.paging.faults"], "type") == {("major",): 6000, ("minor",): 4_994_000}
    p = points["system.paging.faults"][0]
    assert (p["unit"], p["monotonic"], p["temporality"]) == ("{faults}", True, 2)


def test_disk_counters_for_every_device(scrape, attrs_of):
    points, errors = scrape("disk")
    assert errors == []
    assert set(points) == {"system.disk.io", "system.disk.operations", "system.disk.io_time",
                           "system.disk.operation_time", "system.disk.weighted_io_time",
                           "system.disk.pending_operations", "system.disk.merged"}
    io = attrs_of(points["system.disk.io"], "device", "direction")
    assert io[("sda", "read")] == 80_000 * 512 and io[("sda", "write")] == 160_000 * 512
    assert io[("nvme0n1", "read")] == 400 * 512  # 14-field line of an older kernel
    assert attrs_of(points["system.disk.operations"], "device", "direction")[("sda", "write")] == 2000
    assert attrs_of(points["system.disk.io_time"], "device")[("sda",)] == 4.0
    assert attrs_of(points["system.disk.operation_time"], "device", "direction")[("sda", "read")] == 1.5
    assert attrs_of(points["system.disk.weighted_io_time"], "device")[("sda",)] == 4.5
    assert attrs_of(points["system.disk.pending_operations"], "device")[("sda",)] == 2
    assert attrs_of(points["system.disk.merged"], "device", "direction")[("sda", "read")] == 20
    assert points["system.disk.pending_operations"][0]["monotonic"] is False
    assert points["system.disk.io_time"][0]["value_kind"] == "as_double"


def test_disk_include_and_exclude_filters(scrape):
    points, _ = scrape("disk", {"include": {"devices": ["sda", "sda1"], "match_type": "strict"},
                                "exclude": {"devices": ["1$"], "match_type": "regexp"}})
    assert {p["attrs"]["device"] for p in points["system.disk.io"]} == {"sda"}


def test_network_interface_counters(scrape, attrs_of):
    points, errors = scrape("network")
    assert errors == []
    io = attrs_of(points["system.network.io"], "device", "direction")
    assert io[("eth0", "receive")] == 987_654_321 and io[("eth0", "transmit")] == 123_456_789
    assert attrs_of(points["system.network.packets"], "device", "direction")[("eth0", "transmit")] == 345_678
    assert attrs_of(points["system.network.errors"], "device", "direction")[("eth0", "receive")] == 3
    assert attrs_of(points["system.network.dropped"], "device", "direction")[("eth0", "receive")] == 7
    assert {p["attrs"]["device"] for p in points["system.network.io"]} == {"lo", "eth0", "veth1a2b"}


def test_network_reads_the_host_namespace_under_root_path(node_copy, make):
    from tests.receivers.hostmetrics.fixture_node import flatten

    root, fs = node_copy
    # proc/net is the *reader's* namespace (a pod's); proc/1/net is the host's.
    (root / "proc/net").mkdir()
    (root / "proc/net/dev").write_text("h1\nh2\n  podif0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n")
    points = flatten(make("network", fs).scrape()[0])
    assert {p["attrs"]["device"] for p in points["system.network.io"]} == {"lo", "eth0", "veth1a2b"}


def test_network_connections_count_tcp_and_tcp6_by_state(scrape, attrs_of):
    points, _ = scrape("network")
    conns = {k[1]: v for k, v in attrs_of(points["system.network.connections"], "protocol", "state").items()}
    assert conns["LISTEN"] == 3 and conns["ESTABLISHED"] == 2 and conns["TIME_WAIT"] == 1
    assert conns["FIN_WAIT1"] == 1          # the kernel name, as gopsutil reports it
    assert conns["FIN_WAIT_1"] == 0 and conns["DELETE"] == 0 and conns["CLOSE_WAIT"] == 0
    p = points["system.network.connections"][0]
    assert (p["unit"], p["monotonic"], p["attrs"]["protocol"]) == ("{connections}", False, "tcp")


def test_network_exclude_regexp_is_an_unanchored_search(scrape):
    points, _ = scrape("network", {"exclude": {"interfaces": ["^lo$", "veth"], "match_type": "regexp"}})
    assert {p["attrs"]["device"] for p in points["system.network.io"]} == {"eth0"}


def test_conntrack_metrics_are_optional(scrape):
    points, _ = scrape("network", {"metrics": {"system.network.conntrack.count": {"enabled": True},
                                               "system.network.conntrack.max": {"enabled": True}}})
    assert points["system.network.conntrack.count"][0]["value"] == 1234
    assert points["system.network.conntrack.max"][0]["value"] == 262144


def test_filter_without_match_type_is_a_config_error(scrape):
    with pytest.raises(ConfigErrors) as e:
        scrape("network", {"include": {"interfaces": ["eth0"]}})
    assert "scrapers.network.include.match_type" in str(e.value)
