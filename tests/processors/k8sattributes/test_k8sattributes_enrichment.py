"""Enrichment by each association source, workloads, extraction rules, filters and modes."""
import time

import pytest

from collector import pdata
from collector.component import Payload
from collector.k8s.fakeapi import objects
from collector.processors.k8sattributes import pod_cache
from collector.testing import wait_until

DEFAULTS = {"k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time",
            "k8s.deployment.name", "k8s.node.name"}


def send(proc, sink, attrs=None, client_addr=None, signal="traces"):
    req = pdata.new_request(signal)
    res = pdata.resources(signal, req).add()
    for k, v in (attrs or {}).items():
        pdata.set_attr(res.resource.attributes, k, v)
    proc.consume(Payload(signal, req, [], client_addr))
    out = sink.payloads[-1].request
    return pdata.attrs_to_dict(pdata.resources(signal, out)[0].resource.attributes)


def synced(proc):
    assert proc.cache.wait_synced(5)


def web_pods(fake_api, node_name="node-1"):
    dep, rs, *pods = objects.deployment_with_pods("web", "shop", replicas=2, node_name=node_name)
    for obj in (dep, rs, *pods):
        fake_api.create(obj)
    return dep, rs, pods


def test_default_association_is_the_connection_ip(fake_api, make_processor):
    dep, rs, pods = web_pods(fake_api)
    proc, sink, _ = make_processor()
    synced(proc)
    p = pods[0]
    got = send(proc, sink, {"service.name": "web"}, client_addr=p["status"]["podIP"])
    assert DEFAULTS <= set(got)
    assert got["k8s.pod.name"] == p["metadata"]["name"]
    assert got["k8s.pod.uid"] == p["metadata"]["uid"]
    assert got["k8s.namespace.name"] == "shop"
    assert got["k8s.deployment.name"] == "web"
    assert got["k8s.node.name"] == "node-1"
    assert got["k8s.pod.ip"] == p["status"]["podIP"]
    assert got["k8s.pod.start_time"] == p["metadata"]["creationTimestamp"]
    assert got["service.name"] == "web"
    # without any association config, a k8s.pod.ip resource attribute is used as well
    other = send(proc, sink, {"k8s.pod.ip": pods[1]["status"]["podIP"]})
    assert other["k8s.pod.name"] == pods[1]["metadata"]["name"]


def test_default_metadata_includes_the_container_image(fake_api, make_processor):
    pod = objects.pod("api-0", "shop", containers=[("api", "ghcr.io/acme/api:2.1.0")])
    fake_api.create(pod)
    for i, raw in enumerate((None, {"extract": {"metadata": []}})):  # no list, empty list: the defaults
        proc, sink, _ = make_processor(raw, name=f"d{i}")
        synced(proc)
        got = send(proc, sink, {"k8s.container.name": "api"}, client_addr=pod["status"]["podIP"])
        assert got["container.image.name"] == "ghcr.io/acme/api" and got["container.image.tag"] == "2.1.0"
        assert got["k8s.pod.name"] == "api-0" and "container.id" not in got


def test_unknown_peer_gets_only_the_ip(fake_api, make_processor):
    web_pods(fake_api)
    proc, sink, _ = make_processor()
    synced(proc)
    got = send(proc, sink, {}, client_addr="10.99.99.99")
    assert got == {"k8s.pod.ip": "10.99.99.99"}


def test_resource_attribute_pod_ip_and_uid_sources(fake_api, make_processor):
    _, _, pods = web_pods(fake_api)
    proc, sink, _ = make_processor({"pod_association": [
        {"sources": [{"from": "resource_attribute", "name": "k8s.pod.uid"}]},
        {"sources": [{"from": "resource_attribute", "name": "k8s.pod.ip"}]},
    ]})
    synced(proc)
    by_uid = send(proc, sink, {"k8s.pod.uid": pods[1]["metadata"]["uid"]}, client_addr=pods[0]["status"]["podIP"])
    assert by_uid["k8s.pod.name"] == pods[1]["metadata"]["name"]  # the connection is not a source here
    by_ip = send(proc, sink, {"k8s.pod.ip": pods[0]["status"]["podIP"]})
    assert by_ip["k8s.pod.name"] == pods[0]["metadata"]["name"]
    assert "k8s.pod.name" not in send(proc, sink, {}, client_addr=pods[0]["status"]["podIP"])


def test_container_id_source_adds_container_metadata(fake_api, make_processor):
    pod = objects.pod("api-0", "shop", containers=[("api", "ghcr.io/acme/api:2.1.0"), ("envoy", "envoyproxy/envoy:v1.29")])
    fake_api.create(pod)
    proc, sink, _ = make_processor({
        "pod_association": [{"sources": [{"from": "resource_attribute", "name": "container.id"}]}],
        "extract": {"metadata": ["k8s.pod.name", "k8s.container.name", "container.image.name",
                                 "container.image.tag", "container.image.repo_digests"]}})
    synced(proc)
    envoy_id = pod["status"]["containerStatuses"][1]["containerID"].split("://")[1]
    got = send(proc, sink, {"container.id": envoy_id})
    assert got["k8s.pod.name"] == "api-0"
    assert got["k8s.container.name"] == "envoy"
    assert got["container.image.name"] == "envoyproxy/envoy"
    assert got["container.image.tag"] == "v1.29"
    assert got["container.image.repo_digests"][0].startswith("docker.io/library/envoyproxy/envoy@sha256:")
    assert "k8s.namespace.name" not in got  # not requested


def test_container_name_attribute_picks_image_and_id(fake_api, make_processor):
    pod = objects.pod("api-0", "shop", containers=[("api", "ghcr.io/acme/api:2.1.0")])
    fake_api.create(pod)
    proc, sink, _ = make_processor({"extract": {"metadata": ["container.id", "container.image.name", "container.image.tag"]}})
    synced(proc)
    got = send(proc, sink, {"k8s.container.name": "api"}, client_addr=pod["status"]["podIP"])
    assert got["container.image.name"] == "ghcr.io/acme/api" and got["container.image.tag"] == "2.1.0"
    assert got["container.id"] == pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]


def test_pod_name_and_namespace_composite_source(fake_api, make_processor):
    fake_api.create(objects.pod("same", "a", ip="10.1.0.1"))
    fake_api.create(objects.pod("same", "b", ip="10.1.0.2"))
    proc, sink, _ = make_processor({"pod_association": [{"sources": [
        {"from": "resource_attribute", "name": "k8s.pod.name"},
        {"from": "resource_attribute", "name": "k8s.namespace.name"}]}],
        "extract": {"metadata": ["k8s.pod.ip", "k8s.pod.uid"]}})
    synced(proc)
    assert send(proc, sink, {"k8s.pod.name": "same", "k8s.namespace.name": "b"})["k8s.pod.ip"] == "10.1.0.2"
    assert "k8s.pod.uid" not in send(proc, sink, {"k8s.pod.name": "same"})  # incomplete identifier


def test_workload_names_and_uids(fake_api, make_processor):
    dep, rs, pods = web_pods(fake_api)
    sts = fake_api.create(objects.statefulset("db", "shop"))
    ds = fake_api.create(objects.daemonset("agent", "shop"))
    cj = fake_api.create(objects.cronjob("nightly", "shop"))
    job = fake_api.create(objects.job(namespace="shop", cronjob=cj))
    fake_api.create(objects.pod("db-0", "shop", ip="10.2.0.1", owner=sts))
    fake_api.create(objects.pod("agent-x", "shop", ip="10.2.0.2", owner=ds))
    fake_api.create(objects.pod("nightly-x", "shop", ip="10.2.0.3", owner=job))
    fake_api.create(objects.namespace("kube-system", uid="cluster-uid-1"))
    proc, sink, _ = make_processor({"extract": {"metadata": [
        "k8s.deployment.name", "k8s.deployment.uid", "k8s.replicaset.name", "k8s.replicaset.uid",
        "k8s.statefulset.name", "k8s.statefulset.uid", "k8s.daemonset.name", "k8s.daemonset.uid",
        "k8s.job.name", "k8s.job.uid", "k8s.cronjob.name", "k8s.cluster.uid"]}})
    synced(proc)
    web = send(proc, sink, {}, client_addr=pods[0]["status"]["podIP"])
    assert web["k8s.deployment.name"] == "web" and web["k8s.deployment.uid"] == dep["metadata"]["uid"]
    assert web["k8s.replicaset.name"] == rs["metadata"]["name"] and web["k8s.replicaset.uid"] == rs["metadata"]["uid"]
    assert web["k8s.cluster.uid"] == "cluster-uid-1"
    db = send(proc, sink, {}, client_addr="10.2.0.1")
    assert (db["k8s.statefulset.name"], db["k8s.statefulset.uid"]) == ("db", sts["metadata"]["uid"])
    agent = send(proc, sink, {}, client_addr="10.2.0.2")
    assert (agent["k8s.daemonset.name"], agent["k8s.daemonset.uid"]) == ("agent", ds["metadata"]["uid"])
    nightly = send(proc, sink, {}, client_addr="10.2.0.3")
    assert nightly["k8s.job.name"] == job["metadata"]["name"] and nightly["k8s.cronjob.name"] == "nightly"
    assert "k8s.deployment.name" not in db


def test_label_and_annotation_rules_from_pod_namespace_and_node(fake_api, make_processor):
    fake_api.create(objects.namespace("shop", labels={"team": "payments"}))
    fake_api.create(objects.node("node-1", labels={"topology.kubernetes.io/zone": "eu-1a"}))
    fake_api.create(objects.pod("p", "shop", ip="10.3.0.1",
                                labels={"app.kubernetes.io/component": "api", "app.kubernetes.io/version": "1.2", "x": "y"},
                                annotations={"git_sha": "abc123", "resource.opentelemetry.io/service.name": "checkout"}))
    proc, sink, _ = make_processor({"extract": {
        "metadata": ["k8s.pod.name", "k8s.node.uid"],
        "otel_annotations": True,
        "labels": [{"key_regex": "app.kubernetes.io/(.*)", "tag_name": "app.$1"},
                   {"key": "x"},
                   {"key": "team", "from": "namespace", "tag_name": "team"},
                   {"key": "topology.kubernetes.io/zone", "from": "node"}],
        "annotations": [{"key": "git_sha"}]}})
    synced(proc)
    got = send(proc, sink, {}, client_addr="10.3.0.1")
    assert got["app.component"] == "api" and got["app.version"] == "1.2"
    assert got["k8s.pod.labels.x"] == "y"
    assert got["k8s.pod.annotations.git_sha"] == "abc123"
    assert got["team"] == "payments"
    assert got["k8s.node.labels.topology.kubernetes.io/zone"] == "eu-1a"
    assert got["service.name"] == "checkout"
    assert got["k8s.node.uid"] == fake_api.get("nodes", None, "node-1")["metadata"]["uid"]


def test_node_filter_from_env_keeps_only_this_nodes_pods(fake_api, make_processor, monkeypatch):
    fake_api.create(objects.pod("here", ip="10.4.0.1", node_name="node-a"))
    fake_api.create(objects.pod("there", ip="10.4.0.2", node_name="node-b"))
    monkeypatch.setenv("K8S_NODE_NAME", "node-a")
    proc, sink, _ = make_processor({"filter": {"node_from_env_var": "K8S_NODE_NAME"}})
    synced(proc)
    assert send(proc, sink, {}, client_addr="10.4.0.1")["k8s.pod.name"] == "here"
    assert "k8s.pod.name" not in send(proc, sink, {}, client_addr="10.4.0.2")
    assert any("fieldSelector=spec.nodeName%3Dnode-a" in path or "fieldSelector=spec.nodeName=node-a" in path
               for _, path in fake_api.requests)


def test_namespace_and_label_filters(fake_api, make_processor):
    fake_api.create(objects.pod("a", "prod", ip="10.5.0.1", labels={"tier": "web"}))
    fake_api.create(objects.pod("b", "prod", ip="10.5.0.2", labels={"tier": "db"}))
    fake_api.create(objects.pod("c", "dev", ip="10.5.0.3", labels={"tier": "web"}))
    proc, sink, _ = make_processor({"filter": {"namespace": "prod", "labels": [{"key": "tier", "value": "web"}]}})
    synced(proc)
    assert send(proc, sink, {}, client_addr="10.5.0.1")["k8s.pod.name"] == "a"
    assert "k8s.pod.name" not in send(proc, sink, {}, client_addr="10.5.0.2")
    assert "k8s.pod.name" not in send(proc, sink, {}, client_addr="10.5.0.3")


def test_passthrough_only_sets_the_ip_and_never_calls_the_api(fake_api, make_processor):
    proc, sink, _ = make_processor({"passthrough": True})
    assert send(proc, sink, {"a": "b"}, client_addr="10.6.0.1") == {"a": "b", "k8s.pod.ip": "10.6.0.1"}
    assert list(fake_api.requests) == []


def test_hot_path_never_calls_the_api_server(fake_api, make_processor):
    _, _, pods = web_pods(fake_api)
    proc, sink, _ = make_processor()
    synced(proc)
    assert wait_until(lambda: fake_api.open_watches == 1, 5)
    before = len(fake_api.requests)
    for i in range(500):
        send(proc, sink, {}, client_addr=pods[i % 2]["status"]["podIP"])
    send(proc, sink, {}, client_addr="10.250.0.1")
    assert len(fake_api.requests) == before


def test_existing_attributes_are_not_overwritten(fake_api, make_processor):
    _, _, pods = web_pods(fake_api)
    proc, sink, _ = make_processor()
    synced(proc)
    got = send(proc, sink, {"k8s.pod.name": "set-by-app"}, client_addr=pods[0]["status"]["podIP"])
    assert got["k8s.pod.name"] == "set-by-app" and got["k8s.pod.uid"] == pods[0]["metadata"]["uid"]


def test_updates_are_seen_and_deleted_pods_linger_for_the_grace_period(fake_api, make_processor, monkeypatch):
    monkeypatch.setattr(pod_cache, "POD_DELETE_GRACE_SECONDS", 0.5)
    fake_api.create(objects.pod("old", ip="10.7.0.1"))
    proc, sink, _ = make_processor()
    synced(proc)
    fake_api.create(objects.pod("new", ip="10.7.0.2"))
    assert wait_until(lambda: send(proc, sink, {}, client_addr="10.7.0.2").get("k8s.pod.name") == "new", 5)
    fake_api.delete("pods", "default", "old")
    assert wait_until(lambda: fake_api.open_watches and proc.cache.pods.get("default", "old") is None, 5)
    assert send(proc, sink, {}, client_addr="10.7.0.1").get("k8s.pod.name") == "old"  # late data still enriched
    assert wait_until(lambda: "k8s.pod.name" not in send(proc, sink, {}, client_addr="10.7.0.1"), 5)


def test_ip_reused_by_a_new_pod_wins_over_the_deleted_one(fake_api, make_processor):
    fake_api.create(objects.pod("old", ip="10.8.0.1"))
    proc, sink, _ = make_processor()
    synced(proc)
    fake_api.delete("pods", "default", "old")
    fake_api.create(objects.pod("reuser", ip="10.8.0.1"))
    assert wait_until(lambda: send(proc, sink, {}, client_addr="10.8.0.1").get("k8s.pod.name") == "reuser", 5)


def test_excluded_and_ignored_pods_are_not_used(fake_api, make_processor):
    fake_api.create(objects.pod("jaeger-agent", ip="10.9.0.1"))
    fake_api.create(objects.pod("quiet", ip="10.9.0.2", annotations={"opentelemetry.io/k8s-processor/ignore": "true"}))
    fake_api.create(objects.pod("host-net", ip="192.168.0.10"))
    hn = fake_api.get("pods", "default", "host-net")
    hn["spec"]["hostNetwork"] = True
    fake_api.update(hn)
    proc, sink, _ = make_processor()
    synced(proc)
    for ip in ("10.9.0.1", "10.9.0.2", "192.168.0.10"):
        assert "k8s.pod.name" not in send(proc, sink, {}, client_addr=ip)


def test_exclude_names_match_anywhere_in_the_pod_name_as_upstream(fake_api, make_processor):
    # Go's regexp MatchString is unanchored: the default "jaeger-agent" hides a DaemonSet's
    # jaeger-agent-x7k2p pod; an empty exclude list still means the defaults.
    fake_api.create(objects.pod("jaeger-agent-x7k2p", ip="10.9.0.3"))
    fake_api.create(objects.pod("web-jaeger-collector-0", ip="10.9.0.4"))
    for i, extra in enumerate(({}, {"exclude": {"pods": []}})):
        proc, sink, _ = make_processor(extra, name=str(i))
        synced(proc)
        for ip in ("10.9.0.3", "10.9.0.4"):
            assert "k8s.pod.name" not in send(proc, sink, {}, client_addr=ip)


def test_wait_for_metadata_blocks_start_until_synced(fake_api, make_processor):
    _, _, pods = web_pods(fake_api)
    proc, sink, _ = make_processor({"wait_for_metadata": True, "wait_for_metadata_timeout": "5s"})
    # no wait in the test: start() returned only once the pods were listed
    assert send(proc, sink, {}, client_addr=pods[0]["status"]["podIP"])["k8s.pod.name"] == pods[0]["metadata"]["name"]


def test_wait_for_metadata_times_out_when_the_api_is_unreachable(fake_api, make_processor):
    fake_api.token = "nobody-has-this"
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="wait_for_metadata"):
        make_processor({"wait_for_metadata": True, "wait_for_metadata_timeout": "500ms"})
    assert time.monotonic() - started < 3


def test_pipelines_share_one_cache_per_component(fake_api, make_processor):
    web_pods(fake_api)
    a, _, _ = make_processor(signal="traces", name="shared")
    b, _, _ = make_processor(signal="logs", name="shared")
    assert a.cache is b.cache
    synced(a)
    lists = [p for m, p in fake_api.requests if m == "GET" and "watch" not in p and "/pods" in p]
    assert len(lists) == 1


def test_metrics_and_logs_are_enriched_too(fake_api, make_processor):
    _, _, pods = web_pods(fake_api)
    ip = pods[0]["status"]["podIP"]
    for signal in ("metrics", "logs"):
        proc, sink, _ = make_processor(signal=signal, name=signal)
        synced(proc)
        assert send(proc, sink, {}, client_addr=ip, signal=signal)["k8s.deployment.name"] == "web"


def test_self_telemetry_counts_pod_events(fake_api, make_processor):
    web_pods(fake_api)
    proc, sink, tel = make_processor()
    synced(proc)
    send(proc, sink, {}, client_addr="10.254.0.1")
    assert tel.value("otelcol_otelsvc_k8s_pod_added_total", {"processor": "k8sattributes"}) == 2
    assert tel.value("otelcol_otelsvc_k8s_ip_lookup_miss_total", {"processor": "k8sattributes"}) == 1
