"""kubeletstats against a fake kubelet serving a realistic summary over HTTPS."""
import os
import time

import pytest

from collector import pdata
from collector.k8s.fakeapi import FakeAPIServer
from collector.k8s.fakeapi.certs import make_self_signed
from collector.k8s.fakeapi.kubelet import FakeKubelet
from collector.testing import wait_until
from tests.receivers.kubeletstats.conftest import Sink

DEFAULT_NODE = {"k8s.node.cpu.time", "k8s.node.cpu.usage", "k8s.node.filesystem.available",
                "k8s.node.filesystem.capacity", "k8s.node.filesystem.usage", "k8s.node.memory.available",
                "k8s.node.memory.major_page_faults", "k8s.node.memory.page_faults", "k8s.node.memory.rss",
                "k8s.node.memory.usage", "k8s.node.memory.working_set", "k8s.node.network.errors",
                "k8s.node.network.io"}
DEFAULT_POD = {n.replace("k8s.node.", "k8s.pod.") for n in DEFAULT_NODE}
DEFAULT_CONTAINER = {n.replace("k8s.node.", "container.") for n in DEFAULT_NODE if ".network." not in n}


def sa_config(kubelet, **extra):
    return {"auth_type": "serviceAccount", "endpoint": kubelet.endpoint, **extra}


def by_resource(request):
    """{frozenset(resource attrs): {metric name: metric}}"""
    out = {}
    for rm in request.resource_metrics:
        attrs = pdata.attrs_to_dict(rm.resource.attributes)
        out[frozenset(attrs.items())] = {m.name: m for sm in rm.scope_metrics for m in sm.metrics}
    return out


def find(request, **attrs):
    for key, metrics in by_resource(request).items():
        if all((k.replace("__", "."), v) in key for k, v in attrs.items()):
            return dict(key), metrics
    raise AssertionError(f"no resource with {attrs}")


def test_default_metrics_and_resource_attributes(kubelet, make_receiver, node_pods):
    rec, sink, tel = make_receiver(sa_config(kubelet))
    n = rec.scrape_once()
    assert n > 0 and len(sink.payloads) == 1
    req = sink.payloads[0].request
    node_attrs, node = find(req, k8s__node__name="node-1")
    assert node_attrs == {"k8s.node.name": "node-1"}
    assert set(node) == DEFAULT_NODE
    pod = node_pods[0]
    pod_attrs, pod_metrics = find(req, k8s__pod__uid=pod["metadata"]["uid"])
    assert pod_attrs == {"k8s.pod.uid": pod["metadata"]["uid"], "k8s.pod.name": pod["metadata"]["name"],
                         "k8s.namespace.name": "shop"}
    assert set(pod_metrics) == DEFAULT_POD
    c_attrs, c_metrics = find(req, k8s__pod__name="db-0", k8s__container__name="exporter")
    assert c_attrs["k8s.namespace.name"] == "shop" and set(c_metrics) == DEFAULT_CONTAINER
    # 1 node + 3 pods + 4 containers, each resource with its scope
    assert len(req.resource_metrics) == 8
    assert req.resource_metrics[0].scope_metrics[0].scope.name.endswith("receiver/kubeletstatsreceiver")
    assert tel.value("otelcol_receiver_accepted_metric_points_total",
                     {"receiver": "kubeletstats", "transport": "http"}) == n


def test_values_units_and_types_follow_the_summary(kubelet, make_receiver):
    rec, sink, _ = make_receiver(sa_config(kubelet))
    rec.scrape_once()
    req = sink.payloads[0].request
    summary_node = kubelet.summary["node"]
    _, node = find(req, k8s__node__name="node-1")
    cpu_time = node["k8s.node.cpu.time"]
    assert cpu_time.unit == "s" and cpu_time.sum.is_monotonic and cpu_time.sum.aggregation_temporality == 2
    assert cpu_time.sum.data_points[0].as_double == pytest.approx(123_456.5)
    assert cpu_time.sum.data_points[0].start_time_unix_nano > 0
    assert node["k8s.node.cpu.usage"].unit == "{cpu}"
    assert node["k8s.node.cpu.usage"].gauge.data_points[0].as_double == pytest.approx(0.35)
    assert node["k8s.node.memory.working_set"].gauge.data_points[0].as_int == summary_node["memory"]["workingSetBytes"]
    assert node["k8s.node.filesystem.capacity"].gauge.data_points[0].as_int == summary_node["fs"]["capacityBytes"]
    io = node["k8s.node.network.io"].sum.data_points
    got = {(pdata.get_attr(p.attributes, "interface"), pdata.get_attr(p.attributes, "direction")): p.as_int for p in io}
    assert got == {("eth0", "receive"): 9_000_000_000, ("eth0", "transmit"): 4_000_000_000}


def test_metric_groups_switches_and_volumes(kubelet, make_receiver):
    rec, sink, _ = make_receiver(sa_config(kubelet, metric_groups=["node", "volume"],
                                           extra_metadata_labels=["k8s.volume.type"],
                                           metrics={"k8s.node.cpu.usage": {"enabled": False},
                                                    "k8s.node.uptime": {"enabled": True}},
                                           collect_all_network_interfaces={"node": True}))
    rec.scrape_once()
    req = sink.payloads[0].request
    _, node = find(req, k8s__node__name="node-1")
    assert "k8s.node.cpu.usage" not in node and node["k8s.node.uptime"].sum.data_points[0].as_int >= 86_399
    assert len(node["k8s.node.network.io"].sum.data_points) == 4  # eth0 and tunl0, both directions
    attrs, vol = find(req, k8s__volume__name="data")
    assert attrs["k8s.persistentvolumeclaim.name"] == "data-db-0"
    assert attrs["k8s.volume.type"] == "persistentVolumeClaim"
    assert set(vol) == {"k8s.volume.available", "k8s.volume.capacity", "k8s.volume.inodes",
                        "k8s.volume.inodes.free", "k8s.volume.inodes.used"}
    assert not any(("k8s.container.name", "postgres") in k for k in by_resource(req))


def test_container_id_from_the_kubelet_pods_endpoint(kubelet, make_receiver, node_pods):
    rec, sink, _ = make_receiver(sa_config(kubelet, extra_metadata_labels=["container.id"]))
    rec.scrape_once()
    attrs, _ = find(sink.payloads[0].request, k8s__pod__name="db-0", k8s__container__name="postgres")
    assert attrs["container.id"] == node_pods[2]["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    assert "/pods" in kubelet.requests


def test_container_missing_from_the_pods_endpoint_is_skipped(kubelet, make_receiver, node_pods):
    # a pod the summary reports but /pods does not list (yet): upstream's "not found in the
    # fetched metadata" skips its container metrics rather than emitting them without container.id
    kubelet.pods = node_pods[:2]
    rec, sink, _ = make_receiver(sa_config(kubelet, extra_metadata_labels=["container.id"]))
    rec.scrape_once()
    keys = by_resource(sink.payloads[0].request)
    assert not any(("k8s.container.name", "postgres") in k for k in keys)
    assert any(("k8s.pod.name", "db-0") in k for k in keys)  # pod metrics need no /pods entry
    attrs, _ = find(sink.payloads[0].request, k8s__pod__name=node_pods[0]["metadata"]["name"],
                    k8s__container__name="app")
    assert attrs["container.id"]


def test_endpoint_from_the_node_ip_env_var(kubelet, make_receiver, monkeypatch):
    from collector.config.loader import expand_env

    monkeypatch.setenv("K8S_NODE_IP", "127.0.0.1")
    port = kubelet.endpoint.rsplit(":", 1)[1]
    raw = expand_env({"auth_type": "serviceAccount", "endpoint": "https://${env:K8S_NODE_IP}:" + port}, os.environ)
    rec, sink, _ = make_receiver(raw)
    assert rec.scrape_once() > 0


def test_unverified_certificate_fails_unless_insecure_skip_verify(kubelet, make_receiver, tmp_path):
    other_ca, _ = make_self_signed(str(tmp_path / "other"))
    rec, sink, tel = make_receiver(sa_config(kubelet, ca_file=other_ca))
    assert rec.scrape_once() == 0 and sink.payloads == []
    assert tel.value("otelcol_scraper_errored_metric_points_total", {"receiver": "kubeletstats", "scraper": "kubeletstats"}) == 1
    rec2, sink2, _ = make_receiver(sa_config(kubelet, ca_file=other_ca, insecure_skip_verify=True))
    assert rec2.scrape_once() > 0


def test_wrong_token_and_broken_summaries_are_counted_not_fatal(kubelet, make_receiver):
    rec, sink, tel = make_receiver(sa_config(kubelet))
    kubelet.token = "rotated-elsewhere"
    assert rec.scrape_once() == 0
    kubelet.token = "sa-token"
    kubelet.raw_summary = b"{not json"
    assert rec.scrape_once() == 0
    kubelet.raw_summary = b'{"node": {"nodeName": "n", "cpu": {"usageNanoCores": "lots"}, "memory": {"usageBytes": 5}}, "pods": [7, {"podRef": {"name": "p", "namespace": "d", "uid": "u"}, "containers": ["x"]}]}'
    assert rec.scrape_once() == 1  # only k8s.node.memory.usage survives
    assert tel.value("skuber_kubeletstats_bad_values_total", {"receiver": "kubeletstats"}) == 3
    assert tel.value("skuber_kubeletstats_scrapes_total", {"receiver": "kubeletstats", "outcome": "error"}) == 2


def test_refused_by_the_pipeline_is_counted(kubelet, make_receiver):
    rec, sink, tel = make_receiver(sa_config(kubelet), sink=Sink(refuse=True))
    n = rec.scrape_once()
    assert n == 0
    assert tel.value("otelcol_receiver_refused_metric_points_total", {"receiver": "kubeletstats", "transport": "http"}) > 0


def test_tls_client_certificate_auth(node_pods, make_receiver, tmp_path):
    client_cert, client_key = make_self_signed(str(tmp_path / "client"), "otel-agent")
    kubelet = FakeKubelet(token=None, client_ca=client_cert).start()
    try:
        kubelet.summary = {"node": {"nodeName": "node-9", "memory": {"usageBytes": 1}}, "pods": []}
        rec, sink, _ = make_receiver({"auth_type": "tls", "endpoint": kubelet.endpoint, "ca_file": kubelet.ca_file,
                                      "cert_file": client_cert, "key_file": client_key})
        assert rec.scrape_once() == 1
    finally:
        kubelet.stop()


def test_kubeconfig_goes_through_the_api_server_node_proxy(node_pods, make_receiver, tmp_path, monkeypatch):
    from collector.k8s.fakeapi.kubelet import stats_summary

    with FakeAPIServer() as api:
        monkeypatch.setenv("KUBECONFIG", api.write_kubeconfig(str(tmp_path / "kc")))
        api.node_proxy[("node-1", "stats/summary")] = stats_summary("node-1", node_pods)
        rec, sink, _ = make_receiver({"auth_type": "kubeConfig", "node": "node-1"})
        assert rec.scrape_once() > 0
        assert any("/api/v1/nodes/node-1/proxy/stats/summary" in p for _, p in api.requests)


def test_runs_on_its_interval_and_stops_promptly(kubelet, make_receiver):
    rec, sink, _ = make_receiver(sa_config(kubelet, collection_interval="200ms", initial_delay="0s"), start=True)
    assert wait_until(lambda: len(sink.payloads) >= 3, 5)
    started = time.monotonic()
    rec.shutdown(time.monotonic() + 2)
    assert time.monotonic() - started < 1.0


class _FlakyConsumer(Sink):
    """Fails the first call with an unexpected error (a downstream bug), then accepts."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def consume(self, payload):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("bug downstream")
        super().consume(payload)


def test_an_unexpected_pipeline_error_is_counted_and_scraping_goes_on(kubelet, make_receiver):
    sink = _FlakyConsumer()
    rec, _, tel = make_receiver(sa_config(kubelet, collection_interval="100ms", initial_delay="0s"),
                                sink=sink, start=True)
    assert wait_until(lambda: len(sink.payloads) >= 2, 5)
    assert tel.value("otelcol_receiver_refused_metric_points_total",
                     {"receiver": "kubeletstats", "transport": "http"}) > 0
