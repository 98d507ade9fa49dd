"""kube-state-metrics families as pure functions: names, label order, values, bad input."""
import zlib

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from collector.k8s.fakeapi import objects as o
from collector.receivers.kube_state_metrics.families import FAMILIES, RESOURCES
from collector.receivers.kube_state_metrics.families.common import Context
from collector.receivers.kube_state_metrics.object_cache import ObjectMetricsCache, render, stale_markers


def rows_of(resource, obj, ctx=None):
    return RESOURCES[resource][3](obj, ctx or Context())


def test_pod_rows_keep_ksm_label_order():
    pod = o.pod("web", "shop")
    info = next(r for r in rows_of("pods", pod) if r.family == "kube_pod_info")
    assert [k for k, _ in info.labels] == ["namespace", "pod", "uid", "host_ip", "pod_ip", "node",
                                           "created_by_kind", "created_by_name", "priority_class", "host_network"]
    phases = [r for r in rows_of("pods", pod) if r.family == "kube_pod_status_phase"]
    assert [dict(r.labels)["phase"] for r in phases] == ["Pending", "Succeeded", "Failed", "Unknown", "Running"]
    assert FAMILIES["kube_pod_container_status_restarts_total"][1] == "counter"


def test_labels_allowlist_sanitizes_and_filters():
    pod = o.pod("web", "shop", labels={"app.kubernetes.io/name": "web", "team": "a", "secret": "x"})
    ctx = Context({"pods": ["app.kubernetes.io/name", "team"]})
    row = next(r for r in rows_of("pods", pod, ctx) if r.family == "kube_pod_labels")
    assert dict(row.labels) == {"namespace": "shop", "pod": "web", "uid": pod["metadata"]["uid"],
                                "label_app_kubernetes_io_name": "web", "label_team": "a"}
    row = next(r for r in rows_of("pods", pod, Context({"pods": ["*"]})) if r.family == "kube_pod_labels")
    assert "label_secret" in dict(row.labels)


def test_annotations_only_when_allowlisted():
    pod = o.pod("web", "shop", annotations={"owner": "me"})
    assert not [r for r in rows_of("pods", pod) if r.family == "kube_pod_annotations"]
    row = next(r for r in rows_of("pods", pod, Context(annotations_allowlist={"pods": ["owner"]}))
               if r.family == "kube_pod_annotations")
    assert dict(row.labels)["annotation_owner"] == "me"


@pytest.mark.parametrize("resource,obj", [
    ("pods", {"metadata": {"name": "x"}, "spec": {"containers": ["not-a-dict"]}, "status": {"containerStatuses": [None]}}),
    ("pods", {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "lots"}}}]}}),
    ("nodes", {"metadata": {"name": "n"}, "status": {"conditions": "weird", "capacity": {"cpu": "?"}}}),
    ("deployments", {"metadata": {"name": "d"}, "spec": {"replicas": "three"}, "status": {}}),
    ("services", {"metadata": {}, "spec": {"externalIPs": None}}),
    ("deployments", {"metadata": {"name": "d"}, "spec": {"replicas": "1e400",
                                                          "strategy": {"rollingUpdate": {"maxSurge": "25%"}}}}),
    ("pods", {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 10 ** 400}}}]}}),
])
def test_malformed_objects_do_not_raise(resource, obj):
    rows = rows_of(resource, obj)
    assert isinstance(rows, list)


def test_stale_markers_cover_exactly_the_series_that_went_away():
    pod = o.pod("web", "shop", phase="Pending")
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ContainerCreating"}}
    old = render(rows_of("pods", pod), 1)
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ErrImagePull"}}
    new = render(rows_of("pods", pod), 2)
    req = ExportMetricsServiceRequest.FromString(stale_markers(old, new))
    gone = [(m.name, {kv.key: kv.value.string_value for kv in p.attributes}, p.flags)
            for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics for p in m.gauge.data_points]
    assert len(gone) == 1
    assert gone[0][0] == "kube_pod_container_status_waiting_reason" and gone[0][1]["reason"] == "ContainerCreating"
    assert gone[0][2] == 1
    assert stale_markers(old, old) is None


def test_cache_snapshot_chunks_and_deletion():
    cache = ObjectMetricsCache()
    pods = [o.pod(f"p{i}", "shop") for i in range(5)]
    for p in pods:
        cache.put(("pods", "shop", p["metadata"]["name"]), render(rows_of("pods", p), 1))
    chunks = list(cache.snapshot(objects_per_request=2))
    assert [len(c.resource_metrics) for c in chunks] == [2, 2, 1]
    last = render(rows_of("pods", pods[0]), 1)
    cache.remove(("pods", "shop", "p0"), last)
    chunks = list(cache.snapshot(objects_per_request=10))
    stale = chunks[0].resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
    assert stale.flags == 1 and len(chunks) == 2 and len(chunks[1].resource_metrics) == 4
    assert len(zlib.decompress(last)) > 3 * len(last)  # compressed cache


def test_init_containers_and_scheduling_families():
    pod = o.pod("job-pod", "shop", init_containers=[("migrate", "busybox:1.36")], phase="Pending")
    pod["status"]["initContainerStatuses"] = [{
        "name": "migrate", "image": "busybox:1.36", "imageID": "sha", "containerID": "containerd://1",
        "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "Error"}}}]
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    got = {(r.family, dict(r.labels).get("reason")): r.value for r in rows_of("pods", pod)}
    assert got[("kube_pod_init_container_status_restarts_total", None)] == 3
    assert got[("kube_pod_init_container_status_waiting_reason", "CrashLoopBackOff")] == 1
    assert got[("kube_pod_init_container_status_last_terminated_reason", "Error")] == 1
    assert got[("kube_pod_init_container_resource_limits", None)] in (0.5, 256 * 2 ** 20)
    assert got[("kube_pod_status_unschedulable", None)] == 1
    assert ("kube_pod_status_scheduled_time", None) not in got
    assert FAMILIES["kube_pod_init_container_status_restarts_total"][1] == "counter"


def by_family(rows, family):
    return [dict(r.labels) | {"_value": r.value} for r in rows if r.family == family]


def test_label_names_are_snake_cased_and_conflicts_suffixed_as_ksm():
    pod = o.pod("web", "shop", labels={"appName": "web", "team.io/Owner": "a", "a-b": "1", "a.b": "2", "x": "y"})
    row = next(r for r in rows_of("pods", pod, Context({"pods": ["*"]})) if r.family == "kube_pod_labels")
    got = dict(row.labels)
    assert got["label_app_name"] == "web" and got["label_team_io_owner"] == "a"
    assert (got["label_a_b_conflict1"], got["label_a_b_conflict2"]) == ("1", "2") and "label_a_b" not in got
    # partial wildcards, and "*" only counts as the first entry
    row = next(r for r in rows_of("pods", pod, Context({"pods": ["team*", "*"]})) if r.family == "kube_pod_labels")
    assert [k for k, _ in row.labels][3:] == ["label_team_io_owner"]


def test_labels_series_only_with_an_allowlist_and_star_resource_applies_everywhere():
    ns = o.namespace("shop", labels={"team": "payments"})
    assert not by_family(rows_of("namespaces", ns), "kube_namespace_labels")
    assert not by_family(rows_of("pods", o.pod("web", "shop")), "kube_pod_labels")
    ctx = Context({"*": ["team"], "pods": ["app"]})
    assert by_family(rows_of("namespaces", ns, ctx), "kube_namespace_labels")[0]["label_team"] == "payments"
    assert "label_app" not in by_family(rows_of("pods", o.pod("web", "shop", labels={"app": "w"}), ctx),
                                        "kube_pod_labels")[0]


def test_allowlists_accept_the_ksm_flag_syntax():
    from collector.config import decode
    from collector.receivers.kube_state_metrics.config import Config
    cfg = decode(Config, {"metric_labels_allowlist": "pods=[app,app.kubernetes.io/name],*=[team]",
                          "resources": "pods,nodes"})
    assert cfg.metric_labels_allowlist == {"pods": ["app", "app.kubernetes.io/name"], "*": ["team"]}
    assert cfg.selected_resources() == ["pods", "nodes"]
    with pytest.raises(Exception, match="invalid allowlist"):
        decode(Config, {"metric_labels_allowlist": "pods=app"})


def test_pod_info_owner_and_container_families_follow_ksm():
    pod = o.pod("web", "shop", owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "uid": "u"}},
                init_containers=[("sidecar", "envoy:1.30")])
    pod["metadata"]["ownerReferences"][0]["controller"] = False
    pod["spec"]["containers"][0]["image"] = "nginx:1.25"  # what the spec asks; the status runs 1.25.3
    pod["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    pod["status"]["initContainerStatuses"] = [{"name": "sidecar", "image": "envoy:1.30", "imageID": "i",
                                               "containerID": "c", "ready": True, "restartCount": 0,
                                               "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]
    pod["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": "2024-01-01T00:00:10Z"}}
    rows = rows_of("pods", pod)
    info = by_family(rows, "kube_pod_info")[0]
    assert (info["created_by_kind"], info["created_by_name"]) == ("", "")  # no controller owner
    assert by_family(rows, "kube_pod_owner")[0]["owner_is_controller"] == "false"
    c = by_family(rows, "kube_pod_container_info")[0]
    assert (c["image_spec"], c["image"]) == ("nginx:1.25", "nginx:1.25.3")
    assert by_family(rows, "kube_pod_init_container_info")[0]["restart_policy"] == "Always"
    started = by_family(rows, "kube_pod_container_state_started")
    assert [(s["container"], s["_value"]) for s in started] == [("app", 1704067210.0)]
    assert FAMILIES["kube_pod_container_state_started"] == ("Start time in unix timestamp for a pod container.", "gauge")
    orphan = rows_of("pods", o.pod("bare", "shop"))
    assert {k: by_family(orphan, "kube_pod_owner")[0][k] for k in ("owner_kind", "owner_name", "owner_is_controller")} \
        == {"owner_kind": "", "owner_name": "", "owner_is_controller": ""}


def test_pod_completion_restart_policy_unschedulable_and_reasons():
    pod = o.pod("job", "shop", containers=[("a", "x:1"), ("b", "y:1")], phase="Succeeded")
    pod["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = "2024-01-01T00:01:00Z"
    pod["status"]["containerStatuses"][1]["state"] = {"waiting": {}}  # still waiting, no reason
    pod["spec"].pop("restartPolicy")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    rows = rows_of("pods", pod)
    assert by_family(rows, "kube_pod_completion_time")[0]["_value"] == 1704067260.0
    assert by_family(rows, "kube_pod_restart_policy")[0]["type"] == ""
    assert by_family(rows, "kube_pod_status_unschedulable")[0]["_value"] == 1
    assert [r["reason"] for r in by_family(rows, "kube_pod_container_status_waiting_reason")] == [""]


def test_resource_units_as_ksm():
    pod = o.pod("gpu", "shop", containers=[{"name": "c", "image": "x", "resources": {"requests": {
        "cpu": "250m", "nvidia.com/gpu": "2", "attachable-volumes-aws-ebs": "1", "hugepages-2Mi": "4Mi",
        "example": "3", "pods": "1"}}}])
    got = {r["resource"]: (r["unit"], r["_value"]) for r in by_family(rows_of("pods", pod), "kube_pod_container_resource_requests")}
    assert got == {"cpu": ("core", 0.25), "nvidia_com_gpu": ("integer", 2.0),
                   "attachable_volumes_aws_ebs": ("byte", 1.0), "hugepages_2Mi": ("byte", 4 * 2 ** 20)}
    node = o.node("n1")
    node["status"]["capacity"] = {"cpu": "4", "pods": "110", "memory": "1500m", "example.com/fpga": "1"}
    got = {r["resource"]: (r["unit"], r["_value"]) for r in by_family(rows_of("nodes", node), "kube_node_status_capacity")}
    assert got == {"cpu": ("core", 4.0), "pods": ("integer", 110.0), "memory": ("byte", 1.5),
                   "example_com_fpga": ("integer", 1.0)}


def test_workload_families_follow_ksm():
    dep = o.deployment("api", "shop")
    dep["status"]["conditions"].append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"})
    cond = by_family(rows_of("deployments", dep), "kube_deployment_status_condition")
    assert [k for k in cond[0] if k != "_value"] == ["namespace", "deployment", "reason", "condition", "status"]
    assert {(c["condition"], c["reason"]) for c in cond} == {
        ("Available", "MinimumReplicasAvailable"), ("Progressing", "NewReplicaSetAvailable"), ("ReplicaFailure", "unknown")}

    job = o.job("j", "shop", active=0)
    assert by_family(rows_of("jobs", job), "kube_job_status_failed") == [{"namespace": "shop", "job_name": "j", "_value": 0.0}]
    job["status"]["failed"] = 3
    job["status"]["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    assert {r["reason"]: r["_value"] for r in by_family(rows_of("jobs", job), "kube_job_status_failed")} == \
        {"BackoffLimitExceeded": 1, "DeadlineExceeded": 0, "Evicted": 0}
    job["status"]["conditions"][0]["reason"] = "PodFailurePolicy"
    assert {r["reason"]: r["_value"] for r in by_family(rows_of("jobs", job), "kube_job_status_failed")} == \
        {"BackoffLimitExceeded": 0, "DeadlineExceeded": 0, "Evicted": 0, "": 3}

    cj = o.cronjob("nightly", "shop", schedule="0 3 * * *")
    cj["status"] = {"lastScheduleTime": "2024-01-01T03:00:00Z", "lastSuccessfulTime": "2024-01-01T03:02:00Z"}
    rows = rows_of("cronjobs", cj)
    assert by_family(rows, "kube_cronjob_info")[0]["timezone"] == "local"
    assert by_family(rows, "kube_cronjob_next_schedule_time")[0]["_value"] == 1704164400.0  # 2024-01-02T03:00Z
    assert by_family(rows, "kube_cronjob_status_last_successful_time")[0]["_value"] == 1704078120.0
    cj["spec"]["timeZone"] = "Asia/Seoul"
    rows = rows_of("cronjobs", cj)
    assert by_family(rows, "kube_cronjob_info")[0]["timezone"] == "Asia/Seoul"
    assert by_family(rows, "kube_cronjob_next_schedule_time")[0]["_value"] == 1704132000.0  # 03:00 KST = 18:00Z
    cj["spec"]["suspend"] = True
    assert not by_family(rows_of("cronjobs", cj), "kube_cronjob_next_schedule_time")

    ss = o.statefulset("db", "shop")
    ss["spec"]["ordinals"] = {"start": 5}
    rows = rows_of("statefulsets", ss)
    assert by_family(rows, "kube_statefulset_ordinals_start")[0]["_value"] == 5
    assert by_family(rows, "kube_statefulset_status_current_revision")[0]["revision"] == ""


def test_service_and_pvc_info_labels():
    svc = o.service("api", "shop")
    svc["spec"]["externalTrafficPolicy"] = "Local"
    info = by_family(rows_of("services", svc), "kube_service_info")[0]
    assert [k for k in info if k != "_value"] == ["namespace", "service", "uid", "cluster_ip", "external_name",
                                                  "load_balancer_ip", "external_traffic_policy"]
    assert info["external_traffic_policy"] == "Local"
    pvc = {"metadata": {"name": "d", "namespace": "shop", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
           "spec": {"storageClassName": "new"}, "status": {}}
    assert by_family(rows_of("persistentvolumeclaims", pvc), "kube_persistentvolumeclaim_info")[0]["storageclass"] == "old"
    pvc = {"metadata": {"name": "e", "namespace": "shop"}, "spec": {}, "status": {}}
    assert by_family(rows_of("persistentvolumeclaims", pvc), "kube_persistentvolumeclaim_info")[0]["storageclass"] == "<none>"


@pytest.mark.parametrize("spec,after,expected", [
    ("*/5 * * * *", "2024-01-01T00:03:10Z", "2024-01-01T00:05:00Z"),
    ("0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
    ("0 9 * * MON-FRI", "2024-01-06T12:00:00Z", "2024-01-08T09:00:00Z"),
    ("0 0 1,15 * 3", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"),  # day-of-month OR day-of-week
    ("@hourly", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z"),
    ("@every 1h30m", "2024-01-01T00:00:00Z", "2024-01-01T01:30:00Z"),
    ("0 0 */1 * 5", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"),  # */1 is still a star: Fridays only
])
def test_cron_next_activation(spec, after, expected):
    from collector.receivers.kube_state_metrics.families.common import ts
    from collector.receivers.kube_state_metrics.families.cron import Schedule
    assert Schedule(spec).next(ts(after)) == ts(expected)


def test_cron_step_without_a_number_is_refused():
    from collector.receivers.kube_state_metrics.families.cron import Schedule
    with pytest.raises(ValueError):
        Schedule("5/ * * * *")
