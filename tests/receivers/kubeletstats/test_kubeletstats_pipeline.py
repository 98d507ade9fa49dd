"""kubeletstats -> k8sattributes -> exporter in a real Service: kubelet pod metrics get workload
metadata from the watch layer (association by k8s.pod.uid), end to end over loopback."""
import time

from collector.config import load_config
from collector.engine import Service
from collector.k8s.fakeapi import FakeAPIServer
from collector.testing import wait_until
from collector import pdata
from tests.fakes import FakeExporter, registry_with_fakes

CONFIG = """
receivers:
  kubeletstats:
    auth_type: serviceAccount
    endpoint: "https://127.0.0.1:${env:KUBELET_PORT}"
    collection_interval: 200ms
    initial_delay: 0s
    metric_groups: [pod]
processors:
  k8sattributes:
    auth_type: kubeConfig
    wait_for_metadata: true
    pod_association:
      - sources: [{from: resource_attribute, name: k8s.pod.uid}]
exporters:
  fakeexp: {}
service:
  pipelines:
    metrics: {receivers: [kubeletstats], processors: [k8sattributes], exporters: [fakeexp]}
"""


def test_kubelet_pod_metrics_are_enriched_with_deployment_names(kubelet, node_pods, tmp_path, monkeypatch):
    with FakeAPIServer() as api:
        for obj in node_pods:
            api.create(obj)
        env = {"KUBELET_PORT": kubelet.endpoint.rsplit(":", 1)[1]}
        monkeypatch.setenv("KUBECONFIG", api.write_kubeconfig(str(tmp_path / "kc")))
        svc = Service(load_config(["yaml:" + CONFIG], [], env, registry=registry_with_fakes()))
        svc.start()
        try:
            exp = FakeExporter.instances["fakeexp"]
            assert wait_until(lambda: len(exp.received) >= 1, 10)
            resources = [pdata.attrs_to_dict(rm.resource.attributes)
                         for rm in exp.received[0].request.resource_metrics]
            web = [r for r in resources if r["k8s.pod.name"].startswith("web-")]
            assert len(web) == 2 and all(r["k8s.deployment.name"] == "web" for r in web)
            assert all(r["k8s.node.name"] == "node-1" for r in resources)
            db = next(r for r in resources if r["k8s.pod.name"] == "db-0")
            assert "k8s.deployment.name" not in db
        finally:
            svc.shutdown(time.monotonic() + 5)
