"""The k8s_cluster receiver against the fake API server, alone and behind a leader elector."""
import time

from collector.config import decode
from collector.extensions.k8s_leader_elector import factory as elector_factory
from collector.extensions.k8s_leader_elector.config import Config as ElectorConfig
from collector.k8s.fakeapi import objects as o
from collector.receivers.k8s_cluster import factory
from collector.receivers.k8s_cluster.config import Config
from collector.testing import wait_until


def names_in(payload):
    out = {}
    for rm in payload.request.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, 0)
                out[m.name] += len(m.gauge.data_points)
    return out


def seed(srv):
    srv.create(o.namespace("shop"))
    srv.create(o.node("node-1"))
    for obj in o.deployment_with_pods("api", "shop", replicas=2):
        srv.create(obj)
    srv.create(o.daemonset("agent"))
    srv.create(o.statefulset("db", "shop"))
    cj = o.cronjob("nightly", "shop")
    srv.create(cj)
    srv.create(o.job(cronjob=cj, namespace="shop"))
    srv.create(o.hpa("api", "shop"))


def test_emits_every_family_from_the_informer_caches(fake_api, make_settings, fake_host, recorder):
    seed(fake_api)
    cfg = decode(Config, {"auth_type": "kubeConfig", "collection_interval": "200ms",
                          "allocatable_types_to_report": ["cpu", "memory"]})
    sink = recorder()
    rcv = factory.create(make_settings("receiver", "k8s_cluster"), cfg, {"metrics": sink})
    rcv.start(fake_host())
    try:
        assert wait_until(lambda: sink.payloads and "k8s.hpa.max_replicas" in names_in(sink.payloads[-1]), 15)
        got = names_in(sink.payloads[-1])
        assert got["k8s.pod.phase"] == 2
        assert got["k8s.container.restarts"] == 2
        for name in ("k8s.deployment.desired", "k8s.replicaset.available", "k8s.daemonset.ready_nodes",
                     "k8s.statefulset.ready_pods", "k8s.job.active_pods", "k8s.cronjob.active_jobs",
                     "k8s.namespace.phase", "k8s.node.condition_ready", "k8s.node.allocatable_cpu",
                     "k8s.node.allocatable_memory"):
            assert got.get(name), name
        # A change on the server shows up in a later collection.
        pod = o.pod("late", "shop", phase="Pending")
        fake_api.create(pod)
        assert wait_until(lambda: names_in(sink.payloads[-1])["k8s.pod.phase"] == 3, 10)
    finally:
        rcv.shutdown(time.monotonic() + 5)
    n = len(sink.payloads)
    time.sleep(0.5)
    assert len(sink.payloads) == n  # nothing after shutdown


def test_only_the_leader_replica_emits(fake_api, make_settings, fake_host, recorder):
    seed(fake_api)
    ecfg = decode(ElectorConfig, {"auth_type": "kubeConfig", "lease_name": "k8s-cluster",
                                  "lease_namespace": "skuber", "lease_duration": "1500ms",
                                  "renew_deadline": "1s", "retry_period": "200ms"})
    cfg = decode(Config, {"auth_type": "kubeConfig", "collection_interval": "200ms",
                          "k8s_leader_elector": "k8s_leader_elector"})
    replicas = []
    for name in ("a", "b"):
        ext = elector_factory.create(make_settings("extension", "k8s_leader_elector"), ecfg)
        ext.identity = f"pod-{name}"
        host = fake_host({"k8s_leader_elector": ext})
        sink = recorder()
        rcv = factory.create(make_settings("receiver", "k8s_cluster"), cfg, {"metrics": sink})
        ext.start(host)
        rcv.start(host)
        replicas.append((ext, rcv, sink))
    try:
        assert wait_until(lambda: any(s.payloads for _, _, s in replicas), 15)
        time.sleep(1.0)
        emitting = [i for i, (_, _, s) in enumerate(replicas) if s.payloads]
        assert len(emitting) == 1
        leader = emitting[0]
        other = 1 - leader
        # The leader goes away (clean shutdown releases the lease): the other takes over.
        ext, rcv, sink = replicas[leader]
        rcv.shutdown(time.monotonic() + 5)
        ext.shutdown(time.monotonic() + 5)
        stopped_count = len(sink.payloads)
        assert wait_until(lambda: replicas[other][2].payloads, 10)
        time.sleep(0.5)
        assert len(sink.payloads) == stopped_count
    finally:
        for ext, rcv, _ in replicas:
            rcv.shutdown(time.monotonic() + 5)
            ext.shutdown(time.monotonic() + 5)
