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
    "k8s.namespace.name": True, "k8s.node.name": True, "k8s.persistentvolumeclaim.name": True,
    "k8s.pod.name": True, "k8s.pod.uid": True, "k8s.volume.name": True, "k8s.volume.type": True,
    "partition": False,
}

METRIC_GROUPS = ("container", "pod", "node", "volume")
DEFAULT_METRIC_GROUPS = ["container", "pod", "node"]
EXTRA_METADATA_LABELS = ("container.id", "k8s.volume.type")
