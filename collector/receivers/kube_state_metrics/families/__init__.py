"""kube-state-metrics families per resource: each module maps one raw API object to rows
(family, label pairs, value) with KSM's STABLE metric names and label names/order."""
from __future__ import annotations

from . import cluster, pods, workloads
from .common import FAMILIES, Row

# resource (as in KSM's --resources) -> (plural, group, version, rows function, cluster scoped)
RESOURCES = {
    "pods": ("pods", "", "v1", pods.pod_rows, False),
    "deployments": ("deployments", "apps", "v1", workloads.deployment_rows, False),
    "daemonsets": ("daemonsets", "apps", "v1", workloads.daemonset_rows, False),
    "statefulsets": ("statefulsets", "apps", "v1", workloads.statefulset_rows, False),
    "replicasets": ("replicasets", "apps", "v1", workloads.replicaset_rows, False),
    "jobs": ("jobs", "batch", "v1", workloads.job_rows, False),
    "cronjobs": ("cronjobs", "batch", "v1", workloads.cronjob_rows, False),
    "horizontalpodautoscalers": ("horizontalpodautoscalers", "autoscaling", "v2", workloads.hpa_rows, False),
    "nodes": ("nodes", "", "v1", cluster.node_rows, True),
    "namespaces": ("namespaces", "", "v1", cluster.namespace_rows, True),
    "services": ("services", "", "v1", cluster.service_rows, False),
    "persistentvolumeclaims": ("persistentvolumeclaims", "", "v1", cluster.pvc_rows, False),
}

__all__ = ["FAMILIES", "RESOURCES", "Row"]
