"""Optional kubeletstats metrics: utilization ratios, system containers, pids, inodes, storage."""
import pytest

from collector import pdata
from collector.k8s.fakeapi import FakeAPIServer, objects
from tests.receivers.kubeletstats.test_kubeletstats_scrape import find, sa_config


def enable(*names):
    return {"metrics": {n: {"enabled": True} for n in names}}


def value(metric):
    points = metric.gauge.data_points if metric.HasField("gauge") else metric.sum.data_points
    p = points[0]
    return p.as_double if p.WhichOneof("value") == "as_double" else p.as_int


def test_limit_and_request_utilization(kubelet, make_receiver, node_pods):
    # the second web pod loses its cpu limit: its pod-level cpu limit ratio must not be emitted
    node_pods[1]["spec"]["containers"][0]["resources"]["limits"].pop("cpu")
    rec, sink, _ = make_receiver(sa_config(kubelet, **enable(
        "k8s.container.cpu_limit_utilization", "k8s.container.cpu_request_utilization",
        "k8s.container.memory_limit_utilization", "k8s.container.memory_request_utilization",
        "k8s.pod.cpu_limit_utilization", "k8s.pod.memory_request_utilization")))
    rec.scrape_once()
    req = sink.payloads[0].request
    # first pod, first container: 0.001 cores used of 500m limit / 100m request; 50MB of 256Mi / 128Mi
    _, c = find(req, k8s__pod__name=node_pods[0]["metadata"]["name"], k8s__container__name="app")
    assert value(c["k8s.container.cpu_limit_utilization"]) == pytest.approx(0.001 / 0.5)
    assert value(c["k8s.container.cpu_request_utilization"]) == pytest.approx(0.001 / 0.1)
    assert value(c["k8s.container.memory_limit_utilization"]) == pytest.approx(50_000_000 / 2**28)
    assert value(c["k8s.container.memory_request_utilization"]) == pytest.approx(50_000_000 / 2**27)
    _, pod0 = find(req, k8s__pod__uid=node_pods[0]["metadata"]["uid"])
    assert value(pod0["k8s.pod.cpu_limit_utilization"]) == pytest.approx(0.003 / 0.5)
    _, pod1 = find(req, k8s__pod__uid=node_pods[1]["metadata"]["uid"])
    assert "k8s.pod.cpu_limit_utilization" not in pod1
    assert value(pod1["k8s.pod.memory_request_utilization"]) == pytest.approx(120_000_000 / 2**27)


def test_node_utilization_uses_capacity_from_the_api_server(kubelet, make_receiver, tmp_path, monkeypatch):
    with FakeAPIServer() as api:
        api.create(objects.node("node-1", cpu="4", memory="16Gi"))
        monkeypatch.setenv("KUBECONFIG", api.write_kubeconfig(str(tmp_path / "kc")))
        rec, sink, _ = make_receiver(sa_config(kubelet, node="node-1", k8s_api_config={"auth_type": "kubeConfig"},
                                               **enable("k8s.pod.cpu.node.utilization", "k8s.container.memory.node.utilization")),
                                     start=True)
        assert rec._nodes.wait_synced(5)
        rec.scrape_once()
        req = sink.payloads[-1].request
        _, pod0 = find(req, k8s__pod__name=kubelet.summary["pods"][0]["podRef"]["name"], k8s__container__name="app")
        assert value(pod0["k8s.container.memory.node.utilization"]) == pytest.approx(50_000_000 / 16 / 2**30)
        _, pod = find(req, k8s__pod__uid=kubelet.summary["pods"][0]["podRef"]["uid"])
        assert value(pod["k8s.pod.cpu.node.utilization"]) == pytest.approx(0.003 / 4)


def test_node_utilization_needs_node_but_not_api_config(kubelet, make_receiver):
    from collector.config import ConfigErrors, decode
    from collector.receivers.kubeletstats.config import Config

    # as otelcol's Validate: `node` is required; without k8s_api_config the ratios are just absent
    with pytest.raises(ConfigErrors, match="receivers.kubeletstats.node.*node setting is required"):
        decode(Config, {"auth_type": "none", **enable("k8s.pod.cpu.node.utilization")}, "receivers.kubeletstats")
    decode(Config, {"auth_type": "none", "node": "node-1", **enable("k8s.pod.cpu.node.utilization")})
    rec, sink, _ = make_receiver(sa_config(kubelet, node="node-1", initial_delay="1m",
                                           **enable("k8s.pod.cpu.node.utilization")),
                                 start=True)
    rec.scrape_once()
    _, pod = find(sink.payloads[-1].request, k8s__pod__uid=kubelet.summary["pods"][0]["podRef"]["uid"])
    assert "k8s.pod.cpu.node.utilization" not in pod and "k8s.pod.cpu.usage" in pod


def test_system_containers_pids_inodes_and_storage(kubelet, make_receiver):
    rec, sink, _ = make_receiver(sa_config(kubelet, metric_groups=["node", "container", "volume"], **enable(
        "k8s.node.system_container.cpu.time", "k8s.node.system_container.memory.working_set",
        "k8s.node.pid.limit", "k8s.node.pid.usage", "k8s.node.filesystem.inode.count",
        "k8s.node.filesystem.inode.free", "k8s.container.ephemeral_storage.usage", "k8s.pod.volume.usage")))
    rec.scrape_once()
    req = sink.payloads[0].request
    attrs, sc = find(req, k8s__node__system_container__name="kubelet")
    assert attrs == {"k8s.node.name": "node-1", "k8s.node.system_container.name": "kubelet"}
    assert value(sc["k8s.node.system_container.cpu.time"]) == pytest.approx(3000.0)
    assert value(sc["k8s.node.system_container.memory.working_set"]) == 72_000_000
    _, node = find(req, k8s__node__name="node-1")
    assert value(node["k8s.node.pid.limit"]) == 4_194_304 and value(node["k8s.node.pid.usage"]) == 812
    assert value(node["k8s.node.filesystem.inode.count"]) == 5_242_880
    _, c = find(req, k8s__pod__name="db-0", k8s__container__name="postgres")
    eph = {pdata.get_attr(p.attributes, "fs.type"): p.as_int for p in c["k8s.container.ephemeral_storage.usage"].sum.data_points}
    assert eph == {"rootfs": 4096 * 3, "logs": 8192 * 3}
    assert c["k8s.container.ephemeral_storage.usage"].sum.is_monotonic is False
    _, vol = find(req, k8s__volume__name="data")
    assert value(vol["k8s.pod.volume.usage"]) == 3_000_000
