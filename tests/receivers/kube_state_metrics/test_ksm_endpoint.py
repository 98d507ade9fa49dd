"""The skuber-ksm role end to end: kube_state_metrics receiver -> prometheus exporter -> /metrics,
parsed by prometheus_client and checked family by family against realistic objects."""
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.config import ConfigErrors, decode
from collector.exporters.prometheus import factory as exporter_factory
from collector.exporters.prometheus.config import Config as ExporterConfig
from collector.k8s.fakeapi import objects as o
from collector.receivers.kube_state_metrics import factory
from collector.receivers.kube_state_metrics.config import Config
from collector.testing import free_port, wait_until


class ExporterConsumer:
    """Feeds the exporter directly: the pipeline between them is the engine's business."""

    def __init__(self, exporter):
        self.exporter = exporter

    def consume(self, payload):
        self.exporter.consume(payload)


@pytest.fixture
def ksm(fake_api, make_settings):
    started = []

    def start(**cfg):
        port = free_port()
        exp = exporter_factory.create(make_settings("exporter", "prometheus"),
                                      decode(ExporterConfig, {"endpoint": f"127.0.0.1:{port}"}), frozenset({"metrics"}))
        exp.start(None)
        rcv = factory.create(make_settings("receiver", "kube_state_metrics"),
                             decode(Config, {"auth_type": "kubeConfig", "collection_interval": "200ms", **cfg}),
                             {"metrics": ExporterConsumer(exp)})
        rcv.start(None)
        started.append((rcv, exp))

        def scrape():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        return rcv, scrape
    yield start
    for rcv, exp in started:
        rcv.shutdown(time.monotonic() + 5)
        exp.shutdown(time.monotonic() + 5)


def samples(fams, name, **match):
    fam = fams[name]
    return [s for s in fam.samples if all(s.labels.get(k) == v for k, v in match.items())]


def value(fams, name, **match):
    got = samples(fams, name, **match)
    assert len(got) == 1, (name, match, got)
    return got[0].value


def seed(srv):
    srv.create(o.namespace("shop", labels={"team": "payments"}))
    node = o.node("node-1", cpu="4", memory="16Gi")
    node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    srv.create(node)
    dep, rs, *pods = o.deployment_with_pods("api", "shop", replicas=2)
    pods[0]["status"]["containerStatuses"][0]["restartCount"] = 4
    pods[1]["status"]["phase"] = "Pending"
    pods[1]["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    for obj in (dep, rs, *pods):
        srv.create(obj)
    srv.create(o.daemonset("agent"))
    srv.create(o.statefulset("db", "shop", replicas=3))
    cj = o.cronjob("nightly", "shop")
    srv.create(cj)
    srv.create(o.job(cronjob=cj, namespace="shop", succeeded=1, active=0))
    srv.create(o.service("api", "shop", cluster_ip="10.96.0.20"))
    srv.create(o.hpa("api", "shop", target=dep, min_replicas=2, max_replicas=6, current=2))
    srv.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data-db-0", "namespace": "shop", "uid": "pvc-1",
                             "creationTimestamp": "2024-01-01T00:00:00Z"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                         "volumeName": "pv-1", "volumeMode": "Filesystem",
                         "resources": {"requests": {"storage": "10Gi"}}},
                "status": {"phase": "Bound"}})
    return dep, rs, pods


def test_every_resource_family_by_family(fake_api, ksm):
    dep, rs, pods = seed(fake_api)
    _, scrape = ksm(metric_labels_allowlist={"namespaces": ["team"], "pods": ["*"]})
    assert wait_until(lambda: "kube_persistentvolumeclaim_info" in scrape() and "kube_pod_info" in scrape(), 15)
    fams = scrape()
    p0, p1 = pods[0]["metadata"]["name"], pods[1]["metadata"]["name"]
    # pods
    assert {s.labels["phase"]: s.value for s in samples(fams, "kube_pod_status_phase", pod=p0)} == \
        {"Pending": 0, "Succeeded": 0, "Failed": 0, "Unknown": 0, "Running": 1}
    assert value(fams, "kube_pod_status_phase", pod=p1, phase="Pending") == 1
    info = samples(fams, "kube_pod_info", pod=p0)[0].labels
    assert info["node"] == "node-1" and info["created_by_kind"] == "ReplicaSet" and info["uid"] == pods[0]["metadata"]["uid"]
    assert fams["kube_pod_container_status_restarts"].type == "counter"
    assert value(fams, "kube_pod_container_status_restarts", pod=p0, container="app") == 4
    assert value(fams, "kube_pod_container_status_waiting_reason", pod=p1, reason="ImagePullBackOff") == 1
    assert value(fams, "kube_pod_container_resource_requests", pod=p0, resource="cpu", unit="core") == 0.1
    assert value(fams, "kube_pod_container_resource_limits", pod=p0, resource="memory", unit="byte") == 256 * 2 ** 20
    assert value(fams, "kube_pod_owner", pod=p0, owner_kind="ReplicaSet") == 1
    assert samples(fams, "kube_pod_labels", pod=p0)[0].labels["label_app"] == "api"
    # deployments, replicasets, daemonsets, statefulsets
    assert value(fams, "kube_deployment_status_replicas_available", deployment="api") == 2
    assert value(fams, "kube_deployment_spec_replicas", deployment="api") == 2
    assert value(fams, "kube_deployment_status_condition", deployment="api", condition="Available", status="true") == 1
    assert value(fams, "kube_deployment_spec_strategy_rollingupdate_max_surge", deployment="api") == 1
    assert value(fams, "kube_replicaset_owner", replicaset=rs["metadata"]["name"], owner_name="api") == 1
    assert value(fams, "kube_daemonset_status_number_ready", daemonset="agent") == 1
    assert value(fams, "kube_statefulset_replicas", statefulset="db") == 3
    # jobs, cronjobs, hpa
    assert value(fams, "kube_job_status_succeeded", namespace="shop") == 1
    assert value(fams, "kube_cronjob_info", cronjob="nightly", schedule="*/5 * * * *") == 1
    assert value(fams, "kube_horizontalpodautoscaler_spec_max_replicas", horizontalpodautoscaler="api") == 6
    assert value(fams, "kube_horizontalpodautoscaler_info", scaletargetref_kind="Deployment", scaletargetref_name="api") == 1
    # nodes, namespaces, services, pvcs
    assert value(fams, "kube_node_status_condition", node="node-1", condition="Ready", status="true") == 1
    assert value(fams, "kube_node_status_condition", node="node-1", condition="Ready", status="false") == 0
    assert value(fams, "kube_node_status_allocatable", node="node-1", resource="memory", unit="byte") == 16 * 2 ** 30
    assert value(fams, "kube_node_status_capacity", node="node-1", resource="cpu", unit="core") == 4
    assert value(fams, "kube_node_spec_taint", node="node-1", key="dedicated", effect="NoSchedule") == 1
    assert samples(fams, "kube_node_info", node="node-1")[0].labels["kubelet_version"] == "v1.30.0"
    assert value(fams, "kube_namespace_status_phase", namespace="shop", phase="Active") == 1
    assert samples(fams, "kube_namespace_labels", namespace="shop")[0].labels["label_team"] == "payments"
    assert value(fams, "kube_service_info", service="api", cluster_ip="10.96.0.20") == 1
    assert value(fams, "kube_service_spec_type", service="api", type="ClusterIP") == 1
    assert value(fams, "kube_persistentvolumeclaim_status_phase", persistentvolumeclaim="data-db-0", phase="Bound") == 1
    assert value(fams, "kube_persistentvolumeclaim_resource_requests_storage_bytes", persistentvolumeclaim="data-db-0") == 10 * 2 ** 30
    assert value(fams, "kube_persistentvolumeclaim_info", storageclass="standard") == 1
    # no target or scope labels leak onto KSM series
    assert set(samples(fams, "kube_deployment_spec_replicas")[0].labels) == {"namespace", "deployment"}


def test_resource_selection_and_deletion(fake_api, ksm):
    _, _, pods = seed(fake_api)
    rcv, scrape = ksm(resources=["pods", "nodes"])
    assert wait_until(lambda: "kube_pod_info" in scrape(), 15)
    fams = scrape()
    assert "kube_node_info" in fams and "kube_deployment_spec_replicas" not in fams
    gone = pods[0]["metadata"]["name"]
    fake_api.delete("pods", "shop", gone)
    assert wait_until(lambda: not samples(scrape(), "kube_pod_info", pod=gone), 10)
    assert samples(scrape(), "kube_pod_info", pod=pods[1]["metadata"]["name"])


def test_changed_label_value_drops_the_old_series(fake_api, ksm):
    pod = o.pod("web", "shop", phase="Pending")
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ContainerCreating"}}
    created = fake_api.create(pod)
    rcv, scrape = ksm(resources=["pods"])
    assert wait_until(lambda: "kube_pod_container_status_waiting_reason" in scrape(), 15)
    created["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    fake_api.update(created)
    assert wait_until(lambda: [s.labels["reason"] for s in samples(scrape(), "kube_pod_container_status_waiting_reason")]
                      == ["CrashLoopBackOff"], 10)


def test_rendering_follows_changes_not_emissions_or_scrapes(fake_api, ksm):
    for i in range(5):
        fake_api.create(o.pod(f"p{i}", "shop"))
    rcv, scrape = ksm(resources=["pods"])
    assert wait_until(lambda: rcv.emissions >= 2, 15)
    renders = rcv.renders
    assert renders == 5
    for _ in range(5):
        scrape()
    time.sleep(0.5)  # more emissions happen
    assert rcv.renders == renders
    fake_api.create(o.pod("p9", "shop"))
    assert wait_until(lambda: rcv.renders == renders + 1, 10)


def test_config_rejects_unknown_resources():
    with pytest.raises(ConfigErrors, match="unknown resource"):
        decode(Config, {"resources": ["pods", "widgets"]})
    with pytest.raises(ConfigErrors, match="metric_labels_allowlist.gadgets"):
        decode(Config, {"metric_labels_allowlist": {"gadgets": ["x"]}})
    assert "pods" in decode(Config, {}).selected_resources()
