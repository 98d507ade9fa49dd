"""The kubelet's /stats/summary JSON -> one OTLP ExportMetricsServiceRequest, with the metric and
resource attribute names of otelcol-contrib's kubeletstatsreceiver.

Every stat in the summary is optional (the kubelet omits what cAdvisor did not report); a missing
value is simply not emitted, a malformed one is counted in `bad_values` and skipped.
"""

from __future__ import annotations

import datetime

from .config import Config
from .metadata import METRICS, SCOPE_NAME


def parse_time_ns(text) -> int:
    if not isinstance(text, str) or not text:
        return 0
    try:
        return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)
    except ValueError:
        return 0


class SummaryConverter:
    def __init__(self, config: Config, version: str = ""):
        self.config = config
        self.groups = set(config.metric_groups)
        self.version = version
        self.bad_values = 0

    # -- helpers ----------------------------------------------------------------------------
    def _num(self, stats, key: str):
        if not isinstance(stats, dict):
            return None
        v = stats.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.bad_values += 1
            return None
        return v

    def _resource(self, request, attrs: dict):
        from collector import pdata

        rm = request.resource_metrics.add()
        for k, v in attrs.items():
            if v not in (None, "") and self.config.attribute_enabled(k):
                pdata.set_attr(rm.resource.attributes, k, v)
        sm = rm.scope_metrics.add()
        sm.scope.name = SCOPE_NAME
        sm.scope.version = self.version
        return sm

    def _point(self, sm, name: str, value, now: int, start: int, attrs: dict | None = None) -> None:
        if value is None or not self.config.metric_enabled(name):
            return
        d = METRICS[name]
        metric = None
        for m in sm.metrics:  # several points (interfaces x directions) share one metric
            if m.name == name:
                metric = m
                break
        if metric is None:
            metric = sm.metrics.add(name=name, description=d.description, unit=d.unit)
            if d.kind == "sum":
                metric.sum.aggregation_temporality = 2  # cumulative
                metric.sum.is_monotonic = d.monotonic
        points = metric.sum.data_points if d.kind == "sum" else metric.gauge.data_points
        p = points.add(time_unix_nano=now)
        if d.kind == "sum" and start:
            p.start_time_unix_nano = start
        if d.is_double:
            p.as_double = float(value)
        else:
            p.as_int = int(value)
        for k, v in (attrs or {}).items():
            kv = p.attributes.add(key=k)
            kv.value.string_value = v

    def _cpu_mem(self, sm, prefix: str, stats: dict, now: int, start: int, util_prefix: str = "",
                 limits: dict | None = None, node_capacity: tuple | None = None) -> None:
        cpu = stats.get("cpu") or {}
        ns = self._num(cpu, "usageCoreNanoSeconds")
        self._point(sm, f"{prefix}.cpu.time", None if ns is None else ns / 1e9, now, start)
        nano = self._num(cpu, "usageNanoCores")
        cores = None if nano is None else nano / 1e9
        self._point(sm, f"{prefix}.cpu.usage", cores, now, start)
        mem = stats.get("memory") or {}
        for metric, key in (("available", "availableBytes"), ("usage", "usageBytes"), ("rss", "rssBytes"),
                            ("working_set", "workingSetBytes"), ("page_faults", "pageFaults"),
                            ("major_page_faults", "majorPageFaults")):
            self._point(sm, f"{prefix}.memory.{metric}", self._num(mem, key), now, start)
        if start and now > start:
            self._point(sm, f"{prefix}.uptime", (now - start) // 1_000_000_000, now, start)
        if not util_prefix:
            return
        usage = self._num(mem, "usageBytes")
        # upstream's ratios: cpu cores used / cores allowed, memory usageBytes / bytes allowed
        for kind, used in (("cpu", cores), ("memory", usage)):
            if used is None:
                continue
            for bound in ("limit", "request"):
                allowed = (limits or {}).get(f"{kind}_{bound}")
                if allowed:
                    self._point(sm, f"{util_prefix}.{kind}_{bound}_utilization", used / allowed, now, start)
            capacity = (node_capacity or (None, None))[0 if kind == "cpu" else 1]
            if capacity:
                self._point(sm, f"{util_prefix}.{kind}.node.utilization", used / capacity, now, start)

    def _fs(self, sm, prefix: str, fs, now: int, start: int) -> None:
        for metric, key in (("available", "availableBytes"), ("capacity", "capacityBytes"), ("usage", "usedBytes")):
            self._point(sm, f"{prefix}.filesystem.{metric}", self._num(fs, key), now, start)

    def _network(self, sm, prefix: str, net, group: str, now: int, start: int) -> None:
        if not isinstance(net, dict):
            return
        if self.config.collect_all_network_interfaces.get(group):
            interfaces = net.get("interfaces") or []
        else:
            interfaces = [net]  # the default interface's stats sit at the top level
        for itf in interfaces:
            if not isinstance(itf, dict):
                self.bad_values += 1
                continue
            name = str(itf.get("name", ""))
            for direction, io_key, err_key in (("receive", "rxBytes", "rxErrors"), ("transmit", "txBytes", "txErrors")):
                attrs = {"interface": name, "direction": direction}
                self._point(sm, f"{prefix}.network.io", self._num(itf, io_key), now, start, attrs)
                self._point(sm, f"{prefix}.network.errors", self._num(itf, err_key), now, start, attrs)

    def _system_containers(self, request, node_name: str, containers, now: int) -> None:
        for c in containers if isinstance(containers, list) else []:
            if not isinstance(c, dict):
                self.bad_values += 1
                continue
            sm = self._resource(request, {"k8s.node.name": node_name,
                                          "k8s.node.system_container.name": c.get("name", "")})
            start = parse_time_ns(c.get("startTime"))
            cpu, mem = c.get("cpu") or {}, c.get("memory") or {}
            ns = self._num(cpu, "usageCoreNanoSeconds")
            nano = self._num(cpu, "usageNanoCores")
            self._point(sm, "k8s.node.system_container.cpu.time", None if ns is None else ns / 1e9, now, start)
            self._point(sm, "k8s.node.system_container.cpu.usage", None if nano is None else nano / 1e9, now, start)
            self._point(sm, "k8s.node.system_container.memory.usage", self._num(mem, "usageBytes"), now, start)
            self._point(sm, "k8s.node.system_container.memory.working_set", self._num(mem, "workingSetBytes"), now, start)

    # -- entry point ------------------------------------------------------------------------
    def convert(self, summary: dict, now_ns: int, container_ids: dict | None = None,
                volume_types: dict | None = None, pod_resources: dict | None = None,
                node_capacity: tuple | None = None):
        """container_ids: (pod uid, container name) -> id; volume_types: (pod uid, volume) -> type;
        pod_resources: pod uid -> resources.PodResources (all three from the kubelet's /pods, only
        fetched when asked for); node_capacity: (cpu cores, memory bytes) from the API server."""
        from collector import pdata

        request = pdata.new_request("metrics")
        node = summary.get("node") if isinstance(summary, dict) else None
        node_name = ""
        if isinstance(node, dict):
            node_name = str(node.get("nodeName", ""))
            if "node" in self.groups:
                start = parse_time_ns(node.get("startTime"))
                sm = self._resource(request, {"k8s.node.name": node_name})
                self._cpu_mem(sm, "k8s.node", node, now_ns, start)
                self._fs(sm, "k8s.node", node.get("fs"), now_ns, start)
                self._network(sm, "k8s.node", node.get("network"), "node", now_ns, start)
                fs = node.get("fs")
                self._point(sm, "k8s.node.filesystem.inode.count", self._num(fs, "inodes"), now_ns, start)
                self._point(sm, "k8s.node.filesystem.inode.free", self._num(fs, "inodesFree"), now_ns, start)
                rlimit = node.get("rlimit")
                self._point(sm, "k8s.node.pid.limit", self._num(rlimit, "maxpid"), now_ns, start)
                self._point(sm, "k8s.node.pid.usage", self._num(rlimit, "curproc"), now_ns, start)
                self._system_containers(request, node_name, node.get("systemContainers"), now_ns)
        pods = summary.get("pods") if isinstance(summary, dict) else None
        for pod in pods if isinstance(pods, list) else []:
            if not isinstance(pod, dict) or not isinstance(pod.get("podRef"), dict):
                self.bad_values += 1
                continue
            ref = pod["podRef"]
            pod_attrs = {"k8s.pod.uid": ref.get("uid", ""), "k8s.pod.name": ref.get("name", ""),
                         "k8s.namespace.name": ref.get("namespace", "")}
            pod_start = parse_time_ns(pod.get("startTime"))
            res = (pod_resources or {}).get(pod_attrs["k8s.pod.uid"])
            if "pod" in self.groups:
                sm = self._resource(request, pod_attrs)
                totals = None
                if res is not None:
                    totals = {k: res.total(k) for k in ("cpu_limit", "cpu_request", "memory_limit", "memory_request")}
                self._cpu_mem(sm, "k8s.pod", pod, now_ns, pod_start, "k8s.pod", totals, node_capacity)
                self._fs(sm, "k8s.pod", pod.get("ephemeral-storage"), now_ns, pod_start)
                self._network(sm, "k8s.pod", pod.get("network"), "pod", now_ns, pod_start)
            if "container" in self.groups:
                for c in pod.get("containers") or []:
                    if not isinstance(c, dict):
                        self.bad_values += 1
                        continue
                    attrs = dict(pod_attrs, **{"k8s.container.name": c.get("name", "")})
                    if container_ids is not None:
                        key = (pod_attrs["k8s.pod.uid"], c.get("name"))
                        if key not in container_ids:
                            continue  # not (yet) in /pods: upstream skips the container's metrics
                        attrs["container.id"] = container_ids[key]
                    start = parse_time_ns(c.get("startTime"))
                    sm = self._resource(request, attrs)
                    limits = res.containers.get(c.get("name", "")) if res is not None else None
                    self._cpu_mem(sm, "container", c, now_ns, start, "k8s.container", limits, node_capacity)
                    self._fs(sm, "container", c.get("rootfs"), now_ns, start)
                    for fs_type, key in (("rootfs", "rootfs"), ("logs", "logs")):
                        self._point(sm, "k8s.container.ephemeral_storage.usage", self._num(c.get(key), "usedBytes"),
                                    now_ns, start, {"fs.type": fs_type})
            if "volume" in self.groups:
                for v in pod.get("volume") or []:
                    if not isinstance(v, dict):
                        self.bad_values += 1
                        continue
                    attrs = dict(pod_attrs, **{"k8s.volume.name": v.get("name", "")})
                    if isinstance(v.get("pvcRef"), dict):
                        attrs["k8s.persistentvolumeclaim.name"] = v["pvcRef"].get("name", "")
                    if volume_types is not None:
                        key = (pod_attrs["k8s.pod.uid"], v.get("name"))
                        if key not in volume_types:
                            continue  # not (yet) in /pods: upstream skips the volume's metrics
                        attrs["k8s.volume.type"] = volume_types[key]
                    sm = self._resource(request, attrs)
                    for metric, key in (("available", "availableBytes"), ("capacity", "capacityBytes"),
                                        ("inodes", "inodes"), ("inodes.free", "inodesFree"), ("inodes.used", "inodesUsed")):
                        self._point(sm, f"k8s.volume.{metric}", self._num(v, key), now_ns, pod_start)
                    self._point(sm, "k8s.pod.volume.usage", self._num(v, "usedBytes"), now_ns, pod_start)
        # drop resources that ended up without any metric (everything disabled or absent)
        keep = [rm for rm in request.resource_metrics if rm.scope_metrics[0].metrics]
        if len(keep) != len(request.resource_metrics):
            kept = [type(rm)() for rm in keep]
            for dst, src in zip(kept, keep):
                dst.CopyFrom(src)
            del request.resource_metrics[:]
            request.resource_metrics.extend(kept)
        return request, node_name
