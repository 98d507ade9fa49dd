"""Every rendered manifest is a valid Kubernetes object (oldest and newest schemas that
kubernetes-validate ships), the chart lints clean, and bad values fail with a clear message."""

from __future__ import annotations

import copy

import pytest

from tests.deploy.chart_render import CHART, GUIDE_PLAIN, GUIDE_TLS, NS, crd_documents, helm, render, values_from_sets

kubernetes_validate = pytest.importorskip("kubernetes_validate")
jsonschema = pytest.importorskip("jsonschema")

# kubernetes-validate 1.37 ships schemas from 1.25 on; 1.25 is the closest to the guide's 1.24.
OLDEST = "1.25.0"
# cert-manager's kinds: their schemas live in cert-manager's CRDs, which we do not vendor.
CERT_MANAGER_KINDS = {("cert-manager.io/v1", "Certificate"), ("cert-manager.io/v1", "Issuer")}


def _crd_schema() -> dict:
    """Our CRD's structural schema as plain JSON Schema (x-kubernetes-* dropped)."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    crd = crd_documents()[0]
    return strip(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


@pytest.mark.parametrize("sets", [GUIDE_PLAIN, GUIDE_TLS, GUIDE_PLAIN + ["apmAgent.enabled=false"]],
                         ids=["plain", "tls", "no-apm"])
def test_every_manifest_validates_against_kubernetes_schemas(sets):
    rendered = render(sets)
    versions = [OLDEST, kubernetes_validate.latest_version()]
    checked = 0
    for obj in rendered.objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in CERT_MANAGER_KINDS:
            assert obj["spec"]["issuerRef"] if obj["kind"] == "Certificate" else obj["spec"]["selfSigned"] == {}
            continue
        if key == ("opentelemetry.io/v1alpha1", "Instrumentation"):
            jsonschema.validate(obj, _crd_schema())
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(copy.deepcopy(obj), version, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} invalid for {version}: {str(err)[:400]}")
        checked += 1
    assert checked >= 20


def test_crd_validates_and_rejects_a_bad_instrumentation():
    for version in (OLDEST, kubernetes_validate.latest_version()):
        kubernetes_validate.validate(copy.deepcopy(crd_documents()[0]), version, strict=True)
    bad = {"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation", "metadata": {"name": "x"},
           "spec": {"sampler": {"type": "sometimes"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _crd_schema())


@pytest.mark.parametrize("sets", [GUIDE_PLAIN, GUIDE_TLS], ids=["plain", "tls"])
def test_helm_lint_is_clean(sets):
    report = helm.lint(CHART, values_from_sets(sets), strict=True, namespace=NS, kube_version="v1.24.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == []


@pytest.mark.parametrize("bad, expected", [
    ("global.clustrName=prod-a", "additional properties 'clustrName' not allowed"),
    ("global.otelInsecure=yes", "/global/otelInsecure': got string, want boolean"),
    ("skuber-otel-agent.insecureSkipVerfy=true", "additional properties 'insecureSkipVerfy' not allowed"),
    ("skuber-otel-agent.otelCollectorEndpoint=10.0.0.1", "otelCollectorEndpoint"),
    ("global.hostEndpointHttp=10.0.0.1:4318", "hostEndpointHttp"),
    ("apmAgent.enabled=maybe", "/apmAgent/enabled': got string, want boolean"),
    ("instrumentation.sampler.type=sometimes", "/instrumentation/sampler/type"),
    ("skuber-ksm.port=0", "/skuber-ksm/port"),
    ("skuber-apm-agent.config.data.attributes.kubernetes.cluster_nmae=prod-a",
     "additional properties 'cluster_nmae' not allowed"),
    ("skuber-apm-agent.config.data.atributes.kubernetes.cluster_name=prod-a",
     "additional properties 'atributes' not allowed"),
])
def test_misspelt_or_mistyped_value_fails_with_the_key(bad, expected):
    with pytest.raises(helm.HelmValuesError) as err:
        render(GUIDE_PLAIN + [bad])
    assert expected in str(err.value)


@pytest.mark.parametrize("missing, message", [
    ("skuber-otel-agent.otelCollectorEndpoint", "skuber-otel-agent.otelCollectorEndpoint is required"),
    ("instrumentation.exporter.endpoint", "instrumentation.exporter.endpoint is required"),
])
def test_missing_gateway_endpoint_fails_with_what_to_set(missing, message):
    with pytest.raises(helm.HelmError) as err:
        render([s for s in GUIDE_PLAIN if not s.startswith(missing)])
    assert message in str(err.value)


def test_schema_of_the_apm_config_follows_the_apm_receiver():
    """config.data is passed to the apm receiver, which refuses an unknown key at start: the
    schema knows the same keys along the guide's attributes.kubernetes.cluster_name path."""
    import dataclasses
    import json
    import os

    from ebpf import config as apm

    schema = json.load(open(os.path.join(CHART, "values.schema.json"), encoding="utf-8"))
    data = schema["properties"]["skuber-apm-agent"]["properties"]["config"]["properties"]["data"]
    attributes = data["properties"]["attributes"]
    for node, cls in ((data, apm.Config), (attributes, apm.AttributesConfig),
                      (attributes["properties"]["kubernetes"], apm.KubernetesAttributes)):
        assert node["additionalProperties"] is False
        assert set(node["properties"]) == {f.name for f in dataclasses.fields(cls)}, cls.__name__
