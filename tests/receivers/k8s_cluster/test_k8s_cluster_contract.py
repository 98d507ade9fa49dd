"""k8s_cluster details checked against otelcol-contrib's k8sclusterreceiver (metadata.yaml and
the collection code): optional metrics, quota units, node runtime attributes, config keys."""
from collector.config import decode
from collector.k8s.fakeapi import objects as o
from collector.receivers.k8s_cluster.config import Config
from collector.receivers.k8s_cluster.metadata import METRICS, SUM_METRICS
from collector.receivers.k8s_cluster.metric_builder import attrs_dict, points
from collector.receivers.k8s_cluster import object_metrics as om
from tests.receivers.k8s_cluster.test_k8s_cluster_metrics import by_name, emit, flat


def enable(*names):
    return decode(Config, {"metrics": {n: {"enabled": True} for n in names}})


def metrics_of(req):
    """{(resource container/pod name, metric name): metric}"""
    out = {}
    for rm in req.resource_metrics:
        res = attrs_dict(rm.resource.attributes)
        key = res.get("k8s.container.name") or res.get("k8s.pod.name") or res.get("k8s.node.name")
        for m in rm.scope_metrics[0].metrics:
            assert (key, m.name) not in out, f"{m.name} appears twice on one resource"
            out[(key, m.name)] = m
    return out


def test_optional_metrics_are_known_and_off_by_default():
    for name in ("k8s.pod.status_reason", "k8s.node.condition", "k8s.container.status.state",
                 "k8s.container.status.reason"):
        assert METRICS[name][3] is False
        assert name not in Config().enabled_metrics()
    assert METRICS["k8s.node.condition"][1] == "{condition}"
    assert METRICS["k8s.container.status.state"][1] == "{container}"
    decode(Config, {"metrics": {"k8s.node.condition": {"enabled": True}}})  # not an unknown key


def test_pod_status_reason_is_unknown_without_a_reason():
    cfg = enable("k8s.pod.status_reason")
    evicted = o.pod("evicted", phase="Failed")
    evicted["status"]["reason"] = "Evicted"
    rows = {r[0]["k8s.pod.name"]: r[3] for r in flat(emit(om.pod_metrics, o.pod("ok"), evicted, cfg=cfg)[0])
            if r[1] == "k8s.pod.status_reason"}
    assert rows == {"ok": 6, "evicted": 1}


def test_container_status_state_and_reason():
    cfg = enable("k8s.container.status.state", "k8s.container.status.reason")
    failed = o.pod("failed", phase="Failed")   # terminated with reason Error
    m = metrics_of(emit(om.pod_metrics, failed, cfg=cfg)[0])
    state = m[("app", "k8s.container.status.state")]
    assert state.WhichOneof("data") == "sum" and not state.sum.is_monotonic
    assert state.sum.aggregation_temporality == 2  # cumulative
    got = {attrs_dict(p.attributes)["k8s.container.status.state"]: p.as_int
           for p in points(m[("app", "k8s.container.status.state")])}
    assert got == {"running": 0, "waiting": 0, "terminated": 1}
    reasons = {attrs_dict(p.attributes)["k8s.container.status.reason"]: p.as_int
               for p in points(m[("app", "k8s.container.status.reason")])}
    assert len(reasons) == 9 and reasons["Error"] == 1 and sum(reasons.values()) == 1
    m = metrics_of(emit(om.pod_metrics, o.pod("running"), cfg=cfg)[0])
    got = {attrs_dict(p.attributes)["k8s.container.status.state"]: p.as_int
           for p in points(m[("app", "k8s.container.status.state")])}
    assert got == {"running": 1, "waiting": 0, "terminated": 0}
    assert not any(p.as_int for p in points(m[("app", "k8s.container.status.reason")]))
    assert SUM_METRICS == {"k8s.container.status.state", "k8s.container.status.reason"}


def test_status_without_container_id_gives_spec_metrics_only():
    pod = o.pod("p", phase="Pending")   # waiting, ContainerCreating: no containerID yet
    rows = by_name(flat(emit(om.pod_metrics, pod)[0]))
    assert "k8s.container.cpu_request" in rows
    assert "k8s.container.restarts" not in rows and "k8s.container.ready" not in rows


def test_quota_points_share_one_metric_and_only_dot_cpu_is_millicores():
    rq = {"metadata": {"name": "q", "namespace": "shop", "uid": "u1"},
          "status": {"hard": {"cpu": "2", "limits.cpu": "3", "pods": "10"},
                     "used": {"cpu": "250m", "requests.cpu": "250m"}}}
    req = emit(om.resourcequota_metrics, rq)[0]
    ms = req.resource_metrics[0].scope_metrics[0].metrics
    assert [m.name for m in ms] == ["k8s.resource_quota.hard_limit", "k8s.resource_quota.used"]
    hard = {attrs_dict(p.attributes)["resource"]: p.as_int for p in ms[0].gauge.data_points}
    used = {attrs_dict(p.attributes)["resource"]: p.as_int for p in ms[1].gauge.data_points}
    assert hard == {"cpu": 2, "limits.cpu": 3000, "pods": 10}
    assert used == {"cpu": 1, "requests.cpu": 250}  # a bare "cpu" is Value(), rounded up


def test_node_runtime_attributes_and_condition_metric():
    cfg = decode(Config, {"metrics": {"k8s.node.condition": {"enabled": True}},
                          "resource_attributes": {"container.runtime": {"enabled": True},
                                                  "container.runtime.version": {"enabled": True}}})
    node = o.node("node-1")
    req = emit(om.node_metrics, node, cfg=cfg, conditions=["Ready"], allocatable=[])[0]
    rm = req.resource_metrics[0]
    res = attrs_dict(rm.resource.attributes)
    assert res["container.runtime"] == "containerd" and res["container.runtime.version"] == "1.7.13"
    cond = next(m for m in rm.scope_metrics[0].metrics if m.name == "k8s.node.condition")
    got = {attrs_dict(p.attributes)["condition"]: p.as_int for p in cond.gauge.data_points}
    assert got["Ready"] == 1 and cond.unit == "{condition}"
    # off by default: neither the attributes nor the metric
    req = emit(om.node_metrics, node, conditions=["Ready"], allocatable=[])[0]
    rm = req.resource_metrics[0]
    assert "container.runtime" not in attrs_dict(rm.resource.attributes)
    assert [m.name for m in rm.scope_metrics[0].metrics] == ["k8s.node.condition_ready"]


def test_metadata_keys_of_otelcol_are_accepted():
    cfg = decode(Config, {"metadata_exporters": ["signalfx"], "metadata_collection_interval": "10m"})
    assert cfg.metadata_exporters == ["signalfx"] and cfg.metadata_collection_interval == 600.0
    assert Config().metadata_collection_interval == 300.0

