"""What each scraper emits: names, descriptions, units, point types, attributes and whether a
metric is on by default, exactly as otelcol-contrib's hostmetrics receiver declares them in
receiver/hostmetricsreceiver/internal/scraper/<name>scraper/metadata.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass

SCOPE_PREFIX = ("github.com/open-telemetry/opentelemetry-collector-contrib/receiver/"
                "hostmetricsreceiver/internal/scraper/")


def scope_name(scraper: str) -> str:
    return f"{SCOPE_PREFIX}{scraper}scraper"


@dataclass(frozen=True)
class MetricDef:
    name: str
    description: str
    unit: str
    kind: str            # "sum" | "gauge"
    value_type: str      # "int" | "double"
    monotonic: bool
    enabled: bool
    attributes: tuple[str, ...] = ()


def _sum(name, desc, unit, vt, mono, enabled, *attrs):
    return MetricDef(name, desc, unit, "sum", vt, mono, enabled, attrs)


def _gauge(name, desc, unit, vt, enabled, *attrs):
    return MetricDef(name, desc, unit, "gauge", vt, False, enabled, attrs)


_DEFS: dict[str, list[MetricDef]] = {
    "cpu": [
        _sum("system.cpu.time", "Total seconds each logical CPU spent on each mode.", "s",
             "double", True, True, "cpu", "state"),
        _gauge("system.cpu.utilization", "Difference in system.cpu.time since the last measurement "
               "per logical CPU, divided by the elapsed time (value in interval [0,1]).", "1",
               "double", False, "cpu", "state"),
        _sum("system.cpu.physical.count", "Number of available physical CPUs.", "{cpu}", "int",
             False, False),
        _sum("system.cpu.logical.count", "Number of available logical CPUs.", "{cpu}", "int",
             False, False),
        _gauge("system.cpu.frequency", "Current frequency of the CPU core in Hz.", "Hz", "double",
               False, "cpu"),
    ],
    "memory": [
        _sum("system.memory.usage", "Bytes of memory in use.", "By", "int", False, True, "state"),
        _gauge("system.memory.utilization", "Percentage of memory bytes in use.", "1", "double",
               False, "state"),
        _sum("system.memory.limit", "Total bytes of memory available.", "By", "int", False, False),
        _sum("system.linux.memory.available", "An estimate of how much memory is available for "
             "starting new applications, without swapping. This is a more accurate alternative "
             "than system.memory.usage with state=free. (Linux only)", "By", "int", False, False),
        _sum("system.linux.memory.dirty", "The amount of dirty memory according to "
             "`/proc/meminfo`.", "By", "int", False, False),
        _sum("system.memory.linux.shared", "Shared memory usage, including tmpfs filesystems and "
             "System V/POSIX shared memory. Only supported on Linux.", "By", "int", False, False),
        _gauge("system.memory.page_size", "A constant value for the system's configured page size.",
               "By", "int", False),
    ],
    "load": [
        _gauge("system.cpu.load_average.1m", "Average CPU Load over 1 minute.", "{thread}",
               "double", True),
        _gauge("system.cpu.load_average.5m", "Average CPU Load over 5 minutes.", "{thread}",
               "double", True),
        _gauge("system.cpu.load_average.15m", "Average CPU Load over 15 minutes.", "{thread}",
               "double", True),
    ],
    "filesystem": [
        _sum("system.filesystem.usage", "Filesystem bytes used.", "By", "int", False, True,
             "device", "mode", "mountpoint", "type", "state"),
        _sum("system.filesystem.inodes.usage", "FileSystem inodes used.", "{inodes}", "int", False,
             True, "device", "mode", "mountpoint", "type", "state"),
        _gauge("system.filesystem.utilization", "Fraction of filesystem bytes used.", "1", "double",
               False, "device", "mode", "mountpoint", "type"),
    ],
    "disk": [
        _sum("system.disk.io", "Disk bytes transferred.", "By", "int", True, True, "device",
             "direction"),
        _sum("system.disk.operations", "Disk operations count.", "{operations}", "int", True, True,
             "device", "direction"),
        _sum("system.disk.io_time", "Time disk spent activated. On Windows, this is calculated as "
             "the inverse of disk idle time.", "s", "double", True, True, "device"),
        _sum("system.disk.operation_time", "Time spent in disk operations.", "s", "double", True,
             True, "device", "direction"),
        _sum("system.disk.weighted_io_time", "Time disk spent activated multiplied by the queue "
             "length.", "s", "double", True, True, "device"),
        _sum("system.disk.pending_operations", "The queue size of pending I/O operations.",
             "{operations}", "int", False, True, "device"),
        _sum("system.disk.merged", "The number of disk reads/writes merged into single physical "
             "disk access operations.", "{operations}", "int", True, True, "device", "direction"),
    ],
    "network": [
        _sum("system.network.packets", "The number of packets transferred.", "{packets}", "int",
             True, True, "device", "direction"),
        _sum("system.network.dropped", "The number of packets dropped.", "{packets}", "int", True,
             True, "device", "direction"),
        _sum("system.network.errors", "The number of errors encountered.", "{errors}", "int", True,
             True, "device", "direction"),
        _sum("system.network.io", "The number of bytes transmitted and received.", "By", "int",
             True, True, "device", "direction"),
        _sum("system.network.connections", "The number of connections.", "{connections}", "int",
             False, True, "protocol", "state"),
        _sum("system.network.conntrack.count", "The count of entries in conntrack table.",
             "{entries}", "int", False, False),
        _sum("system.network.conntrack.max", "The limit for entries in the conntrack table.",
             "{entries}", "int", False, False),
    ],
    "paging": [
        _sum("system.paging.usage", "Swap (unix) or pagefile (windows) usage.", "By", "int", False,
             True, "device", "state"),
        _sum("system.paging.operations", "The number of paging operations.", "{operations}", "int",
             True, True, "direction", "type"),
        _sum("system.paging.faults", "The number of page faults.", "{faults}", "int", True, True,
             "type"),
        _gauge("system.paging.utilization", "Swap (unix) or pagefile (windows) utilization.", "1",
               "double", False, "device", "state"),
    ],
    "processes": [
        _sum("system.processes.created", "Total number of created processes.", "{processes}",
             "int", True, True),
        _sum("system.processes.count", "Total number of processes in each state.", "{processes}",
             "int", False, True, "status"),
    ],
    "process": [
        _sum("process.cpu.time", "Total CPU seconds broken down by different states.", "s",
             "double", True, True, "state"),
        _gauge("process.cpu.utilization", "Percentage of total CPU time used by the process since "
               "last scrape, expressed as a value between 0 and 1. On the first scrape, no data "
               "point is emitted for this metric.", "1", "double", False, "state"),
        _sum("process.memory.usage", "The amount of physical memory in use.", "By", "int", False,
             True),
        _sum("process.memory.virtual", "Virtual memory size.", "By", "int", False, True),
        _gauge("process.memory.utilization", "Percentage of total physical memory that is used by "
               "the process.", "1", "double", False),
        _sum("process.disk.io", "Disk bytes transferred.", "By", "int", True, True, "direction"),
        _sum("process.paging.faults", "Number of page faults the process has made.", "{faults}",
             "int", True, False, "type"),
        _sum("process.signals_pending", "Number of pending signals for the process.", "{signals}",
             "int", False, False),
        _sum("process.threads", "Process threads count.", "{threads}", "int", False, False),
        _sum("process.open_file_descriptors", "Number of file descriptors in use by the process.",
             "{count}", "int", False, False),
        _sum("process.context_switches", "Number of times the process has been context switched.",
             "{count}", "int", True, False, "type"),
        _sum("process.disk.operations", "Number of disk operations performed by the process.",
             "{operations}", "int", True, False, "direction"),
        _gauge("process.uptime", "The time the process has been running.", "s", "double", False),
    ],
    "system": [
        _gauge("system.uptime", "The time the system has been running", "s", "double", True),
    ],
}

METRICS: dict[str, dict[str, MetricDef]] = {s: {d.name: d for d in defs} for s, defs in _DEFS.items()}

# process scraper resource attributes and whether each is on by default.
PROCESS_RESOURCE_ATTRIBUTES: dict[str, bool] = {
    "process.pid": True,
    "process.parent_pid": True,
    "process.executable.name": True,
    "process.executable.path": True,
    "process.command": True,
    "process.command_line": True,
    "process.owner": True,
    "process.cgroup": False,
}

# Every TCP state the collector reports, zero when absent (networkscraper allTCPStates). The
# kernel names from gopsutil (FIN_WAIT1...) are counted beside them, as upstream does.
ALL_TCP_STATES = ("CLOSE_WAIT", "CLOSE", "CLOSING", "DELETE", "ESTABLISHED", "FIN_WAIT_1",
                  "FIN_WAIT_2", "LAST_ACK", "LISTEN", "SYN_SENT", "SYN_RECV", "TIME_WAIT")
