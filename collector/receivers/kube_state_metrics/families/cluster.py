"""kube_node_*, kube_namespace_*, kube_service_*, kube_persistentvolumeclaim_* families
(kube-state-metrics, STABLE ones)."""
from __future__ import annotations

from .common import (Context, Row, bool_value, family, labels_rows, meta_of, quantity_value,
                     resource_unit, sanitize, ts)

N = "kube_node_"
N_INFO = family(N + "info", "Information about a cluster node.")
N_CREATED = family(N + "created", "Unix creation timestamp")
N_LABELS = family(N + "labels", "Kubernetes labels converted to Prometheus labels.")
N_UNSCHEDULABLE = family(N + "spec_unschedulable", "Whether a node can schedule new pods.")
N_TAINT = family(N + "spec_taint", "The taint of a cluster node.")
N_CONDITION = family(N + "status_condition", "The condition of a cluster node.")
N_CAPACITY = family(N + "status_capacity", "The capacity for different resources of a node.")
N_ALLOCATABLE = family(N + "status_allocatable", "The allocatable for different resources of a node that are available for scheduling.")


def node_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("node", md.get("name", "")),)
    info = st.get("nodeInfo") or {}
    # KSM keeps the last InternalIP listed.
    internal_ip = ([a.get("address", "") for a in st.get("addresses") or []
                    if isinstance(a, dict) and a.get("type") == "InternalIP"] or [""])[-1]
    rows = [Row(N_INFO, base + (("kernel_version", info.get("kernelVersion", "")),
                                ("os_image", info.get("osImage", "")),
                                ("container_runtime_version", info.get("containerRuntimeVersion", "")),
                                ("kubelet_version", info.get("kubeletVersion", "")),
                                ("kubeproxy_version", info.get("kubeProxyVersion", "")),
                                ("provider_id", spec.get("providerID", "")),
                                ("pod_cidr", spec.get("podCIDR", "")),
                                ("system_uuid", info.get("systemUUID", "")),
                                ("internal_ip", internal_ip)), 1.0)]
    created = ts(md.get("creationTimestamp"))
    if created is not None:
        rows.append(Row(N_CREATED, base, created))
    rows += labels_rows(N_LABELS, base, md, ctx.labels_for("nodes"))
    rows.append(Row(N_UNSCHEDULABLE, base, bool_value(spec.get("unschedulable"))))
    for t in spec.get("taints") or []:
        if isinstance(t, dict):
            rows.append(Row(N_TAINT, base + (("key", t.get("key", "")), ("value", t.get("value", "")),
                                             ("effect", t.get("effect", ""))), 1.0))
    for c in st.get("conditions") or []:
        if not isinstance(c, dict) or not c.get("type"):
            continue
        for label, status in (("true", "True"), ("false", "False"), ("unknown", "Unknown")):
            rows.append(Row(N_CONDITION, base + (("condition", c["type"]), ("status", label)),
                            bool_value(c.get("status") == status)))
    for fam, key in ((N_CAPACITY, "capacity"), (N_ALLOCATABLE, "allocatable")):
        amounts = st.get(key) or {}
        for res in sorted(amounts):
            unit = resource_unit(res)
            v = quantity_value(res, amounts[res], milli=True) if unit else None
            if v is not None:
                rows.append(Row(fam, base + (("resource", sanitize(res)), ("unit", unit)), v))
    return rows


NS = "kube_namespace_"
NS_CREATED = family(NS + "created", "Unix creation timestamp")
NS_LABELS = family(NS + "labels", "Kubernetes labels converted to Prometheus labels.")
NS_PHASE = family(NS + "status_phase", "kubernetes namespace status phase.")


def namespace_rows(obj: dict, ctx: Context) -> list[Row]:
    md, st = meta_of(obj), obj.get("status") or {}
    base = (("namespace", md.get("name", "")),)
    rows: list[Row] = []
    created = ts(md.get("creationTimestamp"))
    if created is not None:
        rows.append(Row(NS_CREATED, base, created))
    rows += labels_rows(NS_LABELS, base, md, ctx.labels_for("namespaces"))
    phase = st.get("phase", "Active")
    rows += [Row(NS_PHASE, base + (("phase", p),), bool_value(p == phase)) for p in ("Active", "Terminating")]
    return rows


S = "kube_service_"
S_INFO = family(S + "info", "Information about service.")
S_CREATED = family(S + "created", "Unix creation timestamp")
S_TYPE = family(S + "spec_type", "Type about service.")
S_LABELS = family(S + "labels", "Kubernetes labels converted to Prometheus labels.")
S_EXTERNAL_IP = family(S + "spec_external_ip", "Service external ips. One series for each ip")
S_LB_INGRESS = family(S + "status_load_balancer_ingress", "Service load balancer ingress status")


def service_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("service", md.get("name", "")), ("uid", md.get("uid", "")))
    rows = [Row(S_INFO, base + (("cluster_ip", spec.get("clusterIP", "")),
                                ("external_name", spec.get("externalName", "")),
                                ("load_balancer_ip", spec.get("loadBalancerIP", "")),
                                ("external_traffic_policy", spec.get("externalTrafficPolicy", ""))), 1.0)]
    created = ts(md.get("creationTimestamp"))
    if created is not None:
        rows.append(Row(S_CREATED, base, created))
    rows.append(Row(S_TYPE, base + (("type", spec.get("type", "ClusterIP")),), 1.0))
    rows += labels_rows(S_LABELS, base, md, ctx.labels_for("services"))
    for ip in spec.get("externalIPs") or []:
        rows.append(Row(S_EXTERNAL_IP, base + (("external_ip", str(ip)),), 1.0))
    for ing in ((st.get("loadBalancer") or {}).get("ingress")) or []:
        if isinstance(ing, dict):
            rows.append(Row(S_LB_INGRESS, base + (("ip", ing.get("ip", "")), ("hostname", ing.get("hostname", ""))), 1.0))
    return rows


P = "kube_persistentvolumeclaim_"
P_INFO = family(P + "info", "Information about persistent volume claim.")
P_LABELS = family(P + "labels", "Kubernetes labels converted to Prometheus labels.")
P_PHASE = family(P + "status_phase", "The phase the persistent volume claim is currently in.")
P_REQUEST = family(P + "resource_requests_storage_bytes", "The capacity of storage requested by the persistent volume claim.")
P_ACCESS_MODE = family(P + "access_mode", "The access mode(s) specified by the persistent volume claim.")


def pvc_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("persistentvolumeclaim", md.get("name", "")))
    # The beta storage-class annotation wins over spec.storageClassName, as in KSM.
    storage_class = (md.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class")
    if storage_class is None:
        # KSM's getPersistentVolumeClaimClass: "<none>" marks a claim without a class.
        storage_class = spec["storageClassName"] if spec.get("storageClassName") is not None else "<none>"
    rows = [Row(P_INFO, base + (("storageclass", storage_class),
                                ("volumename", spec.get("volumeName", "")),
                                ("volumemode", spec.get("volumeMode", ""))), 1.0)]
    rows += labels_rows(P_LABELS, base, md, ctx.labels_for("persistentvolumeclaims"))
    phase = st.get("phase")
    if phase:
        rows += [Row(P_PHASE, base + (("phase", p),), bool_value(p == phase)) for p in ("Lost", "Bound", "Pending")]
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is not None:
        v = quantity_value("storage", storage)
        if v is not None:
            rows.append(Row(P_REQUEST, base, v))
    for mode in spec.get("accessModes") or []:
        rows.append(Row(P_ACCESS_MODE, base + (("access_mode", str(mode)),), 1.0))
    return rows
