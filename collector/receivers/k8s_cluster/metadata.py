"""Metric and resource attribute definitions of otelcol-contrib's k8s_cluster receiver
(metadata.yaml / documentation.md): names, descriptions, units, value types, default enablement.
"""
from __future__ import annotations

import re

SCOPE_NAME = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8sclusterreceiver"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.18.0"

_LIMIT = ("Maximum resource limit set for the container. See https://kubernetes.io/docs/reference/"
          "generated/kubernetes-api/v1.23/#resourcerequirements-v1-core for details")
_REQUEST = ("Resource requested for the container. See https://kubernetes.io/docs/reference/"
            "generated/kubernetes-api/v1.23/#resourcerequirements-v1-core for details")

# name: (description, unit, is_double, enabled_by_default)
METRICS: dict[str, tuple[str, str, bool, bool]] = {
    "k8s.container.cpu_limit": (_LIMIT, "{cpu}", True, True),
    "k8s.container.cpu_request": (_REQUEST, "{cpu}", True, True),
    "k8s.container.memory_limit": (_LIMIT, "By", False, True),
    "k8s.container.memory_request": (_REQUEST, "By", False, True),
    "k8s.container.ephemeralstorage_limit": (_LIMIT, "By", False, True),
    "k8s.container.ephemeralstorage_request": (_REQUEST, "By", False, True),
    "k8s.container.storage_limit": (_LIMIT, "By", False, True),
    "k8s.container.storage_request": (_REQUEST, "By", False, True),
    "k8s.container.ready": ("Whether a container has passed its readiness probe (0 for no, 1 for yes)", "", False, True),
    "k8s.container.restarts": ("How many times the container has restarted in the recent past. This value is pulled "
                               "directly from the K8s API and the value can go indefinitely high and be reset to 0 at "
                               "any time depending on how your kubelet is configured to prune dead containers.",
                               "{restart}", False, True),
    "k8s.cronjob.active_jobs": ("The number of actively running jobs for a cronjob", "{job}", False, True),
    "k8s.daemonset.current_scheduled_nodes": ("Number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod", "{node}", False, True),
    "k8s.daemonset.desired_scheduled_nodes": ("Number of nodes that should be running the daemon pod (including nodes currently running the daemon pod)", "{node}", False, True),
    "k8s.daemonset.misscheduled_nodes": ("Number of nodes that are running the daemon pod, but are not supposed to run the daemon pod", "{node}", False, True),
    "k8s.daemonset.ready_nodes": ("Number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready", "{node}", False, True),
    "k8s.deployment.available": ("Total number of available pods (ready for at least minReadySeconds) targeted by this deployment", "{pod}", False, True),
    "k8s.deployment.desired": ("Number of desired pods in this deployment", "{pod}", False, True),
    "k8s.hpa.current_replicas": ("Current number of pod replicas managed by this autoscaler.", "{pod}", False, True),
    "k8s.hpa.desired_replicas": ("Desired number of pod replicas managed by this autoscaler.", "{pod}", False, True),
    "k8s.hpa.max_replicas": ("Maximum number of replicas to which the autoscaler can scale up.", "{pod}", False, True),
    "k8s.hpa.min_replicas": ("Minimum number of replicas to which the autoscaler can scale up.", "{pod}", False, True),
    "k8s.job.active_pods": ("The number of actively running pods for a job", "{pod}", False, True),
    "k8s.job.desired_successful_pods": ("The desired number of successfully finished pods the job should be run with", "{pod}", False, True),
    "k8s.job.failed_pods": ("The number of pods which reached phase Failed for a job", "{pod}", False, True),
    "k8s.job.max_parallel_pods": ("The max desired number of pods the job should run at any given time", "{pod}", False, True),
    "k8s.job.successful_pods": ("The number of pods which reached phase Succeeded for a job", "{pod}", False, True),
    "k8s.namespace.phase": ("The current phase of namespaces (1 for active and 0 for terminating)", "", False, True),
    "k8s.pod.phase": ("Current phase of the pod (1 - Pending, 2 - Running, 3 - Succeeded, 4 - Failed, 5 - Unknown)", "", False, True),
    "k8s.pod.status_reason": ("Current status reason of the pod (1 - Evicted, 2 - NodeAffinity, 3 - NodeLost, 4 - Shutdown, 5 - UnexpectedAdmissionError, 6 - Unknown)", "", False, False),
    "k8s.replicaset.available": ("Total number of available pods (ready for at least minReadySeconds) targeted by this replicaset", "{pod}", False, True),
    "k8s.replicaset.desired": ("Number of desired pods in this replicaset", "{pod}", False, True),
    "k8s.replication_controller.available": ("Total number of available pods (ready for at least minReadySeconds) targeted by this replication_controller", "{pod}", False, True),
    "k8s.replication_controller.desired": ("Number of desired pods in this replication_controller", "{pod}", False, True),
    "k8s.resource_quota.hard_limit": ("The upper limit for a particular resource in a specific namespace. Will only be sent if a quota is specified. CPU requests/limits will be sent as millicores", "{resource}", False, True),
    "k8s.resource_quota.used": ("The usage for a particular resource in a specific namespace. Will only be sent if a quota is specified. CPU requests/limits will be sent as millicores", "{resource}", False, True),
    "k8s.statefulset.current_pods": ("The number of pods created by the StatefulSet controller from the StatefulSet version", "{pod}", False, True),
    "k8s.statefulset.desired_pods": ("Number of desired pods in the stateful set (the `spec.replicas` field)", "{pod}", False, True),
    "k8s.statefulset.ready_pods": ("Number of pods created by the stateful set that have the `Ready` condition", "{pod}", False, True),
    "k8s.statefulset.updated_pods": ("Number of pods created by the StatefulSet controller from the StatefulSet version", "{pod}", False, True),
    # Optional (disabled by default) in metadata.yaml.
    "k8s.node.condition": ("The condition of a particular Node.", "{condition}", False, False),
    "k8s.container.status.state": ("Experimental metric, may experience breaking changes. Describes the number of K8s "
                                   "containers that are currently in a given state. All possible container states will "
                                   "be reported at each time interval to avoid missing metrics. Only the value "
                                   "corresponding to the current state will be non-zero.", "{container}", False, False),
    "k8s.container.status.reason": ("Experimental metric, may experience breaking changes. Describes the number of K8s "
                                    "containers that are currently in a state for a given reason. All possible container "
                                    "state reasons will be reported at each time interval to avoid missing metrics. Only "
                                    "the value corresponding to the current state reason will be non-zero.",
                                    "{container}", False, False),
}

# Metrics that metadata.yaml declares as (non-monotonic, cumulative) sums; all others are gauges.
SUM_METRICS = frozenset({"k8s.container.status.state", "k8s.container.status.reason"})

# Resource attributes and whether each is on by default (documentation.md "Resource Attributes").
RESOURCE_ATTRIBUTES: dict[str, bool] = {
    "container.id": True, "container.image.name": True, "container.image.tag": True,
    "container.runtime": False, "container.runtime.version": False,
    "k8s.container.name": True, "k8s.container.status.last_terminated_reason": False,
    "k8s.cronjob.name": True, "k8s.cronjob.uid": True,
    "k8s.daemonset.name": True, "k8s.daemonset.uid": True,
    "k8s.deployment.name": True, "k8s.deployment.uid": True,
    "k8s.hpa.name": True, "k8s.hpa.uid": True,
    "k8s.hpa.scaletargetref.apiversion": False, "k8s.hpa.scaletargetref.kind": False,
    "k8s.hpa.scaletargetref.name": False,
    "k8s.job.name": True, "k8s.job.uid": True,
    "k8s.kubelet.version": False,
    "k8s.namespace.name": True, "k8s.namespace.uid": True,
    "k8s.node.name": True, "k8s.node.uid": True,
    "k8s.pod.name": True, "k8s.pod.qos_class": False, "k8s.pod.uid": True,
    "k8s.replicaset.name": True, "k8s.replicaset.uid": True,
    "k8s.replicationcontroller.name": True, "k8s.replicationcontroller.uid": True,
    "k8s.resourcequota.name": True, "k8s.resourcequota.uid": True,
    "k8s.statefulset.name": True, "k8s.statefulset.uid": True,
    "os.description": False, "os.type": False,
}

# Node condition and allocatable metrics are named after the configured types
# (node_conditions_to_report / allocatable_types_to_report), as nodes.go does.
_SNAKE_1 = re.compile(r"([a-z0-9])([A-Z])")
_SNAKE_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")


def snake(text: str) -> str:
    """strcase.ToSnake: "MemoryPressure" -> "memory_pressure", "hugepages-1Gi" -> "hugepages_1_gi"."""
    s = _SNAKE_2.sub(r"\1_\2", text)
    s = _SNAKE_1.sub(r"\1_\2", s)
    s = re.sub(r"([A-Za-z])([0-9])", r"\1_\2", s)
    s = re.sub(r"([0-9])([A-Za-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_")
    return s.lower()


def node_condition_metric(condition: str) -> tuple[str, str]:
    return (f"k8s.node.condition_{snake(condition)}",
            f"{condition} condition status of the node (true=1, false=0, unknown=-1)")


def node_allocatable_metric(resource: str) -> tuple[str, str, str, bool]:
    """(name, description, unit, is_double) for an allocatable resource type."""
    unit = {"cpu": "{cpu}", "memory": "By", "ephemeral-storage": "By", "storage": "By",
            "pods": "{pod}"}.get(resource, "{%s}" % resource)
    return (f"k8s.node.allocatable_{snake(resource)}",
            f"Amount of {resource} allocatable on the node", unit, resource == "cpu")
