"""The fake API server speaks the real API: raw requests and the unchanged kubernetes client."""
import json

import pytest

from collector.k8s.client import APIError, request, request_json, resource_path
from collector.k8s.fakeapi import FakeAPIServer, objects


def watch_lines(api_client, path, query, limit=50):
    resp = request(api_client, "GET", path, query={"watch": "true", **query}, stream=True, timeout=(5, 5))
    events = []
    try:
        for line in resp.read().splitlines()[:limit]:
            events.append(json.loads(line))
    finally:
        resp.close()
    return events


def test_list_pages_with_limit_and_continue(fake_api, api_client):
    for i in range(7):
        fake_api.create(objects.pod(f"p{i}"))
    seen, cont, pages = [], None, 0
    while pages < 10:
        body = request_json(api_client, "GET", "/api/v1/pods", {"limit": 3, "continue": cont})
        pages += 1
        seen += [p["metadata"]["name"] for p in body["items"]]
        cont = body["metadata"].get("continue")
        if not cont:
            break
    assert pages == 3 and seen == [f"p{i}" for i in range(7)]
    assert body["kind"] == "PodList"


def test_expired_continue_token_is_410(fake_api, api_client):
    for i in range(3):
        fake_api.create(objects.pod(f"p{i}"))
    body = request_json(api_client, "GET", "/api/v1/pods", {"limit": 1})
    fake_api.create(objects.pod("later"))
    fake_api.compact()
    with pytest.raises(APIError) as err:
        request_json(api_client, "GET", "/api/v1/pods", {"limit": 1, "continue": body["metadata"]["continue"]})
    assert err.value.status == 410 and err.value.body["reason"] == "Expired"


def test_label_and_field_selectors(fake_api, api_client):
    fake_api.create(objects.pod("a", labels={"app": "web", "tier": "fe"}, node_name="n1"))
    fake_api.create(objects.pod("b", labels={"app": "web"}, node_name="n2"))
    fake_api.create(objects.pod("c", labels={"app": "db"}, node_name="n1", phase="Pending"))

    def names(**q):
        return sorted(p["metadata"]["name"] for p in request_json(api_client, "GET", "/api/v1/pods", q)["items"])

    assert names(labelSelector="app=web") == ["a", "b"]
    assert names(labelSelector="app=web,tier") == ["a"]
    assert names(labelSelector="app=web,!tier") == ["b"]
    assert names(labelSelector="app notin (web)") == ["c"]
    assert names(labelSelector="app!=db") == ["a", "b"]
    assert names(fieldSelector="spec.nodeName=n1") == ["a", "c"]
    assert names(fieldSelector="spec.nodeName=n1,status.phase!=Pending") == ["a"]
    with pytest.raises(APIError) as err:
        names(labelSelector="app in (web")
    assert err.value.status == 400


def test_watch_streams_events_bookmarks_and_ends_on_timeout(fake_api, api_client):
    p = fake_api.create(objects.pod("a"))
    start_rv = p["metadata"]["resourceVersion"]
    p["metadata"]["labels"] = {"x": "1"}
    fake_api.update(p)
    fake_api.delete("pods", "default", "a")
    events = watch_lines(api_client, "/api/v1/pods",
                         {"resourceVersion": start_rv, "allowWatchBookmarks": "true", "timeoutSeconds": 1})
    types = [e["type"] for e in events]
    assert types[:2] == ["MODIFIED", "DELETED"] and "BOOKMARK" in types
    bookmark = next(e for e in events if e["type"] == "BOOKMARK")
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) == fake_api.resource_version


def test_watch_from_compacted_version_sends_error_410(fake_api, api_client):
    p = fake_api.create(objects.pod("a"))
    fake_api.create(objects.pod("b"))
    fake_api.compact()
    events = watch_lines(api_client, "/api/v1/pods", {"resourceVersion": p["metadata"]["resourceVersion"]})
    assert events == [{"type": "ERROR", "object": events[0]["object"]}]
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["kind"] == "Status"


def test_filtered_watch_sees_selector_transitions_as_add_and_delete(fake_api, api_client):
    p = fake_api.create(objects.pod("a", labels={"app": "x"}))
    rv = p["metadata"]["resourceVersion"]
    p["metadata"]["labels"] = {"app": "y"}
    p = fake_api.update(p)
    p["metadata"]["labels"] = {"app": "x"}
    fake_api.update(p)
    events = watch_lines(api_client, "/api/v1/pods", {"resourceVersion": rv, "labelSelector": "app=x", "timeoutSeconds": 1})
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]


def test_leases_use_optimistic_concurrency(fake_api, api_client):
    path = resource_path("coordination.k8s.io", "v1", "leases", "kube-system")
    created = request_json(api_client, "POST", path, body=objects.lease("leader", "kube-system", holder="a"))
    with pytest.raises(APIError) as err:
        request_json(api_client, "POST", path, body=objects.lease("leader", "kube-system"))
    assert err.value.status == 409 and err.value.body["reason"] == "AlreadyExists"
    got = request_json(api_client, "GET", path + "/leader")
    got["spec"]["holderIdentity"] = "b"
    renewed = request_json(api_client, "PUT", path + "/leader", body=got)
    assert renewed["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    got["spec"]["holderIdentity"] = "c"  # still carries the old resourceVersion
    with pytest.raises(APIError) as err:
        request_json(api_client, "PUT", path + "/leader", body=got)
    assert err.value.status == 409 and err.value.body["reason"] == "Conflict"
    assert request_json(api_client, "GET", path + "/leader")["spec"]["holderIdentity"] == "b"


def test_patch_delete_and_not_found(fake_api, api_client):
    fake_api.create(objects.pod("a", labels={"k": "v"}))
    patched = request_json(api_client, "PATCH", "/api/v1/namespaces/default/pods/a",
                           body={"metadata": {"labels": {"k": None, "n": "1"}}})
    assert patched["metadata"]["labels"] == {"n": "1"}
    request_json(api_client, "DELETE", "/api/v1/namespaces/default/pods/a")
    with pytest.raises(APIError) as err:
        request_json(api_client, "GET", "/api/v1/namespaces/default/pods/a")
    assert err.value.status == 404


def test_custom_resources_and_events_with_null_event_time(fake_api, api_client):
    fake_api.create(objects.instrumentation(namespace="apps"))
    body = request_json(api_client, "GET", resource_path("opentelemetry.io", "v1alpha1", "instrumentations", "apps"))
    assert body["items"][0]["metadata"]["name"] == "skuber-instrumentation"
    p = fake_api.create(objects.pod("a"))
    fake_api.create(objects.events_v1_event(p))
    fake_api.create(objects.core_event(p))
    ev = request_json(api_client, "GET", resource_path("events.k8s.io", "v1", "events"))["items"]
    assert ev[0]["eventTime"] is None and ev[0]["regarding"]["uid"] == p["metadata"]["uid"]
    core = request_json(api_client, "GET", "/api/v1/events")["items"]
    assert core[0]["involvedObject"]["name"] == "a"


def test_typed_kubernetes_client_works_unchanged(fake_api, api_client):
    from kubernetes import client

    for obj in objects.deployment_with_pods("web", "shop", replicas=2):
        fake_api.create(obj)
    fake_api.create(objects.node("node-1"))
    core = client.CoreV1Api(api_client)
    pods = core.list_namespaced_pod("shop")
    assert len(pods.items) == 2
    assert pods.items[0].metadata.owner_references[0].kind == "ReplicaSet"
    assert core.read_node("node-1").status.addresses[0].address == "192.168.0.10"
    assert client.AppsV1Api(api_client).read_namespaced_deployment("web", "shop").spec.replicas == 2


def test_requests_without_the_token_are_401(fake_api, api_client):
    fake_api.token = "something-else"
    with pytest.raises(APIError) as err:
        request_json(api_client, "GET", "/api/v1/pods")
    assert err.value.status == 401


def test_tls_server_with_generated_ca(tmp_path):
    from collector.k8s.client import make_api_client

    with FakeAPIServer(tls=True) as srv:
        srv.create(objects.namespace("default"))
        api = make_api_client("kubeConfig", kubeconfig=srv.write_kubeconfig(str(tmp_path / "kc")))
        assert srv.url.startswith("https://")
        items = request_json(api, "GET", "/api/v1/namespaces")["items"]
        assert [n["metadata"]["name"] for n in items] == ["default"]
        api.close()


def test_object_factories_wire_owner_references():
    dep, rs, *pods = objects.deployment_with_pods("web", replicas=3)
    assert rs["metadata"]["ownerReferences"][0]["uid"] == dep["metadata"]["uid"]
    assert rs["metadata"]["name"].startswith("web-")
    assert len({p["metadata"]["name"] for p in pods}) == 3
    for p in pods:
        assert p["metadata"]["ownerReferences"][0] == objects.owner_ref(rs)
        assert p["metadata"]["labels"]["pod-template-hash"] in rs["metadata"]["name"]
        assert p["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
    cj = objects.cronjob("nightly")
    job = objects.job(cronjob=cj)
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["metadata"]["name"].startswith("nightly-")
