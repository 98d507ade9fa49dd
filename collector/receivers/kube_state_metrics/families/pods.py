"""kube_pod_* families (kube-state-metrics pod.go, STABLE ones)."""
from __future__ import annotations

from .common import (Context, Row, annotations_rows, bool_value, controller_of, family, labels_rows,
                     meta_of, owner_rows, quantity_value, resource_unit, sanitize, ts)

POD_PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")

INFO = family("kube_pod_info", "Information about pod.")
START = family("kube_pod_start_time", "Start time in unix timestamp for a pod.")
COMPLETION = family("kube_pod_completion_time", "Completion time in unix timestamp for a pod.")
OWNER = family("kube_pod_owner", "Information about the Pod's owner.")
LABELS = family("kube_pod_labels", "Kubernetes labels converted to Prometheus labels.")
ANNOTATIONS = family("kube_pod_annotations", "Kubernetes annotations converted to Prometheus labels.")
CREATED = family("kube_pod_created", "Unix creation timestamp")
RESTART_POLICY = family("kube_pod_restart_policy", "Describes the restart policy in use by this pod.")
PHASE = family("kube_pod_status_phase", "The pods current phase.")
READY = family("kube_pod_status_ready", "Describes whether the pod is ready to serve requests.")
SCHEDULED = family("kube_pod_status_scheduled", "Describes the status of the scheduling process for the pod.")
C_INFO = family("kube_pod_container_info", "Information about a container in a pod.")
C_STATE_STARTED = family("kube_pod_container_state_started", "Start time in unix timestamp for a pod container.")
C_WAITING = family("kube_pod_container_status_waiting", "Describes whether the container is currently in waiting state.")
C_WAITING_REASON = family("kube_pod_container_status_waiting_reason", "Describes the reason the container is currently in waiting state.")
C_RUNNING = family("kube_pod_container_status_running", "Describes whether the container is currently in running state.")
C_TERMINATED = family("kube_pod_container_status_terminated", "Describes whether the container is currently in terminated state.")
C_TERMINATED_REASON = family("kube_pod_container_status_terminated_reason", "Describes the reason the container is currently in terminated state.")
C_LAST_TERMINATED_REASON = family("kube_pod_container_status_last_terminated_reason", "Describes the last reason the container was in terminated state.")
C_READY = family("kube_pod_container_status_ready", "Describes whether the containers readiness check succeeded.")
C_RESTARTS = family("kube_pod_container_status_restarts_total", "The number of container restarts per container.", "counter")
C_REQUESTS = family("kube_pod_container_resource_requests", "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.")
C_LIMITS = family("kube_pod_container_resource_limits", "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.")
I = "kube_pod_init_container_"
I_INFO = family(I + "info", "Information about an init container in a pod.")
I_WAITING = family(I + "status_waiting", "Describes whether the init container is currently in waiting state.")
I_WAITING_REASON = family(I + "status_waiting_reason", "Describes the reason the init container is currently in waiting state.")
I_RUNNING = family(I + "status_running", "Describes whether the init container is currently in running state.")
I_TERMINATED = family(I + "status_terminated", "Describes whether the init container is currently in terminated state.")
I_TERMINATED_REASON = family(I + "status_terminated_reason", "Describes the reason the init container is currently in terminated state.")
I_LAST_TERMINATED_REASON = family(I + "status_last_terminated_reason", "Describes the last reason the init container was in terminated state.")
I_READY = family(I + "status_ready", "Describes whether the init containers readiness check succeeded.")
I_RESTARTS = family(I + "status_restarts_total", "The number of restarts for the init container.", "counter")
I_REQUESTS = family(I + "resource_requests", "The number of requested request resource by an init container.")
I_LIMITS = family(I + "resource_limits", "The number of requested limit resource by an init container.")
SCHEDULED_TIME = family("kube_pod_status_scheduled_time", "Unix timestamp when pod moved into scheduled status")
UNSCHEDULABLE = family("kube_pod_status_unschedulable", "Describes the unschedulable status for the pod.")
DELETION = family("kube_pod_deletion_timestamp", "Unix deletion timestamp")

# (info, waiting, waiting_reason, running, terminated, terminated_reason, last_terminated_reason,
#  ready, restarts, requests, limits) for app containers and init containers.
CONTAINER_FAMILIES = (C_INFO, C_WAITING, C_WAITING_REASON, C_RUNNING, C_TERMINATED, C_TERMINATED_REASON,
                      C_LAST_TERMINATED_REASON, C_READY, C_RESTARTS, C_REQUESTS, C_LIMITS)
INIT_CONTAINER_FAMILIES = (I_INFO, I_WAITING, I_WAITING_REASON, I_RUNNING, I_TERMINATED, I_TERMINATED_REASON,
                           I_LAST_TERMINATED_REASON, I_READY, I_RESTARTS, I_REQUESTS, I_LIMITS)

PVC_INFO = family("kube_pod_spec_volumes_persistentvolumeclaims_info", "Information about persistentvolumeclaim volumes in a pod.")
PVC_READONLY = family("kube_pod_spec_volumes_persistentvolumeclaims_readonly", "Describes whether a persistentvolumeclaim is mounted read only.")


def _condition(status: dict, ctype: str) -> dict | None:
    for c in status.get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return None


def pod_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, status = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("pod", md.get("name", "")), ("uid", md.get("uid", "")))
    # created_by_*: the controller owner only (metav1.GetControllerOf), "" without one.
    created_by = controller_of(md)
    rows = [Row(INFO, base + (("host_ip", status.get("hostIP", "")), ("pod_ip", status.get("podIP", "")),
                              ("node", spec.get("nodeName", "")),
                              ("created_by_kind", str(created_by.get("kind") or "")),
                              ("created_by_name", str(created_by.get("name") or "")),
                              ("priority_class", spec.get("priorityClassName", "")),
                              ("host_network", "true" if spec.get("hostNetwork") else "false")), 1.0)]
    rows += owner_rows(OWNER, base, md)
    rows += labels_rows(LABELS, base, md, ctx.labels_for("pods"))
    rows += annotations_rows(ANNOTATIONS, base, md, ctx.annotations_for("pods"))
    created = ts(md.get("creationTimestamp"))
    if created is not None:
        rows.append(Row(CREATED, base, created))
    started = ts(status.get("startTime"))
    if started is not None:
        rows.append(Row(START, base, started))
    rows.append(Row(RESTART_POLICY, base + (("type", str(spec.get("restartPolicy") or "")),), 1.0))
    phase = status.get("phase")
    if phase:
        rows += [Row(PHASE, base + (("phase", p),), bool_value(p == phase)) for p in POD_PHASES]
    for fam, ctype in ((READY, "Ready"), (SCHEDULED, "PodScheduled")):
        cond = _condition(status, ctype)
        if cond is not None:
            rows += [Row(fam, base + (("condition", label),), bool_value(cond.get("status") == value))
                     for label, value in (("true", "True"), ("false", "False"), ("unknown", "Unknown"))]
    scheduled = _condition(status, "PodScheduled")
    if scheduled is not None:
        if scheduled.get("status") == "True" and ts(scheduled.get("lastTransitionTime")) is not None:
            rows.append(Row(SCHEDULED_TIME, base, ts(scheduled["lastTransitionTime"])))
        if scheduled.get("status") == "False":
            rows.append(Row(UNSCHEDULABLE, base, 1.0))
    deleted = ts(md.get("deletionTimestamp"))
    if deleted is not None:
        rows.append(Row(DELETION, base, deleted))
    statuses = [cs for cs in status.get("containerStatuses") or [] if isinstance(cs, dict)]
    # The latest finishedAt among the containers that terminated (KSM: any of them).
    finished = [f for f in (ts(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
                            for cs in statuses) if f is not None and f > 0]
    if finished:
        rows.append(Row(COMPLETION, base, max(finished)))
    node = spec.get("nodeName", "")
    for fams, status_key, spec_key in ((CONTAINER_FAMILIES, "containerStatuses", "containers"),
                                       (INIT_CONTAINER_FAMILIES, "initContainerStatuses", "initContainers")):
        specs = [c for c in spec.get(spec_key) or [] if isinstance(c, dict)]
        cstatuses = [cs for cs in status.get(status_key) or [] if isinstance(cs, dict)]
        rows += _container_info_rows(base, specs, cstatuses, fams[0], init=fams is INIT_CONTAINER_FAMILIES)
        for cs in cstatuses:
            rows += _container_status_rows(base, cs, fams)
        for c in specs:
            rows += _container_resource_rows(base, c, node, fams)
    for cs in statuses:
        state = cs.get("state") or {}
        started = ts((state.get("running") or state.get("terminated") or {}).get("startedAt"))
        if started is not None:
            rows.append(Row(C_STATE_STARTED, base + (("container", cs.get("name", "")),), started))
    for v in spec.get("volumes") or []:
        claim = (v or {}).get("persistentVolumeClaim") if isinstance(v, dict) else None
        if claim:
            labels = base + (("volume", v.get("name", "")), ("persistentvolumeclaim", claim.get("claimName", "")))
            rows.append(Row(PVC_INFO, labels, 1.0))
            rows.append(Row(PVC_READONLY, labels, bool_value(claim.get("readOnly"))))
    return rows


def _container_status_rows(base: tuple, cs: dict, fams: tuple) -> list[Row]:
    info, waiting, waiting_reason, running, terminated, terminated_reason, last_reason, ready, restarts = fams[:9]
    c = base + (("container", cs.get("name", "")),)
    state = cs.get("state") or {}
    rows = [Row(waiting, c, bool_value("waiting" in state)),
            Row(running, c, bool_value("running" in state)),
            Row(terminated, c, bool_value("terminated" in state)),
            Row(ready, c, bool_value(cs.get("ready"))),
            Row(restarts, c, float(cs.get("restartCount") or 0))]
    # Only the current reason has a series (kube-state-metrics v2), whenever the container is
    # in that state, its reason possibly empty.
    last = cs.get("lastState") or {}
    for fam, st, key in ((waiting_reason, state, "waiting"), (terminated_reason, state, "terminated"),
                         (last_reason, last, "terminated")):
        if isinstance(st.get(key), dict):
            rows.append(Row(fam, c + (("reason", str(st[key].get("reason") or "")),), 1.0))
    return rows


def _container_info_rows(base: tuple, specs: list, statuses: list, fam: str, init: bool) -> list[Row]:
    """kube_pod_[init_]container_info: one series per spec container that has a status;
    image_spec is the spec's image, image the running one (init containers add restart_policy,
    "Always" for sidecars)."""
    rows = []
    for c in specs:
        for cs in statuses:
            if cs.get("name") != c.get("name"):
                continue
            labels = (("container", cs.get("name", "")), ("image_spec", c.get("image", "")),
                      ("image", cs.get("image", "")), ("image_id", cs.get("imageID", "")),
                      ("container_id", cs.get("containerID", "")))
            if init:
                labels += (("restart_policy", str(c.get("restartPolicy") or "")),)
            rows.append(Row(fam, base + labels, 1.0))
    return rows


def _container_resource_rows(base: tuple, c: dict, node: str, fams: tuple) -> list[Row]:
    rows = []
    resources = c.get("resources") or {}
    for fam, key in ((fams[9], "requests"), (fams[10], "limits")):
        for res in sorted(resources.get(key) or {}):
            unit = resource_unit(res)
            if unit is None or res == "pods":
                continue  # a resource KSM does not expose for containers
            v = quantity_value(res, resources[key][res])
            if v is None:
                continue  # unreadable quantity: skipped (the receiver counts bad objects)
            rows.append(Row(fam, base + (("container", c.get("name", "")), ("node", node),
                                         ("resource", sanitize(res)), ("unit", unit)), v))
    return rows
