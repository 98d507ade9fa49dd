"""kubeletstatsreceiver's metadata.yaml, as data: metric names, units, types and default switches,
and the resource attributes (otelcol-contrib names and defaults)."""

from __future__ import annotations

from dataclasses import dataclass

SCOPE_NAME = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kubeletstatsreceiver"


@dataclass(frozen=True)
class MetricDef:
    name: str
    description: str
    unit: str
    kind: str             # "gauge" | "sum"
    is_double: bool
    monotonic: bool = False
    enabled: bool = True


_CPU_TIME = "Total cumulative CPU time (sum of all cores) spent by the container/pod/node since its creation"
_CPU_USAGE = "Total CPU usage (sum of all cores per second) averaged over the sample window"


def _entity_metrics(prefix: str, title: str, network: bool) -> list[MetricDef]:
    out = [
        MetricDef(f"{prefix}.cpu.time", _CPU_TIME, "s", "sum", True, monotonic=True),
        MetricDef(f"{prefix}.cpu.usage", _CPU_USAGE, "{cpu}", "gauge", True),
    ]
    for f in ("available", "capacity", "usage"):
        out.append(MetricDef(f"{prefix}.filesystem.{f}", f"{title} filesystem {f}", "By", "gauge", False))
    for m, unit in (("available", "By"), ("major_page_faults", "1"), ("page_faults", "1"),
                    ("rss", "By"), ("usage", "By"), ("working_set", "By")):
        out.append(MetricDef(f"{prefix}.memory.{m}", f"{title} memory {m}", unit, "gauge", False))
    if network:
        out.append(MetricDef(f"{prefix}.network.errors", f"{title} network errors", "1", "sum", False, monotonic=True))
        out.append(MetricDef(f"{prefix}.network.io", f"{title} network IO", "By", "sum", False, monotonic=True))
    out.append(MetricDef(f"{prefix}.uptime", f"The time since the {title.lower()} started", "s", "sum",
                         False, monotonic=True, enabled=False))
    return out


METRICS: dict[str, MetricDef] = {m.name: m for m in [
    *_entity_metrics("container", "Container", network=False),
    *_entity_metrics("k8s.node", "Node", network=True),
    *_entity_metrics("k8s.pod", "Pod", network=True),
    # optional (disabled by default), as upstream
    MetricDef("k8s.container.cpu_limit_utilization", "Container cpu utilization as a ratio of the container's limits", "1", "gauge", True, enabled=False),
    MetricDef("k8s.container.cpu_request_utilization", "Container cpu utilization as a ratio of the container's requests", "1", "gauge", True, enabled=False),
    MetricDef("k8s.container.memory_limit_utilization", "Container memory utilization as a ratio of the container's limits", "1", "gauge", True, enabled=False),
    MetricDef("k8s.container.memory_request_utilization", "Container memory utilization as a ratio of the container's requests", "1", "gauge", True, enabled=False),
    MetricDef("k8s.container.cpu.node.utilization", "Container cpu utilization as a ratio of the node's capacity", "1", "gauge", True, enabled=False),
    MetricDef("k8s.container.memory.node.utilization", "Container memory utilization as a ratio of the node's capacity", "1", "gauge", True, enabled=False),
    MetricDef("k8s.container.ephemeral_storage.usage", "Ephemeral storage used by the container.", "By", "sum", False, enabled=False),
    MetricDef("k8s.pod.cpu_limit_utilization", "Pod cpu utilization as a ratio of the pod's total container limits. If any container is missing a limit the metric is not emitted.", "1", "gauge", True, enabled=False),
    MetricDef("k8s.pod.cpu_request_utilization", "Pod cpu utilization as a ratio of the pod's total container requests. If any container is missing a request the metric is not emitted.", "1", "gauge", True, enabled=False),
    MetricDef("k8s.pod.memory_limit_utilization", "Pod memory utilization as a ratio of the pod's total container limits. If any container is missing a limit the metric is not emitted.", "1", "gauge", True, enabled=False),
    MetricDef("k8s.pod.memory_request_utilization", "Pod memory utilization as a ratio of the pod's total container requests. If any container is missing a request the metric is not emitted.", "1", "gauge", True, enabled=False),
    MetricDef("k8s.pod.cpu.node.utilization", "Pod cpu utilization as a ratio of the node's capacity", "1", "gauge", True, enabled=False),
    MetricDef("k8s.pod.memory.node.utilization", "Pod memory utilization as a ratio of the node's capacity", "1", "gauge", True, enabled=False),
    MetricDef("k8s.pod.volume.usage", "The number of used bytes in the pod volume.", "By", "sum", False, enabled=False),
    MetricDef("k8s.node.filesystem.inode.count", "Total number of inodes in the node's root filesystem.", "{inode}", "sum", False, enabled=False),
    MetricDef("k8s.node.filesystem.inode.free", "Number of free inodes in the node's root filesystem.", "{inode}", "sum", False, enabled=False),
    MetricDef("k8s.node.pid.limit", "Total number of processes/threads allowed by the operating system on the node.", "{thread}", "sum", False, enabled=False),
    MetricDef("k8s.node.pid.usage", "Total number of existing processes and threads on the node.", "{thread}", "sum", False, enabled=False),
    MetricDef("k8s.node.system_container.cpu.time", "Total cumulative CPU time (sum of all cores) spent by the system container since its creation", "s", "sum", True, monotonic=True, enabled=False),
    MetricDef("k8s.node.system_container.cpu.usage", "Total CPU usage (sum of all cores per second) averaged over the sample window for the system container", "{cpu}", "gauge", True, enabled=False),
    MetricDef("k8s.node.system_container.memory.usage", "System container memory usage", "By", "gauge", False, enabled=False),
    MetricDef("k8s.node.system_container.memory.working_set", "System container memory working_set", "By", "gauge", False, enabled=False),
    MetricDef("k8s.volume.available", "The number of available bytes in the volume.", "By", "gauge", False),
    MetricDef("k8s.volume.capacity", "The total capacity in bytes of the volume.", "By", "gauge", False),
    MetricDef("k8s.volume.inodes", "The total inodes in the filesystem.", "1", "gauge", False),
    MetricDef("k8s.volume.inodes.free", "The free inodes in the filesystem.", "1", "gauge", False),
    MetricDef("k8s.volume.inodes.used", "The inodes used by the filesystem. This may not equal inodes - free "
              "because filesystem may share inodes with other filesystems.", "1", "gauge", False),
]}

# resource attribute -> enabled by default
RESOURCE_ATTRIBUTES: dict[str, bool] = {
    "aws.volume.id": False, "container.id": True, "fs.type": False, "gce.pd.name": False,
    "glusterfs.endpoints.name": False, "glusterfs.path": False, "k8s.container.name": True,
    "k8s.namespace.name": True, "k8s.node.name": True, "k8s.node.system_container.name": True,
    "k8s.persistentvolumeclaim.name": True,
    "k8s.pod.name": True, "k8s.pod.uid": True, "k8s.volume.name": True, "k8s.volume.type": True,
    "partition": False,
}

METRIC_GROUPS = ("container", "pod", "node", "volume")
DEFAULT_METRIC_GROUPS = ["container", "pod", "node"]
EXTRA_METADATA_LABELS = ("container.id", "k8s.volume.type")

# Metrics that need the pod specs from the kubelet's /pods (container requests and limits).
NEEDS_POD_SPECS = frozenset(m for m in METRICS if "_limit_utilization" in m or "_request_utilization" in m)
# Metrics that need the node's allocatable capacity from the API server (k8s_api_config + node).
NEEDS_NODE_CAPACITY = frozenset(m for m in METRICS if ".node.utilization" in m)
