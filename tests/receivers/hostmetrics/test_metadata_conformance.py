"""Every declared metric is emitted when enabled, with its declared unit, type, temporality,
monotonicity, value type and attribute names; defaults match metadata.yaml's `enabled`."""
import pytest

from collector.receivers.hostmetrics.metadata import METRICS, PROCESS_RESOURCE_ATTRIBUTES
from tests.receivers.hostmetrics.fixture_node import flatten

DEFAULT_ON = {
    "cpu": {"system.cpu.time"},
    "memory": {"system.memory.usage"},
    "load": {"system.cpu.load_average.1m", "system.cpu.load_average.5m", "system.cpu.load_average.15m"},
    "filesystem": {"system.filesystem.usage", "system.filesystem.inodes.usage"},
    "disk": {"system.disk.io", "system.disk.operations", "system.disk.io_time",
             "system.disk.operation_time", "system.disk.weighted_io_time",
             "system.disk.pending_operations", "system.disk.merged"},
    "network": {"system.network.packets", "system.network.dropped", "system.network.errors",
                "system.network.io", "system.network.connections"},
    "paging": {"system.paging.usage", "system.paging.operations", "system.paging.faults"},
    "processes": {"system.processes.created", "system.processes.count"},
    "process": {"process.cpu.time", "process.memory.usage", "process.memory.virtual", "process.disk.io"},
    "system": {"system.uptime"},
}


def test_defaults_are_those_of_metadata_yaml():
    assert {s: {n for n, d in m.items() if d.enabled} for s, m in METRICS.items()} == DEFAULT_ON
    assert {k for k, v in PROCESS_RESOURCE_ATTRIBUTES.items() if v} == {
        "process.pid", "process.parent_pid", "process.executable.name", "process.executable.path",
        "process.command", "process.command_line", "process.owner"}


@pytest.mark.parametrize("scraper", sorted(METRICS))
def test_every_metric_emitted_with_its_declared_shape(scraper, make, clock, node_copy):
    root, fs = node_copy
    s = make(scraper, fs, {"metrics": {n: {"enabled": True} for n in METRICS[scraper]}})
    s.scrape()
    # Utilization needs a second reading in which CPU time moved on.
    stat = root / "proc/stat"
    stat.write_text(stat.read_text().replace("cpu0 20000", "cpu0 20100"))
    clock.t += 10
    points = flatten(s.scrape()[0])
    assert set(points) == set(METRICS[scraper])
    for name, pts in points.items():
        d = METRICS[scraper][name]
        for p in pts:
            assert p["kind"] == d.kind and p["unit"] == d.unit and p["description"] == d.description
            assert p["value_kind"] == ("as_int" if d.value_type == "int" else "as_double")
            assert set(p["attrs"]) == set(d.attributes), name
            if d.kind == "sum":
                assert p["temporality"] == 2 and p["monotonic"] == d.monotonic
            assert p["start"] > 0 and p["time"] >= p["start"]
