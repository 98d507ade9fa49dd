"""Raw Kubernetes objects (API JSON dicts) -> OTLP ResourceMetrics, as otelcol-contrib's
k8s_cluster receiver builds them: one resource per object (and per container), the metric
names, units and values of its metadata.yaml.

Objects are the slim records produced by `slim()` (or full API dicts: the same keys are read).
Malformed fields are skipped (counted by the caller through the `errors` list), never raised.
"""
from __future__ import annotations

from . import quantity
from .metadata import (METRICS, RESOURCE_ATTRIBUTES, SCHEMA_URL, SCOPE_NAME, SUM_METRICS,
                       node_allocatable_metric, node_condition_metric)
from .metric_builder import add_gauge, add_resource, new_metric, set_attrs

POD_PHASES = {"Pending": 1, "Running": 2, "Succeeded": 3, "Failed": 4, "Unknown": 5}
POD_STATUS_REASONS = {"Evicted": 1, "NodeAffinity": 2, "NodeLost": 3, "Shutdown": 4,
                      "UnexpectedAdmissionError": 5}
# k8s.container.status.state / .reason attribute values, in upstream's emission order.
CONTAINER_STATES = ("running", "waiting", "terminated")
CONTAINER_STATUS_REASONS = ("ContainerCreating", "CrashLoopBackOff", "CreateContainerConfigError",
                            "ErrImagePull", "ImagePullBackOff", "OOMKilled", "Completed", "Error",
                            "ContainerCannotRun")
CONDITION_VALUES = {"True": 1, "False": 0, "Unknown": -1}

# Container resource names -> (request metric, limit metric).
_CONTAINER_RESOURCES = {
    "cpu": ("k8s.container.cpu_request", "k8s.container.cpu_limit"),
    "memory": ("k8s.container.memory_request", "k8s.container.memory_limit"),
    "ephemeral-storage": ("k8s.container.ephemeralstorage_request", "k8s.container.ephemeralstorage_limit"),
    "storage": ("k8s.container.storage_request", "k8s.container.storage_limit"),
}


class Emitter:
    """Appends metrics to one ExportMetricsServiceRequest honouring the metrics /
    resource_attributes enablement of the config."""

    def __init__(self, request, ts_ns: int, enabled_metrics: set[str], enabled_attrs: set[str],
                 version: str = ""):
        self.request = request
        self.ts = ts_ns
        self.enabled_metrics = enabled_metrics
        self.enabled_attrs = enabled_attrs
        self.version = version
        self.errors: list[str] = []

    def resource(self, attrs: dict):
        kept = {k: v for k, v in attrs.items()
                if v not in (None, "") and (k in self.enabled_attrs or k not in RESOURCE_ATTRIBUTES)}
        return add_resource(self.request, kept, SCOPE_NAME, self.version, SCHEMA_URL)

    def gauge(self, sm, name: str, value, attrs: dict | None = None) -> None:
        """One point of a metadata.yaml metric. Points of one metric on one resource (quota per
        `resource`, states, conditions) share one metric, as upstream's metrics builder emits them."""
        if value is None or name not in self.enabled_metrics:
            return
        desc, unit, is_double, _ = METRICS[name]
        if not attrs and name not in SUM_METRICS:
            add_gauge(sm, name, desc, unit, value, self.ts, attrs, as_double=is_double)
            return
        metric = next((m for m in reversed(sm.metrics) if m.name == name), None)
        if metric is None:
            metric = new_metric(sm, name, desc, unit, "sum" if name in SUM_METRICS else "gauge")
        p = (metric.sum if name in SUM_METRICS else metric.gauge).data_points.add()
        p.time_unix_nano = self.ts
        if is_double:
            p.as_double = float(value)
        else:
            p.as_int = int(value)
        if attrs:
            set_attrs(p.attributes, attrs)

    def finish(self, sm) -> None:
        """Drop a resource that ended up without metrics (everything disabled)."""
        if not sm.metrics:
            del self.request.resource_metrics[-1]


def _meta(obj) -> dict:
    return obj.get("metadata") or {}


def _int(v):
    if v is None or isinstance(v, bool):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def strip_container_id(cid: str) -> str:
    """"containerd://abc" -> "abc" (utils.StripContainerID)."""
    return cid.split("://", 1)[1] if "://" in (cid or "") else (cid or "")


def parse_image(image: str) -> tuple[str, str]:
    """docker.ParseImageName: repository and tag ("latest" when absent; digest dropped)."""
    if not image:
        return "", ""
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:] or "latest"
    return ref, "latest"


def pod_metrics(em: Emitter, pod: dict) -> None:
    md, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    base = {"k8s.namespace.name": md.get("namespace"), "k8s.node.name": spec.get("nodeName"),
            "k8s.pod.name": md.get("name"), "k8s.pod.uid": md.get("uid")}
    sm = em.resource({**base, "k8s.pod.qos_class": status.get("qosClass")})
    phase = status.get("phase")
    em.gauge(sm, "k8s.pod.phase", POD_PHASES.get(phase, 5))
    # Recorded for every pod: no (or an unlisted) reason is 6 - Unknown, as pods.go's reasonToInt.
    em.gauge(sm, "k8s.pod.status_reason", POD_STATUS_REASONS.get(status.get("reason") or "", 6))
    em.finish(sm)
    # The receiver's pod transform drops statuses without a container id (not yet created): such
    # containers get spec metrics only, no restarts/ready and no container.id.
    statuses = {cs.get("name"): cs for cs in (status.get("containerStatuses") or [])
                if isinstance(cs, dict) and cs.get("containerID")}
    for c in spec.get("containers") or []:
        if isinstance(c, dict):
            _container_metrics(em, base, c, statuses.get(c.get("name")))


def _container_metrics(em: Emitter, base: dict, c: dict, cs: dict | None) -> None:
    image_str = (cs or {}).get("image") or c.get("image") or ""
    name, tag = parse_image(image_str)
    attrs = {**base, "k8s.container.name": c.get("name"),
             "container.id": strip_container_id((cs or {}).get("containerID", "")),
             "container.image.name": name, "container.image.tag": tag}
    last_term = ((cs or {}).get("lastState") or {}).get("terminated") or {}
    attrs["k8s.container.status.last_terminated_reason"] = last_term.get("reason")
    sm = em.resource(attrs)
    resources = c.get("resources") or {}
    for which, idx in (("requests", 0), ("limits", 1)):
        for res, q in (resources.get(which) or {}).items():
            names = _CONTAINER_RESOURCES.get(res)
            if not names:
                continue
            try:
                v = quantity.milli_value(q) / 1000.0 if res == "cpu" else quantity.value(q)
            except ValueError:
                em.errors.append(f"container {c.get('name')}: bad quantity {q!r}")
                continue
            em.gauge(sm, names[idx], v)
    if cs is not None:
        em.gauge(sm, "k8s.container.restarts", _int(cs.get("restartCount")) or 0)
        em.gauge(sm, "k8s.container.ready", 1 if cs.get("ready") else 0)
        _container_state_metrics(em, sm, cs.get("state") or {})
    em.finish(sm)


def _container_state_metrics(em: Emitter, sm, state: dict) -> None:
    """k8s.container.status.state: 1 for the current state, 0 for the others (nothing when the
    status has no state); k8s.container.status.reason: every known reason, 1 for the current
    waiting/terminated reason (containers.go; terminated wins over waiting, as there)."""
    current = next((s for s in ("running", "terminated", "waiting") if isinstance(state.get(s), dict)), None)
    if current is not None:
        for s in CONTAINER_STATES:
            em.gauge(sm, "k8s.container.status.state", 1 if s == current else 0,
                     {"k8s.container.status.state": s})
    reason = (state.get(current) or {}).get("reason") if current in ("terminated", "waiting") else None
    for r in CONTAINER_STATUS_REASONS:
        em.gauge(sm, "k8s.container.status.reason", 1 if reason == r else 0,
                 {"k8s.container.status.reason": r})


def _workload(em: Emitter, obj: dict, kind: str) -> tuple:
    md = _meta(obj)
    sm = em.resource({"k8s.namespace.name": md.get("namespace"), f"k8s.{kind}.name": md.get("name"),
                      f"k8s.{kind}.uid": md.get("uid")})
    return sm, obj.get("spec") or {}, obj.get("status") or {}


def _replicas_metrics(em: Emitter, obj: dict, kind: str, metric_prefix: str) -> None:
    """`<prefix>.desired` and `<prefix>.available`, what deployments, replica sets and
    replication controllers report."""
    sm, spec, status = _workload(em, obj, kind)
    em.gauge(sm, f"{metric_prefix}.desired", _int(spec.get("replicas")) if "replicas" in spec else 1)
    em.gauge(sm, f"{metric_prefix}.available", _int(status.get("availableReplicas")) or 0)
    em.finish(sm)


def deployment_metrics(em: Emitter, obj: dict) -> None:
    _replicas_metrics(em, obj, "deployment", "k8s.deployment")


def replicaset_metrics(em: Emitter, obj: dict) -> None:
    _replicas_metrics(em, obj, "replicaset", "k8s.replicaset")


def replicationcontroller_metrics(em: Emitter, obj: dict) -> None:
    _replicas_metrics(em, obj, "replicationcontroller", "k8s.replication_controller")


def daemonset_metrics(em: Emitter, obj: dict) -> None:
    sm, _, status = _workload(em, obj, "daemonset")
    em.gauge(sm, "k8s.daemonset.current_scheduled_nodes", _int(status.get("currentNumberScheduled")) or 0)
    em.gauge(sm, "k8s.daemonset.desired_scheduled_nodes", _int(status.get("desiredNumberScheduled")) or 0)
    em.gauge(sm, "k8s.daemonset.misscheduled_nodes", _int(status.get("numberMisscheduled")) or 0)
    em.gauge(sm, "k8s.daemonset.ready_nodes", _int(status.get("numberReady")) or 0)
    em.finish(sm)


def statefulset_metrics(em: Emitter, obj: dict) -> None:
    sm, spec, status = _workload(em, obj, "statefulset")
    em.gauge(sm, "k8s.statefulset.desired_pods", _int(spec.get("replicas")) if "replicas" in spec else 1)
    em.gauge(sm, "k8s.statefulset.ready_pods", _int(status.get("readyReplicas")) or 0)
    em.gauge(sm, "k8s.statefulset.current_pods", _int(status.get("currentReplicas")) or 0)
    em.gauge(sm, "k8s.statefulset.updated_pods", _int(status.get("updatedReplicas")) or 0)
    em.finish(sm)


def job_metrics(em: Emitter, obj: dict) -> None:
    sm, spec, status = _workload(em, obj, "job")
    em.gauge(sm, "k8s.job.active_pods", _int(status.get("active")) or 0)
    em.gauge(sm, "k8s.job.failed_pods", _int(status.get("failed")) or 0)
    em.gauge(sm, "k8s.job.successful_pods", _int(status.get("succeeded")) or 0)
    # Only when set in the spec, as jobs.go does.
    em.gauge(sm, "k8s.job.desired_successful_pods", _int(spec.get("completions")))
    em.gauge(sm, "k8s.job.max_parallel_pods", _int(spec.get("parallelism")))
    em.finish(sm)


def cronjob_metrics(em: Emitter, obj: dict) -> None:
    sm, _, status = _workload(em, obj, "cronjob")
    em.gauge(sm, "k8s.cronjob.active_jobs", len(status.get("active") or []))
    em.finish(sm)


def hpa_metrics(em: Emitter, obj: dict) -> None:
    md, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    sm = em.resource({"k8s.namespace.name": md.get("namespace"), "k8s.hpa.name": md.get("name"),
                      "k8s.hpa.uid": md.get("uid"), "k8s.hpa.scaletargetref.kind": ref.get("kind"),
                      "k8s.hpa.scaletargetref.name": ref.get("name"),
                      "k8s.hpa.scaletargetref.apiversion": ref.get("apiVersion")})
    em.gauge(sm, "k8s.hpa.max_replicas", _int(spec.get("maxReplicas")) or 0)
    em.gauge(sm, "k8s.hpa.min_replicas", _int(spec.get("minReplicas")) if "minReplicas" in spec else 1)
    em.gauge(sm, "k8s.hpa.current_replicas", _int(status.get("currentReplicas")) or 0)
    em.gauge(sm, "k8s.hpa.desired_replicas", _int(status.get("desiredReplicas")) or 0)
    em.finish(sm)


def namespace_metrics(em: Emitter, obj: dict) -> None:
    md = _meta(obj)
    sm = em.resource({"k8s.namespace.name": md.get("name"), "k8s.namespace.uid": md.get("uid")})
    phase = (obj.get("status") or {}).get("phase")
    em.gauge(sm, "k8s.namespace.phase", 0 if phase == "Terminating" else 1)
    em.finish(sm)


def resourcequota_metrics(em: Emitter, obj: dict) -> None:
    md, status = _meta(obj), obj.get("status") or {}
    sm = em.resource({"k8s.namespace.name": md.get("namespace"), "k8s.resourcequota.name": md.get("name"),
                      "k8s.resourcequota.uid": md.get("uid")})
    for field, metric in (("hard", "k8s.resource_quota.hard_limit"), ("used", "k8s.resource_quota.used")):
        for res, q in sorted((status.get(field) or {}).items()):
            try:
                # "<x>.cpu" quotas are sent as millicores; a bare "cpu" is not (resourcequotas.go
                # tests the ".cpu" suffix).
                v = quantity.milli_value(q) if res.endswith(".cpu") else quantity.value(q)
            except ValueError:
                em.errors.append(f"resourcequota {md.get('name')}: bad quantity {q!r}")
                continue
            em.gauge(sm, metric, v, {"resource": res})
    em.finish(sm)


def node_metrics(em: Emitter, obj: dict, conditions: list[str], allocatable: list[str]) -> None:
    md, status = _meta(obj), obj.get("status") or {}
    info = status.get("nodeInfo") or {}
    # containerRuntimeVersion is "<runtime>://<version>" (nodes.go getContainerRuntimeInfo).
    runtime = str(info.get("containerRuntimeVersion") or "").split("://")
    runtime = runtime if len(runtime) == 2 else (None, None)
    sm = em.resource({"k8s.node.name": md.get("name"), "k8s.node.uid": md.get("uid"),
                      "k8s.kubelet.version": info.get("kubeletVersion"),
                      "container.runtime": runtime[0], "container.runtime.version": runtime[1],
                      "os.type": info.get("operatingSystem"), "os.description": info.get("osImage")})
    seen = {c.get("type"): c.get("status") for c in status.get("conditions") or [] if isinstance(c, dict)}
    for cond in conditions:
        name, desc = node_condition_metric(cond)
        add_gauge(sm, name, desc, "", CONDITION_VALUES.get(seen.get(cond, "Unknown"), -1), em.ts)
    # The optional k8s.node.condition: every condition the node reports, by `condition`.
    for ctype, cstatus in seen.items():
        if ctype:
            em.gauge(sm, "k8s.node.condition", CONDITION_VALUES.get(cstatus, 0), {"condition": ctype})
    alloc = status.get("allocatable") or {}
    for res in allocatable:
        if res not in alloc:
            continue  # nodes.go logs at debug and skips types the node does not report
        name, desc, unit, is_double = node_allocatable_metric(res)
        try:
            v = quantity.milli_value(alloc[res]) / 1000.0 if is_double else quantity.value(alloc[res])
        except ValueError:
            em.errors.append(f"node {md.get('name')}: bad quantity {alloc[res]!r}")
            continue
        add_gauge(sm, name, desc, unit, v, em.ts, as_double=is_double)
    em.finish(sm)


def slim(obj: dict) -> dict:
    """Keep only what the metric functions read: informer caches hold thousands of these.
    Update this when a metric starts reading a new field."""
    md = obj.get("metadata") or {}
    out = {"metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in md}}
    kind_spec = obj.get("spec") or {}
    spec = {k: kind_spec[k] for k in ("replicas", "completions", "parallelism", "nodeName",
                                      "maxReplicas", "minReplicas", "scaleTargetRef") if k in kind_spec}
    if "containers" in kind_spec:
        spec["containers"] = [{"name": c.get("name"), "image": c.get("image"),
                               "resources": c.get("resources") or {}}
                              for c in kind_spec.get("containers") or [] if isinstance(c, dict)]
    out["spec"] = spec
    st = obj.get("status") or {}
    status = {k: st[k] for k in ("phase", "reason", "qosClass", "availableReplicas",
                                 "currentNumberScheduled", "desiredNumberScheduled",
                                 "numberMisscheduled", "numberReady", "readyReplicas",
                                 "currentReplicas", "updatedReplicas", "desiredReplicas",
                                 "active", "failed", "succeeded", "hard", "used", "allocatable")
              if k in st}
    if "containerStatuses" in st:
        status["containerStatuses"] = [
            {"name": cs.get("name"), "image": cs.get("image"), "containerID": cs.get("containerID", ""),
             "restartCount": cs.get("restartCount", 0), "ready": cs.get("ready", False),
             "state": {k: {"reason": (v or {}).get("reason")} for k, v in (cs.get("state") or {}).items()
                       if k in ("running", "waiting", "terminated") and isinstance(v, dict)},
             "lastState": {"terminated": {"reason": ((cs.get("lastState") or {}).get("terminated") or {}).get("reason")}}}
            for cs in st.get("containerStatuses") or [] if isinstance(cs, dict)]
    if "conditions" in st and isinstance(st["conditions"], list):
        status["conditions"] = [{"type": c.get("type"), "status": c.get("status")}
                                for c in st["conditions"] if isinstance(c, dict)]
    if "nodeInfo" in st:
        ni = st["nodeInfo"] or {}
        status["nodeInfo"] = {k: ni.get(k) for k in ("kubeletVersion", "operatingSystem", "osImage",
                                                     "containerRuntimeVersion")}
    if isinstance(status.get("active"), list):
        status["active"] = [{} for _ in status["active"]]  # cronjobs only count them
    out["status"] = status
    return out
