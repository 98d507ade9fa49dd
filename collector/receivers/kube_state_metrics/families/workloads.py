"""kube_deployment_*, kube_daemonset_*, kube_statefulset_*, kube_replicaset_*, kube_job_*,
kube_cronjob_*, kube_horizontalpodautoscaler_* families (kube-state-metrics, STABLE ones)."""
from __future__ import annotations

import math

from .common import (CONDITION_STATUSES, Context, Row, bool_value, condition_rows, family, labels_rows,
                     meta_of, num, owner_rows, ts)
from .cron import Schedule


def _labels_rows(fam: str, base: tuple, md: dict, ctx: Context, resource: str) -> list[Row]:
    return labels_rows(fam, base, md, ctx.labels_for(resource))


def _simple(rows: list, fam: str, base: tuple, value) -> None:
    v = num(value)
    if v is not None:
        rows.append(Row(fam, base, v))


def _scaled(value, total: int, round_up: bool) -> float | None:
    """intstr.GetScaledValueFromIntOrPercent: "25%" of total, or a plain int."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = float(value[:-1])
        except ValueError:
            return None
        x = pct * total / 100.0
        return float(math.ceil(x) if round_up else math.floor(x))
    return num(value)


D = "kube_deployment_"
D_CREATED = family(D + "created", "Unix creation timestamp")
D_SPEC_REPLICAS = family(D + "spec_replicas", "Number of desired pods for a deployment.")
D_PAUSED = family(D + "spec_paused", "Whether the deployment is paused and will not be processed by the deployment controller.")
D_MAX_UNAVAILABLE = family(D + "spec_strategy_rollingupdate_max_unavailable", "Maximum number of unavailable replicas during a rolling update of a deployment.")
D_MAX_SURGE = family(D + "spec_strategy_rollingupdate_max_surge", "Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.")
D_GENERATION = family(D + "metadata_generation", "Sequence number representing a specific generation of the desired state.")
D_REPLICAS = family(D + "status_replicas", "The number of replicas per deployment.")
D_AVAILABLE = family(D + "status_replicas_available", "The number of available replicas per deployment.")
D_UNAVAILABLE = family(D + "status_replicas_unavailable", "The number of unavailable replicas per deployment.")
D_UPDATED = family(D + "status_replicas_updated", "The number of updated replicas per deployment.")
D_READY = family(D + "status_replicas_ready", "The number of ready replicas per deployment.")
D_OBSERVED = family(D + "status_observed_generation", "The generation observed by the deployment controller.")
D_CONDITION = family(D + "status_condition", "The current status conditions of a deployment.")
D_LABELS = family(D + "labels", "Kubernetes labels converted to Prometheus labels.")
# Condition reasons KSM keeps (kubernetes' deployment_utils.go); any other is "unknown".
DEPLOYMENT_REASONS = frozenset((
    "ReplicaSetUpdated", "ReplicaSetCreateError", "NewReplicaSetCreated", "FoundNewReplicaSet",
    "NewReplicaSetAvailable", "ProgressDeadlineExceeded", "DeploymentPaused", "DeploymentResumed",
    "MinimumReplicasAvailable", "MinimumReplicasUnavailable", ""))


def _deployment_conditions(base: tuple, conditions) -> list[Row]:
    rows = []
    for c in conditions or []:
        if not isinstance(c, dict) or not c.get("type"):
            continue
        reason = str(c.get("reason") or "")
        reason = reason if reason in DEPLOYMENT_REASONS else "unknown"
        for label, status in CONDITION_STATUSES:
            rows.append(Row(D_CONDITION, base + (("reason", reason), ("condition", str(c["type"])),
                                                 ("status", label)), bool_value(c.get("status") == status)))
    return rows


def deployment_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("deployment", md.get("name", "")))
    rows: list[Row] = []
    _simple(rows, D_CREATED, base, ts(md.get("creationTimestamp")))
    replicas = spec.get("replicas", 1)
    _simple(rows, D_SPEC_REPLICAS, base, replicas)
    rows.append(Row(D_PAUSED, base, bool_value(spec.get("paused"))))
    ru = ((spec.get("strategy") or {}).get("rollingUpdate")) or {}
    if ru:
        total = int(num(replicas) or 0)
        _simple(rows, D_MAX_UNAVAILABLE, base, _scaled(ru.get("maxUnavailable"), total, False))
        _simple(rows, D_MAX_SURGE, base, _scaled(ru.get("maxSurge"), total, True))
    _simple(rows, D_GENERATION, base, md.get("generation"))
    for fam, key in ((D_REPLICAS, "replicas"), (D_AVAILABLE, "availableReplicas"),
                     (D_UNAVAILABLE, "unavailableReplicas"), (D_UPDATED, "updatedReplicas"),
                     (D_READY, "readyReplicas"), (D_OBSERVED, "observedGeneration")):
        rows.append(Row(fam, base, num(st.get(key)) or 0.0))
    rows += _deployment_conditions(base, st.get("conditions"))
    rows += _labels_rows(D_LABELS, base, md, ctx, "deployments")
    return rows


DS = "kube_daemonset_"
DS_FAMILIES = {key: family(DS + name, help_) for key, name, help_ in (
    ("currentNumberScheduled", "status_current_number_scheduled", "The number of nodes running at least one daemon pod and are supposed to."),
    ("desiredNumberScheduled", "status_desired_number_scheduled", "The number of nodes that should be running the daemon pod."),
    ("numberAvailable", "status_number_available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available"),
    ("numberMisscheduled", "status_number_misscheduled", "The number of nodes running a daemon pod but are not supposed to."),
    ("numberReady", "status_number_ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    ("numberUnavailable", "status_number_unavailable", "The number of nodes that should be running the daemon pod and have none of the daemon pod running and available"),
    ("observedGeneration", "status_observed_generation", "The most recent generation observed by the daemon set controller."),
    ("updatedNumberScheduled", "status_updated_number_scheduled", "The total number of nodes that are running updated daemon pod"))}
DS_CREATED = family(DS + "created", "Unix creation timestamp")
DS_GENERATION = family(DS + "metadata_generation", "Sequence number representing a specific generation of the desired state.")
DS_LABELS = family(DS + "labels", "Kubernetes labels converted to Prometheus labels.")


def daemonset_rows(obj: dict, ctx: Context) -> list[Row]:
    md, st = meta_of(obj), obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("daemonset", md.get("name", "")))
    rows: list[Row] = []
    _simple(rows, DS_CREATED, base, ts(md.get("creationTimestamp")))
    for key, fam in DS_FAMILIES.items():
        rows.append(Row(fam, base, num(st.get(key)) or 0.0))
    _simple(rows, DS_GENERATION, base, md.get("generation"))
    rows += _labels_rows(DS_LABELS, base, md, ctx, "daemonsets")
    return rows


SS = "kube_statefulset_"
SS_FAMILIES = {key: family(SS + name, help_) for key, name, help_ in (
    ("replicas", "status_replicas", "The number of replicas per StatefulSet."),
    ("availableReplicas", "status_replicas_available", "The number of available replicas per StatefulSet."),
    ("currentReplicas", "status_replicas_current", "The number of current replicas per StatefulSet."),
    ("readyReplicas", "status_replicas_ready", "The number of ready replicas per StatefulSet."),
    ("updatedReplicas", "status_replicas_updated", "The number of updated replicas per StatefulSet."),
    ("observedGeneration", "status_observed_generation", "The generation observed by the StatefulSet controller."))}
SS_CREATED = family(SS + "created", "Unix creation timestamp")
SS_REPLICAS = family(SS + "replicas", "Number of desired pods for a StatefulSet.")
SS_GENERATION = family(SS + "metadata_generation", "Sequence number representing a specific generation of the desired state for the StatefulSet.")
SS_CURRENT_REV = family(SS + "status_current_revision", "Indicates the version of the StatefulSet used to generate Pods in the sequence [0,currentReplicas).")
SS_UPDATE_REV = family(SS + "status_update_revision", "Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)")
SS_LABELS = family(SS + "labels", "Kubernetes labels converted to Prometheus labels.")
SS_ORDINALS_START = family(SS + "ordinals_start", "Start ordinal of the StatefulSet.")
SS_RETENTION = family(SS + "persistentvolumeclaim_retention_policy", "Count of retention policy for StatefulSet template PVCs")
SS_DELETION = family(SS + "deletion_timestamp", "Unix deletion timestamp")


def statefulset_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("statefulset", md.get("name", "")))
    rows: list[Row] = []
    _simple(rows, SS_CREATED, base, ts(md.get("creationTimestamp")))
    for key, fam in SS_FAMILIES.items():
        rows.append(Row(fam, base, num(st.get(key)) or 0.0))
    _simple(rows, SS_REPLICAS, base, spec.get("replicas", 1))
    ordinals = spec.get("ordinals")
    if isinstance(ordinals, dict):
        rows.append(Row(SS_ORDINALS_START, base, num(ordinals.get("start")) or 0.0))
    _simple(rows, SS_GENERATION, base, md.get("generation"))
    policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    if isinstance(policy, dict) and (policy.get("whenDeleted") or policy.get("whenScaled")):
        rows.append(Row(SS_RETENTION, base + (("when_deleted", str(policy.get("whenDeleted") or "")),
                                              ("when_scaled", str(policy.get("whenScaled") or ""))), 1.0))
    # Both revisions always have a series, "" before the controller set them (as in KSM).
    rows.append(Row(SS_CURRENT_REV, base + (("revision", str(st.get("currentRevision") or "")),), 1.0))
    rows.append(Row(SS_UPDATE_REV, base + (("revision", str(st.get("updateRevision") or "")),), 1.0))
    _simple(rows, SS_DELETION, base, ts(md.get("deletionTimestamp")))
    rows += _labels_rows(SS_LABELS, base, md, ctx, "statefulsets")
    return rows


RS = "kube_replicaset_"
RS_FAMILIES = {key: family(RS + name, help_) for key, name, help_ in (
    ("replicas", "status_replicas", "The number of replicas per ReplicaSet."),
    ("fullyLabeledReplicas", "status_fully_labeled_replicas", "The number of fully labeled replicas per ReplicaSet."),
    ("readyReplicas", "status_ready_replicas", "The number of ready replicas per ReplicaSet."),
    ("observedGeneration", "status_observed_generation", "The generation observed by the ReplicaSet controller."))}
RS_CREATED = family(RS + "created", "Unix creation timestamp")
RS_SPEC_REPLICAS = family(RS + "spec_replicas", "Number of desired pods for a ReplicaSet.")
RS_GENERATION = family(RS + "metadata_generation", "Sequence number representing a specific generation of the desired state.")
RS_OWNER = family(RS + "owner", "Information about the ReplicaSet's owner.")
RS_LABELS = family(RS + "labels", "Kubernetes labels converted to Prometheus labels.")


def replicaset_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("replicaset", md.get("name", "")))
    rows: list[Row] = []
    _simple(rows, RS_CREATED, base, ts(md.get("creationTimestamp")))
    for key, fam in RS_FAMILIES.items():
        rows.append(Row(fam, base, num(st.get(key)) or 0.0))
    _simple(rows, RS_SPEC_REPLICAS, base, spec.get("replicas", 1))
    _simple(rows, RS_GENERATION, base, md.get("generation"))
    rows += owner_rows(RS_OWNER, base, md)
    rows += _labels_rows(RS_LABELS, base, md, ctx, "replicasets")
    return rows


J = "kube_job_"
J_INFO = family(J + "info", "Information about job.")
J_CREATED = family(J + "created", "Unix creation timestamp")
J_PARALLELISM = family(J + "spec_parallelism", "The maximum desired number of pods the job should run at any given time.")
J_COMPLETIONS = family(J + "spec_completions", "The desired number of successfully finished pods the job should be run with.")
J_DEADLINE = family(J + "spec_active_deadline_seconds", "The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.")
J_ACTIVE = family(J + "status_active", "The number of actively running pods.")
J_SUCCEEDED = family(J + "status_succeeded", "The number of pods which reached Phase Succeeded.")
J_FAILED = family(J + "status_failed", "The number of pods which reached Phase Failed and the reason for failure.")
J_START = family(J + "status_start_time", "StartTime represents time when the job was acknowledged by the Job Manager.")
J_COMPLETION = family(J + "status_completion_time", "CompletionTime represents time when the job was completed.")
J_COMPLETE = family(J + "complete", "The job has completed its execution.")
J_FAILED_COND = family(J + "failed", "The job has failed its execution.")
J_OWNER = family(J + "owner", "Information about the Job's owner.")
J_LABELS = family(J + "labels", "Kubernetes labels converted to Prometheus labels.")
JOB_FAILURE_REASONS = ("BackoffLimitExceeded", "DeadlineExceeded", "Evicted")


def _job_failed(base: tuple, st: dict) -> list[Row]:
    """kube_job_status_failed as KSM: no reason label while nothing failed; then one series per
    known reason of the Failed condition, and reason="" carrying the count when none applies."""
    failed = num(st.get("failed")) or 0.0
    if failed == 0:
        return [Row(J_FAILED, base, 0.0)]
    rows, known = [], False
    for c in st.get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Failed":
            for reason in JOB_FAILURE_REASONS:
                known = known or c.get("reason") == reason
                rows.append(Row(J_FAILED, base + (("reason", reason),), bool_value(c.get("reason") == reason)))
    if not known:
        rows.append(Row(J_FAILED, base + (("reason", ""),), failed))
    return rows


def job_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("job_name", md.get("name", "")))
    rows: list[Row] = [Row(J_INFO, base, 1.0)]
    _simple(rows, J_CREATED, base, ts(md.get("creationTimestamp")))
    _simple(rows, J_PARALLELISM, base, spec.get("parallelism"))
    _simple(rows, J_COMPLETIONS, base, spec.get("completions"))
    _simple(rows, J_DEADLINE, base, spec.get("activeDeadlineSeconds"))
    rows.append(Row(J_ACTIVE, base, num(st.get("active")) or 0.0))
    rows.append(Row(J_SUCCEEDED, base, num(st.get("succeeded")) or 0.0))
    rows += _job_failed(base, st)
    _simple(rows, J_START, base, ts(st.get("startTime")))
    _simple(rows, J_COMPLETION, base, ts(st.get("completionTime")))
    for fam, ctype in ((J_COMPLETE, "Complete"), (J_FAILED_COND, "Failed")):
        for c in st.get("conditions") or []:
            if isinstance(c, dict) and c.get("type") == ctype:
                rows += [Row(fam, base + (("condition", label),), bool_value(c.get("status") == value))
                         for label, value in (("true", "True"), ("false", "False"), ("unknown", "Unknown"))]
    rows += owner_rows(J_OWNER, base, md)
    rows += _labels_rows(J_LABELS, base, md, ctx, "jobs")
    return rows


CJ = "kube_cronjob_"
CJ_INFO = family(CJ + "info", "Info about cronjob.")
CJ_CREATED = family(CJ + "created", "Unix creation timestamp")
CJ_ACTIVE = family(CJ + "status_active", "Active holds pointers to currently running jobs.")
CJ_LAST = family(CJ + "status_last_schedule_time", "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.")
CJ_SUSPEND = family(CJ + "spec_suspend", "Suspend flag tells the controller to suspend subsequent executions.")
CJ_DEADLINE = family(CJ + "spec_starting_deadline_seconds", "Deadline in seconds for starting the job if it misses scheduled time for any reason.")
CJ_RV = family(CJ + "metadata_resource_version", "Resource version representing a specific version of the cronjob.")
CJ_LABELS = family(CJ + "labels", "Kubernetes labels converted to Prometheus labels.")
CJ_NEXT = family(CJ + "next_schedule_time", "Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.")
CJ_LAST_SUCCESS = family(CJ + "status_last_successful_time", "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.")


def cronjob_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("cronjob", md.get("name", "")))
    tz = spec.get("timeZone")
    rows = [Row(CJ_INFO, base + (("schedule", spec.get("schedule", "")),
                                 ("concurrency_policy", spec.get("concurrencyPolicy", "")),
                                 ("timezone", str(tz) if tz else "local")), 1.0)]
    _simple(rows, CJ_CREATED, base, ts(md.get("creationTimestamp")))
    rows.append(Row(CJ_ACTIVE, base, float(len(st.get("active") or []))))
    _simple(rows, CJ_LAST, base, ts(st.get("lastScheduleTime")))
    _simple(rows, CJ_LAST_SUCCESS, base, ts(st.get("lastSuccessfulTime")))
    # Not while suspended. "local" is KSM's process zone, UTC in its container image.
    after = ts(st.get("lastScheduleTime")) or ts(md.get("creationTimestamp"))
    if not spec.get("suspend") and after is not None and spec.get("schedule"):
        try:
            nxt = Schedule((f"CRON_TZ={tz} " if tz else "") + str(spec["schedule"])).next(after)
        except (ValueError, KeyError):  # bad schedule or unknown zone: KSM has no value either
            nxt = None
        _simple(rows, CJ_NEXT, base, nxt)
    rows.append(Row(CJ_SUSPEND, base, bool_value(spec.get("suspend"))))
    _simple(rows, CJ_DEADLINE, base, spec.get("startingDeadlineSeconds"))
    _simple(rows, CJ_RV, base, md.get("resourceVersion"))
    rows += _labels_rows(CJ_LABELS, base, md, ctx, "cronjobs")
    return rows


H = "kube_horizontalpodautoscaler_"
H_INFO = family(H + "info", "Information about this autoscaler.")
H_GENERATION = family(H + "metadata_generation", "The generation observed by the HorizontalPodAutoscaler controller.")
H_MAX = family(H + "spec_max_replicas", "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.")
H_MIN = family(H + "spec_min_replicas", "Lower limit for the number of pods that can be set by the autoscaler, default 1.")
H_CURRENT = family(H + "status_current_replicas", "Current number of replicas of pods managed by this autoscaler.")
H_DESIRED = family(H + "status_desired_replicas", "Desired number of replicas of pods managed by this autoscaler.")
H_CONDITION = family(H + "status_condition", "The condition of this autoscaler.")
H_LABELS = family(H + "labels", "Kubernetes labels converted to Prometheus labels.")


def hpa_rows(obj: dict, ctx: Context) -> list[Row]:
    md, spec, st = meta_of(obj), obj.get("spec") or {}, obj.get("status") or {}
    base = (("namespace", md.get("namespace", "")), ("horizontalpodautoscaler", md.get("name", "")))
    ref = spec.get("scaleTargetRef") or {}
    rows = [Row(H_INFO, base + (("scaletargetref_api_version", ref.get("apiVersion", "")),
                                ("scaletargetref_kind", ref.get("kind", "")),
                                ("scaletargetref_name", ref.get("name", ""))), 1.0)]
    _simple(rows, H_GENERATION, base, md.get("generation"))
    _simple(rows, H_MAX, base, spec.get("maxReplicas"))
    _simple(rows, H_MIN, base, spec.get("minReplicas", 1))
    rows.append(Row(H_CURRENT, base, num(st.get("currentReplicas")) or 0.0))
    rows.append(Row(H_DESIRED, base, num(st.get("desiredReplicas")) or 0.0))
    rows += condition_rows(H_CONDITION, base, st.get("conditions"))
    rows += _labels_rows(H_LABELS, base, md, ctx, "horizontalpodautoscalers")
    return rows
