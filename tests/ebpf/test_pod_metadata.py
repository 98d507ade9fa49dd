"""Pod metadata by container id through the watch layer, against the fake API server."""
from __future__ import annotations

import pytest

from collector.k8s.client import make_api_client
from collector.k8s.fakeapi import FakeAPIServer, objects
from collector.testing import wait_until
from ebpf.pod_metadata import PodIndex, in_cluster, pod_record


def test_pod_record_resolves_deployment_from_replicaset_and_container_ids():
    dep, rs, p1, *_ = objects.deployment_with_pods("web", "shop", replicas=1)
    rec = pod_record(p1)
    assert (rec.namespace, rec.owner_kind, rec.owner_name) == ("shop", "Deployment", "web")
    assert rec.replicaset == rs["metadata"]["name"]
    assert rec.container_ids and all(len(c) == 64 for c in rec.container_ids)
    attrs = dict(rec.resource_attrs())
    assert attrs["k8s.deployment.name"] == "web" and attrs["k8s.pod.name"] == p1["metadata"]["name"]


def test_malformed_pod_objects_are_rejected_not_raised():
    assert pod_record({"metadata": None}) is None
    assert pod_record({"metadata": {"ownerReferences": "bad"}}) is None


def test_in_cluster_autodetect(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert not in_cluster("autodetect") and in_cluster(True) and not in_cluster("false")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert in_cluster("autodetect")


@pytest.fixture
def api(tmp_path):
    srv = FakeAPIServer().start()
    yield srv, make_api_client("kubeConfig", kubeconfig=srv.write_kubeconfig(str(tmp_path / "kc")))
    srv.stop()


def test_index_follows_adds_and_deletes_of_this_nodes_pods(api):
    srv, client = api
    mine = objects.pod("api-1", "shop", node_name="node-a", labels={"app.kubernetes.io/name": "api"})
    other = objects.pod("api-2", "shop", node_name="node-b")
    srv.create(mine)
    srv.create(other)
    idx = PodIndex(client, "node-a")
    try:
        assert idx.start(10)
        cid = mine["status"]["containerStatuses"][0]["containerID"].split("://")[1]
        other_cid = other["status"]["containerStatuses"][0]["containerID"].split("://")[1]
        assert idx.lookup(cid).labels == {"app.kubernetes.io/name": "api"}
        assert idx.lookup(other_cid) is None  # another node's pod is not watched
        srv.delete("pods", "shop", "api-1")
        assert wait_until(lambda: idx.lookup(cid) is None, timeout=10)
    finally:
        idx.stop()
