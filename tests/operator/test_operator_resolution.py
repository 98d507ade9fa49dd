"""Which Instrumentation an annotation value names: "true", a bare name, "ns/name", "false"."""

from __future__ import annotations

import pytest

from collector.operator.instrumentation import InstrumentationError, parse
from collector.operator.mutator import Mutator, ResolveError
from collector.operator.store import FileStore
from tests.operator.operator_pods import CHART_NS, deployment_pod, env_of, instrumentation_object

ANN = "instrumentation.opentelemetry.io/"


def make(*objs):
    return Mutator(FileStore([parse(o) for o in objs]), CHART_NS)


def test_bare_name_prefers_pods_namespace_then_chart_namespace():
    local = instrumentation_object(namespace="shop", exporter={"endpoint": "http://local:4317"})
    m = make(instrumentation_object(), local)
    assert m.resolve("skuber-instrumentation", "shop").namespace == "shop"
    assert m.resolve("skuber-instrumentation", "billing").namespace == CHART_NS


def test_namespaced_value_is_exact():
    m = make(instrumentation_object(), instrumentation_object(namespace="shop"))
    assert m.resolve(f"{CHART_NS}/skuber-instrumentation", "shop").namespace == CHART_NS
    with pytest.raises(ResolveError, match="not found"):
        m.resolve("billing/skuber-instrumentation", "shop")


def test_true_takes_the_single_instance_of_the_namespace_or_the_chart_one():
    m = make(instrumentation_object())
    assert m.resolve("true", "anything").name == "skuber-instrumentation"
    two = make(instrumentation_object(namespace="shop"), instrumentation_object(name="other", namespace="shop"))
    with pytest.raises(ResolveError, match="multiple"):
        two.resolve("true", "shop")


@pytest.mark.parametrize("value", ["", "false", "FALSE"])
def test_false_or_empty_means_no_injection(value):
    assert make(instrumentation_object()).resolve(value, "shop") is None


def test_unknown_name_leaves_pod_unchanged_with_reason():
    m = make(instrumentation_object())
    pod = deployment_pod({ANN + "inject-python": "missing"})
    result = m.mutate(pod, "shop")
    assert result.pod == pod and result.error
    assert "missing" in result.reason


def test_unannotated_pod_is_untouched():
    m = make(instrumentation_object())
    pod = deployment_pod({"prometheus.io/scrape": "true"})
    result = m.mutate(pod, "shop")
    assert result.pod == pod and not result.reason and not result.injected


def test_resolved_instrumentation_settings_are_the_ones_used():
    local = instrumentation_object(namespace="shop", exporter={"endpoint": "http://shop-gw:4317"})
    m = make(instrumentation_object(), local)
    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"})
    env = env_of(m.mutate(pod, "shop").pod["spec"]["containers"][0])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://shop-gw:4317"


@pytest.mark.parametrize("spec, key", [
    ({"sampler": {"type": "sometimes"}}, "spec.sampler.type"),
    ({"sampler": {"type": "traceidratio", "argument": "2"}}, "spec.sampler.argument"),
    ({"propagators": ["w3c"]}, "spec.propagators[0]"),
    ({"python": {"image": 3}}, "spec.python.image"),
    ({"python": {"imagee": "x"}}, "spec.python.imagee"),
    ({"env": [{"value": "x"}]}, "spec.env[0].name"),
    ({"exporterr": {}}, "spec.exporterr"),
    ({"java": {"volumeLimitSize": "1Gi", "volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
     "spec.java.volumeClaimTemplate and spec.java.volumeLimitSize"),
])
def test_invalid_instrumentation_names_the_field(spec, key):
    obj = instrumentation_object()
    obj["spec"].update(spec)
    with pytest.raises(InstrumentationError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse(obj)


def test_file_store_reads_multi_document_yaml_and_lists(tmp_path):
    import yaml

    path = tmp_path / "inst.yaml"
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    listed = {"apiVersion": "v1", "kind": "List", "items": [instrumentation_object(name="b", namespace="shop")]}
    path.write_text(yaml.safe_dump_all([instrumentation_object(), deployment, listed]))
    store = FileStore.load(str(path), CHART_NS)
    assert store.get(CHART_NS, "skuber-instrumentation") is not None
    assert [i.name for i in store.list("shop")] == ["b"]


def test_file_store_rejects_invalid_resource_with_position(tmp_path):
    import yaml

    bad = instrumentation_object()
    bad["spec"]["sampler"] = {"type": "nope"}
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump_all([instrumentation_object(name="ok"), bad]))
    with pytest.raises(InstrumentationError, match="resource #2: spec.sampler.type"):
        FileStore.load(str(path), CHART_NS)
