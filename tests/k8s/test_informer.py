"""The informer against the fake API server: list, watch, resume, relist, bookmarks, selectors."""
import contextlib
import threading
import time

import prometheus_client
import pytest

from collector.k8s.fakeapi import objects
from collector.k8s.client import APIError
from collector.k8s.informer import Informer
from collector.testing import wait_until


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def add(self, rec):
        with self.lock:
            self.events.append(("add", rec["metadata"]["name"]))

    def update(self, old, new):
        with self.lock:
            self.events.append(("update", new["metadata"]["name"]))

    def delete(self, rec):
        with self.lock:
            self.events.append(("delete", rec["metadata"]["name"]))

    def names(self, kind):
        with self.lock:
            return [n for k, n in self.events if k == kind]


@contextlib.contextmanager
def disconnected(fake_api):
    """The informer cannot reach the server (401 to everything) while the block runs."""
    fake_api.token = "not-the-informers"
    fake_api.drop_watches()
    try:
        yield
    finally:
        fake_api.token = "fake-token"


def make(api_client, informers, rec=None, **kw):
    rec = rec or Recorder()
    kw.setdefault("read_timeout_seconds", 5)
    kw.setdefault("backoff_initial", 0.05)
    inf = Informer(api_client, on_add=rec.add, on_update=rec.update, on_delete=rec.delete, **kw)
    informers.append(inf)
    inf.start()
    assert inf.wait_synced(5)
    return inf, rec


def names(inf):
    return sorted(r["metadata"]["name"] for r in inf.items())


def test_paginated_list_syncs_every_object(fake_api, api_client, informers):
    for obj in objects.deployment_with_pods("web", replicas=10):
        fake_api.create(obj)
    inf, rec = make(api_client, informers, page_size=3)
    assert len(inf.items()) == 10
    assert inf.stats.lists == 4  # 3+3+3+1
    assert sorted(rec.names("add")) == names(inf)
    assert int(inf.last_resource_version) == fake_api.resource_version


def test_watch_delivers_add_update_delete(fake_api, api_client, informers):
    inf, rec = make(api_client, informers)
    p = fake_api.create(objects.pod("p1"))
    assert wait_until(lambda: inf.get("default", "p1") is not None, 5)
    p["metadata"]["labels"] = {"tier": "web"}
    fake_api.update(p)
    assert wait_until(lambda: (inf.get("default", "p1") or {}).get("metadata", {}).get("labels") == {"tier": "web"}, 5)
    fake_api.delete("pods", "default", "p1")
    assert wait_until(lambda: inf.get("default", "p1") is None, 5)
    assert rec.events == [("add", "p1"), ("update", "p1"), ("delete", "p1")]


def test_resume_after_dropped_connection_without_relist(fake_api, api_client, informers):
    fake_api.create(objects.pod("before"))
    inf, rec = make(api_client, informers)
    assert wait_until(lambda: fake_api.open_watches == 1, 5)
    with disconnected(fake_api):
        fake_api.create(objects.pod("during"))  # replayed from history when the watch resumes
        time.sleep(0.2)
    assert wait_until(lambda: inf.get("default", "during") is not None, 5)
    assert inf.stats.relists == 0 and inf.stats.lists == 1
    assert inf.stats.watches >= 2 and inf.stats.errors >= 1


def test_relist_on_410_error_event_reports_deletes_missed_while_away(fake_api, api_client, informers):
    for name in ("keep", "gone"):
        fake_api.create(objects.pod(name))
    inf, rec = make(api_client, informers)
    assert wait_until(lambda: fake_api.open_watches == 1, 5)
    with disconnected(fake_api):
        fake_api.delete("pods", "default", "gone")
        fake_api.create(objects.pod("new"))
        fake_api.compact()  # the informer's resourceVersion is now too old: ERROR 410 event
    assert wait_until(lambda: "gone" in rec.names("delete"), 5)
    assert names(inf) == ["keep", "new"]
    assert inf.stats.relists == 1
    assert "new" in rec.names("add")
    assert "keep" not in rec.names("update")  # unchanged objects are not reported again


def test_relist_on_410_http_status(fake_api, api_client, informers):
    fake_api.gone_as_http = True
    fake_api.create(objects.pod("a"))
    inf, rec = make(api_client, informers)
    assert wait_until(lambda: fake_api.open_watches == 1, 5)
    with disconnected(fake_api):
        fake_api.delete("pods", "default", "a")
        fake_api.compact()
    assert wait_until(lambda: rec.names("delete") == ["a"], 5)
    assert inf.stats.relists == 1


def test_stalled_watch_is_abandoned_after_the_read_timeout(fake_api, api_client, informers):
    inf, rec = make(api_client, informers, read_timeout_seconds=1.0)
    assert wait_until(lambda: fake_api.open_watches == 1, 5)
    fake_api.stall(0.2)  # the open watch goes silent for good, as on a dead connection
    time.sleep(0.3)
    started = time.monotonic()
    fake_api.create(objects.pod("after-stall"))
    assert wait_until(lambda: inf.get("default", "after-stall") is not None, 5)
    took = time.monotonic() - started
    assert 0.4 < took < 3.0, took  # it needed the read timeout, and no more than about that
    assert inf.stats.relists == 0


def test_bookmarks_advance_the_resource_version_past_compaction(fake_api, api_client, informers):
    fake_api.create(objects.pod("p"))
    inf, rec = make(api_client, informers)
    listed_rv = int(inf.last_resource_version)
    for i in range(5):  # other resources move the global resourceVersion on
        fake_api.create(objects.service(f"svc-{i}"))
    target = fake_api.resource_version
    assert wait_until(lambda: int(inf.last_resource_version) >= target, 5)
    assert int(inf.last_resource_version) > listed_rv and inf.stats.bookmarks >= 1
    with disconnected(fake_api):
        fake_api.compact()
        time.sleep(0.2)
        fake_api.create(objects.pod("q"))
    assert wait_until(lambda: inf.get("default", "q") is not None, 5)
    assert inf.stats.relists == 0  # the bookmark's resourceVersion was still valid


def test_field_selector_keeps_only_this_nodes_pods(fake_api, api_client, informers):
    fake_api.create(objects.pod("mine", node_name="node-a"))
    fake_api.create(objects.pod("theirs", node_name="node-b"))
    inf, rec = make(api_client, informers, field_selector="spec.nodeName=node-a")
    fake_api.create(objects.pod("mine-2", node_name="node-a"))
    fake_api.create(objects.pod("theirs-2", node_name="node-b"))
    assert wait_until(lambda: inf.get("default", "mine-2") is not None, 5)
    time.sleep(0.2)
    assert names(inf) == ["mine", "mine-2"]
    assert any("fieldSelector=spec.nodeName" in path for _, path in fake_api.requests)


def test_label_selector_and_namespace(fake_api, api_client, informers):
    fake_api.create(objects.pod("a", namespace="prod", labels={"app": "x"}))
    fake_api.create(objects.pod("b", namespace="prod", labels={"app": "y"}))
    fake_api.create(objects.pod("c", namespace="dev", labels={"app": "x"}))
    inf, _ = make(api_client, informers, namespace="prod", label_selector="app in (x,z)")
    assert names(inf) == ["a"]
    assert inf.get("prod", "a") is not None and inf.get("dev", "c") is None


def test_transform_keeps_slim_records_and_none_skips(fake_api, api_client, informers):
    fake_api.create(objects.pod("a", ip="10.0.0.1"))
    fake_api.create(objects.pod("b", phase="Pending"))

    def slim(raw):
        if raw["status"]["phase"] != "Running":
            return None
        return (raw["metadata"]["name"], raw["status"]["podIP"])

    inf = Informer(api_client, transform=slim, read_timeout_seconds=5)
    informers.append(inf)
    inf.start()
    assert inf.wait_synced(5)
    assert inf.items() == [("a", "10.0.0.1")]


def test_bad_transform_and_callback_errors_are_counted_not_fatal(fake_api, api_client, informers):
    def boom(_rec):
        raise RuntimeError("consumer bug")

    def picky(raw):
        if raw["metadata"]["name"] == "bad":
            raise KeyError("spec")
        return raw

    inf = Informer(api_client, transform=picky, on_add=boom, read_timeout_seconds=5)
    informers.append(inf)
    inf.start()
    assert inf.wait_synced(5)
    fake_api.create(objects.pod("bad"))
    fake_api.create(objects.pod("good"))
    assert wait_until(lambda: inf.get("default", "good") is not None, 5)
    assert inf.get("default", "bad") is None
    assert inf.stats.callback_errors >= 2


def test_cluster_scoped_and_group_resources(fake_api, api_client, informers):
    fake_api.create(objects.node("node-1"))
    dep = fake_api.create(objects.deployment("web"))
    nodes, _ = make(api_client, informers, resource="nodes")
    deps, _ = make(api_client, informers, resource="deployments", group="apps", version="v1")
    assert nodes.get(None, "node-1")["status"]["addresses"][0]["type"] == "InternalIP"
    assert deps.get("default", "web")["metadata"]["uid"] == dep["metadata"]["uid"]


def test_stop_is_prompt_during_an_open_watch(fake_api, api_client, informers):
    inf, _ = make(api_client, informers, read_timeout_seconds=60)
    assert wait_until(lambda: fake_api.open_watches == 1, 5)
    started = time.monotonic()
    inf.stop()
    assert time.monotonic() - started < 2.0
    assert not inf._thread.is_alive()


def test_list_failure_backs_off_and_recovers(fake_api, api_client, informers):
    fake_api.token = "other"  # every request is now 401
    inf = Informer(api_client, read_timeout_seconds=5, backoff_initial=0.05, backoff_max=0.2)
    informers.append(inf)
    inf.start()
    assert not inf.wait_synced(0.5)
    assert 1 <= inf.stats.errors <= 20  # backed off, not a hot loop
    fake_api.token = "fake-token"
    assert inf.wait_synced(5)


class FakeTelemetry:
    def __init__(self):
        self.registry = prometheus_client.CollectorRegistry()

    def counter(self, name, description, labelnames=()):
        return prometheus_client.Counter(name, description, labelnames, registry=self.registry)


def test_self_telemetry_counts_requests_events_and_relists(fake_api, api_client, informers):
    tel = FakeTelemetry()
    fake_api.create(objects.pod("a"))
    inf, rec = make(api_client, informers, telemetry=tel)
    second, _ = make(api_client, informers, telemetry=tel, resource="nodes")  # shares the families
    assert wait_until(lambda: fake_api.open_watches == 2, 5)
    fake_api.create(objects.pod("b"))
    assert wait_until(lambda: inf.get("default", "b") is not None, 5)
    with disconnected(fake_api):
        fake_api.create(objects.pod("c"))
        fake_api.compact()
    assert wait_until(lambda: inf.stats.relists == 1 and inf.stats.lists == 2 and inf.synced, 5)
    get = tel.registry.get_sample_value
    assert get("skuber_k8s_informer_requests_total", {"resource": "v1/pods", "verb": "list"}) == 2
    assert get("skuber_k8s_informer_events_total", {"resource": "v1/pods", "type": "ADDED"}) == 1
    assert get("skuber_k8s_informer_relists_total", {"resource": "v1/pods"}) == 1


def test_watch_that_ends_normally_is_resumed_without_relist(fake_api, api_client, informers):
    inf, rec = make(api_client, informers, watch_timeout_seconds=1)
    assert wait_until(lambda: inf.stats.watches >= 3, 6)  # server ends each watch after 1s
    fake_api.create(objects.pod("late"))
    assert wait_until(lambda: inf.get("default", "late") is not None, 5)
    assert inf.stats.relists == 0 and inf.stats.errors == 0 and inf.stats.lists == 1
    assert any("timeoutSeconds=1" in p and "allowWatchBookmarks=true" in p for _, p in fake_api.requests)


def test_unreachable_server_after_a_healthy_watch_backs_off(fake_api, api_client, informers):
    inf, _ = make(api_client, informers, backoff_initial=0.1, backoff_max=0.4)
    assert wait_until(lambda: inf.stats.bookmarks >= 1, 5)  # the watch delivered something
    with disconnected(fake_api):
        fake_api.compact()  # forces a relist, which keeps failing while we are "away"
        fake_api.create(objects.pod("x"))
        fake_api.compact()
        time.sleep(1.5)
        errors = inf.stats.errors
    assert 1 <= errors <= 15, errors  # backed off, not a hot loop
    assert wait_until(lambda: inf.get("default", "x") is not None, 5)


def test_an_event_without_a_name_is_counted_once_as_bad():
    inf = Informer(api_client=None)
    inf._apply(b'{"type": "ADDED", "object": {"metadata": {"namespace": "default"}}}')
    inf._apply(b'not json')
    assert inf.stats.bad_events == 2 and inf.stats.events == 0


def test_an_error_event_that_is_not_a_status_object_is_an_api_error():
    inf = Informer(api_client=None)
    with pytest.raises(APIError):
        inf._apply(b'{"type": "ERROR", "object": "expired"}')
