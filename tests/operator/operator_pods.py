"""Shared builders: realistic pods as a ReplicaSet of a Deployment creates them, and the
chart's Instrumentation."""

from __future__ import annotations

import copy

import pytest

# Test-only dependencies (pip install jsonpatch kubernetes-validate): an independent RFC 6902
# implementation applies our patches, and the Kubernetes schemas judge the result.
jsonpatch = pytest.importorskip("jsonpatch")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

CHART_NS = "skuber-observability"
GW = "10.0.0.5"


def instrumentation_object(name="skuber-instrumentation", namespace=CHART_NS, **spec_overrides):
    spec = {
        "exporter": {"endpoint": f"http://{GW}:4317"},
        "propagators": ["tracecontext", "baggage"],
        "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
        "resource": {"resourceAttributes": {"k8s.cluster.name": "prod-a",
                                            "deployment.environment.name": "prod"}},
        "python": {"env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{GW}:4318"}]},
        "dotnet": {"env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{GW}:4318"}]},
    }
    spec.update(spec_overrides)
    return {"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def deployment_pod(annotations, containers=None, init_containers=None, namespace="shop",
                   deployment="checkout", template_hash="5d8c7b9f4"):
    """A pod as the ReplicaSet controller submits it: generateName, no name, no node."""
    rs = f"{deployment}-{template_hash}"
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "generateName": f"{rs}-", "namespace": namespace,
            "labels": {"app": deployment, "pod-template-hash": template_hash},
            "annotations": dict(annotations),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": "6f1c2d3e-0000-4000-8000-000000000001",
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "containers": containers or [{
                "name": "app", "image": "registry.example.com/shop/checkout:1.4.2",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            }],
            "restartPolicy": "Always", "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
        },
    }
    if init_containers:
        pod["spec"]["initContainers"] = init_containers
    return pod


def validate_pod(pod):
    """Raises if the pod is not a valid core/v1 Pod for the oldest and newest schema we have."""
    for version in ("1.25.0", kubernetes_validate.latest_version()):
        kubernetes_validate.validate(copy.deepcopy(pod), version, strict=True)


def apply(pod, patch_ops):
    return jsonpatch.apply_patch(pod, patch_ops)


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


