"""Each k8s_cluster metric family from realistic objects (the fake API server's factories)."""
import pytest

from collector.config import ConfigErrors, decode
from collector.k8s.fakeapi import objects as o
from collector.pdata import new_request
from collector.receivers.k8s_cluster import object_metrics as om
from collector.receivers.k8s_cluster.config import Config
from collector.receivers.k8s_cluster.metadata import SCOPE_NAME
from collector.receivers.k8s_cluster.metric_builder import attrs_dict
from collector.receivers.k8s_cluster.quantity import milli_value, value


def emit(fn, *objs, cfg=None, **kw):
    cfg = cfg or Config()
    req = new_request("metrics")
    em = om.Emitter(req, 1_700_000_000_000_000_000, cfg.enabled_metrics(), cfg.enabled_resource_attributes())
    for obj in objs:
        fn(em, om.slim(obj), **kw)
    return req, em


def flat(req):
    """[(resource attrs, metric name, unit, value, point attrs)]"""
    out = []
    for rm in req.resource_metrics:
        res = attrs_dict(rm.resource.attributes)
        for sm in rm.scope_metrics:
            assert sm.scope.name == SCOPE_NAME
            for m in sm.metrics:
                for p in m.gauge.data_points:
                    v = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                    out.append((res, m.name, m.unit, v, attrs_dict(p.attributes)))
    return out


def by_name(rows):
    return {name: (res, unit, v, pa) for res, name, unit, v, pa in rows}


def test_quantities_round_up_like_apimachinery():
    assert milli_value("100m") == 100
    assert milli_value("1.5") == 1500
    assert value("128Mi") == 128 * 2 ** 20
    assert value("1k") == 1000
    assert value("1e3") == 1000
    assert value("0.5") == 1
    with pytest.raises(ValueError):
        value("12 apples")


@pytest.mark.parametrize("huge", ["1e400", "1e999999999", 10 ** 400, 1e400, "9Ei", 2 ** 63])
def test_quantities_beyond_int64_are_invalid_as_in_apimachinery(huge):
    with pytest.raises(ValueError):
        milli_value(huge)
    pod = o.pod("p")
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = huge
    req, em = emit(om.pod_metrics, pod)  # skipped and counted, not the end of the collection
    assert "k8s.container.memory_request" in {r[1] for r in flat(req)} and len(em.errors) == 1


def test_pod_phase_and_container_metrics_with_resource_attributes():
    pod = o.pod("web-1", "shop", node_name="node-7", restart_count=3)
    rows = flat(emit(om.pod_metrics, pod)[0])
    pod_rows = [r for r in rows if r[1] == "k8s.pod.phase"]
    assert len(pod_rows) == 1
    res, _, unit, v, _ = pod_rows[0]
    assert v == 2 and unit == ""
    assert res == {"k8s.namespace.name": "shop", "k8s.node.name": "node-7", "k8s.pod.name": "web-1",
                   "k8s.pod.uid": pod["metadata"]["uid"]}
    c = by_name([r for r in rows if r[1].startswith("k8s.container.")])
    assert c["k8s.container.restarts"][2] == 3 and c["k8s.container.restarts"][1] == "{restart}"
    assert c["k8s.container.ready"][2] == 1
    assert c["k8s.container.cpu_request"][2] == pytest.approx(0.1)
    assert c["k8s.container.cpu_limit"][2] == pytest.approx(0.5)
    assert c["k8s.container.memory_request"][2] == 128 * 2 ** 20
    assert c["k8s.container.memory_limit"][1] == "By"
    res = c["k8s.container.ready"][0]
    assert res["k8s.container.name"] == "app"
    assert res["container.image.name"] == "nginx" and res["container.image.tag"] == "1.25.3"
    assert len(res["container.id"]) == 64 and "://" not in res["container.id"]


@pytest.mark.parametrize("phase,value", [("Pending", 1), ("Running", 2), ("Succeeded", 3),
                                         ("Failed", 4), ("Unknown", 5)])
def test_pod_phase_values(phase, value):
    rows = by_name(flat(emit(om.pod_metrics, o.pod("p", phase=phase))[0]))
    assert rows["k8s.pod.phase"][2] == value


def test_pending_pod_without_status_has_spec_metrics_but_no_restarts():
    pod = o.pod("p", phase="Pending")
    pod["status"].pop("containerStatuses", None)
    rows = by_name(flat(emit(om.pod_metrics, pod)[0]))
    assert "k8s.container.cpu_request" in rows
    assert "k8s.container.restarts" not in rows
    assert "container.id" not in rows["k8s.container.cpu_request"][0]


def test_workloads():
    dep, rs, *_ = o.deployment_with_pods("api", "shop", replicas=3)
    dep["status"]["availableReplicas"] = 2
    rows = by_name(flat(emit(om.deployment_metrics, dep)[0]))
    assert rows["k8s.deployment.desired"][2] == 3 and rows["k8s.deployment.available"][2] == 2
    assert rows["k8s.deployment.desired"][0] == {"k8s.namespace.name": "shop", "k8s.deployment.name": "api",
                                                 "k8s.deployment.uid": dep["metadata"]["uid"]}
    rows = by_name(flat(emit(om.replicaset_metrics, rs)[0]))
    assert rows["k8s.replicaset.desired"][2] == 3 and rows["k8s.replicaset.available"][2] == 3
    ds = o.daemonset("agent", nodes=4)
    ds["status"]["numberMisscheduled"] = 1
    rows = by_name(flat(emit(om.daemonset_metrics, ds)[0]))
    assert (rows["k8s.daemonset.current_scheduled_nodes"][2], rows["k8s.daemonset.desired_scheduled_nodes"][2],
            rows["k8s.daemonset.misscheduled_nodes"][2], rows["k8s.daemonset.ready_nodes"][2]) == (4, 4, 1, 4)
    ss = o.statefulset("db", replicas=3)
    ss["status"]["readyReplicas"] = 2
    rows = by_name(flat(emit(om.statefulset_metrics, ss)[0]))
    assert (rows["k8s.statefulset.desired_pods"][2], rows["k8s.statefulset.ready_pods"][2],
            rows["k8s.statefulset.current_pods"][2], rows["k8s.statefulset.updated_pods"][2]) == (3, 2, 3, 3)


def test_jobs_cronjobs_hpa_namespaces():
    cj = o.cronjob("nightly")
    job = o.job(cronjob=cj, succeeded=2, active=1)
    job["status"]["failed"] = 1
    rows = by_name(flat(emit(om.job_metrics, job)[0]))
    assert (rows["k8s.job.active_pods"][2], rows["k8s.job.successful_pods"][2], rows["k8s.job.failed_pods"][2],
            rows["k8s.job.desired_successful_pods"][2], rows["k8s.job.max_parallel_pods"][2]) == (1, 2, 1, 1, 1)
    cj["status"]["active"] = [{"name": "a"}, {"name": "b"}]
    rows = by_name(flat(emit(om.cronjob_metrics, cj)[0]))
    assert rows["k8s.cronjob.active_jobs"][2] == 2 and rows["k8s.cronjob.active_jobs"][1] == "{job}"
    rows = by_name(flat(emit(om.hpa_metrics, o.hpa("api", min_replicas=2, max_replicas=9, current=4))[0]))
    assert (rows["k8s.hpa.min_replicas"][2], rows["k8s.hpa.max_replicas"][2], rows["k8s.hpa.current_replicas"][2],
            rows["k8s.hpa.desired_replicas"][2]) == (2, 9, 4, 4)
    ns = o.namespace("shop")
    term = o.namespace("old")
    term["status"]["phase"] = "Terminating"
    rows = flat(emit(om.namespace_metrics, ns, term)[0])
    assert [(r[0]["k8s.namespace.name"], r[3]) for r in rows] == [("shop", 1), ("old", 0)]


def test_node_conditions_and_allocatable_per_config():
    node = o.node("node-1", cpu="3500m", memory="8Gi")
    rows = by_name(flat(emit(om.node_metrics, node, conditions=["Ready", "MemoryPressure", "OutOfDisk"],
                             allocatable=["cpu", "memory", "pods", "ephemeral-storage", "nvidia.com/gpu"])[0]))
    assert rows["k8s.node.condition_ready"][2] == 1
    assert rows["k8s.node.condition_memory_pressure"][2] == 0
    assert rows["k8s.node.condition_out_of_disk"][2] == -1  # not reported by the node: unknown
    assert rows["k8s.node.allocatable_cpu"][2] == pytest.approx(3.5) and rows["k8s.node.allocatable_cpu"][1] == "{cpu}"
    assert rows["k8s.node.allocatable_memory"][2] == 8 * 2 ** 30
    assert rows["k8s.node.allocatable_pods"][2] == 110 and rows["k8s.node.allocatable_pods"][1] == "{pod}"
    assert rows["k8s.node.allocatable_ephemeral_storage"][1] == "By"
    assert not any("gpu" in n for n in rows)
    assert rows["k8s.node.condition_ready"][0] == {"k8s.node.name": "node-1", "k8s.node.uid": node["metadata"]["uid"]}


def test_resource_quota_cpu_in_millicores():
    rq = {"apiVersion": "v1", "kind": "ResourceQuota",
          "metadata": {"name": "q", "namespace": "shop", "uid": "u1"},
          "status": {"hard": {"requests.cpu": "2", "pods": "10", "limits.memory": "4Gi"},
                     "used": {"requests.cpu": "250m", "pods": "3", "limits.memory": "1Gi"}}}
    rows = flat(emit(om.resourcequota_metrics, rq)[0])
    got = {(r[1], r[4]["resource"]): r[3] for r in rows}
    assert got[("k8s.resource_quota.hard_limit", "requests.cpu")] == 2000
    assert got[("k8s.resource_quota.used", "requests.cpu")] == 250
    assert got[("k8s.resource_quota.used", "pods")] == 3
    assert got[("k8s.resource_quota.hard_limit", "limits.memory")] == 4 * 2 ** 30


def test_bad_quantity_is_skipped_and_counted():
    pod = o.pod("p")
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "lots"
    req, em = emit(om.pod_metrics, pod)
    names = {r[1] for r in flat(req)}
    assert "k8s.container.cpu_request" not in names and "k8s.container.memory_request" in names
    assert len(em.errors) == 1


def test_disabled_metric_and_enabled_optional_resource_attribute():
    cfg = decode(Config, {"metrics": {"k8s.pod.phase": {"enabled": False}}})
    rows = flat(emit(om.pod_metrics, o.pod("p"), cfg=cfg)[0])
    assert "k8s.pod.phase" not in {r[1] for r in rows} and rows
    assert "k8s.pod.qos_class" not in by_name(flat(emit(om.pod_metrics, o.pod("p"))[0]))["k8s.pod.phase"][0]
    cfg = decode(Config, {"resource_attributes": {"k8s.pod.qos_class": {"enabled": True}}})
    rows = by_name(flat(emit(om.pod_metrics, o.pod("p"), cfg=cfg)[0]))
    assert rows["k8s.pod.phase"][0]["k8s.pod.qos_class"] == "Burstable"


def test_config_defaults_and_unknown_keys():
    cfg = decode(Config, {})
    assert cfg.collection_interval == 10.0 and cfg.node_conditions_to_report == ["Ready"]
    assert cfg.allocatable_types_to_report == [] and cfg.auth_type == "serviceAccount"
    with pytest.raises(ConfigErrors, match="bogus"):
        decode(Config, {"bogus": 1}, "receivers.k8s_cluster")
    with pytest.raises(ConfigErrors, match="metrics.k8s.nope"):
        decode(Config, {"metrics": {"k8s.nope": {"enabled": True}}})
