"""AdmissionReview in, AdmissionReview out: the webhook's contract without the transport."""

from __future__ import annotations

import base64
import json

import pytest

from collector.operator.webhook import AdmissionHandler, Metrics
from tests.operator.operator_pods import apply, deployment_pod, env_of, validate_pod

ANN = "instrumentation.opentelemetry.io/"


def review(pod, namespace="shop", uid="705ab4f5-6393-11e8-b7cc-42010a800002", operation="CREATE"):
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": namespace, "operation": operation, "object": pod,
                    "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                    "dryRun": False}}).encode()


@pytest.fixture
def handler(mutator):
    return AdmissionHandler(mutator, Metrics())


def count(handler, outcome):
    return handler.metrics.registry.get_sample_value("skuber_operator_admission_reviews_total",
                                                     {"outcome": outcome}) or 0


def test_annotated_pod_gets_a_jsonpatch_that_yields_a_valid_pod(handler):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation"})
    out = handler.review(review(pod))
    assert out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview"
    resp = out["response"]
    assert resp["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002" and resp["allowed"] is True
    assert resp["patchType"] == "JSONPatch"
    patched = apply(pod, json.loads(base64.b64decode(resp["patch"])))
    validate_pod(patched)
    assert "PYTHONPATH" in env_of(patched["spec"]["containers"][0])
    assert count(handler, "injected") == 1
    assert handler.metrics.registry.get_sample_value("skuber_operator_injections_total",
                                                     {"language": "python"}) == 1


def test_unannotated_pod_gets_no_patch(handler):
    out = handler.review(review(deployment_pod({})))
    assert out["response"] == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}
    assert count(handler, "unchanged") == 1


def test_update_operations_are_left_alone(handler):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation"})
    assert "patch" not in handler.review(review(pod, operation="UPDATE"))["response"]


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b"\xff\xfe", b'{"request": {}}', b'{"request": {"uid": 5}}',
    json.dumps({"request": {"uid": "u", "kind": {"kind": "Pod"}, "object": "nope"}}).encode(),
    json.dumps({"request": {"uid": "u", "kind": {"kind": "Secret"}, "object": {}}}).encode(),
    b"[" * 100_000,  # nested too deep for the JSON decoder
])
def test_malformed_review_is_allowed_with_a_reason(handler, body):
    resp = handler.review(body)["response"]
    assert resp["allowed"] is True and "patch" not in resp
    assert resp["status"]["message"]
    assert count(handler, "malformed") == 1


def test_pod_of_unexpected_shape_is_allowed_not_crashed(handler):
    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"})
    pod["spec"]["containers"] = ["not-a-container"]
    resp = handler.review(review(pod))["response"]
    assert resp["allowed"] is True and "patch" not in resp
    assert count(handler, "error") == 1


def test_unknown_instrumentation_is_allowed_with_reason(handler):
    pod = deployment_pod({ANN + "inject-java": "nope"})
    resp = handler.review(review(pod))["response"]
    assert resp["allowed"] is True and "patch" not in resp
    assert "nope" in resp["status"]["message"]
