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
