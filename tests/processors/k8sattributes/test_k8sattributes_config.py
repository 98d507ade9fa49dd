"""k8sattributes config keys and defaults as otelcol-contrib's."""
import os

import pytest
import yaml

from collector.config import ConfigErrors, decode
from collector.processors.k8sattributes import factory
from collector.processors.k8sattributes.config import (Config, ExcludeConfig, ExcludePodConfig, ExtractConfig,
                                                       FieldExtractConfig, FieldFilterConfig, FilterConfig,
                                                       PodAssociationConfig, PodAssociationSourceConfig)

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata", "config.yaml")


def load(name):
    with open(TESTDATA) as f:
        return decode(factory.config_class, yaml.safe_load(f)[name], f"processors.{name}")


def test_defaults_match_otelcol():
    cfg = load("k8sattributes")
    assert cfg == Config()
    assert cfg.auth_type == "serviceAccount" and cfg.passthrough is False
    # metadata.yaml's default-enabled resource attributes
    assert sorted(cfg.extract.metadata) == ["container.image.name", "container.image.tag", "k8s.deployment.name",
                                            "k8s.namespace.name", "k8s.node.name", "k8s.pod.name",
                                            "k8s.pod.start_time", "k8s.pod.uid"]
    assert [p.name for p in cfg.exclude.pods] == ["jaeger-agent", "jaeger-collector"]
    assert cfg.wait_for_metadata is False and cfg.wait_for_metadata_timeout == 10.0
    assert cfg.pod_association == []


def test_full_config_decodes_every_key(monkeypatch):
    monkeypatch.setenv("K8S_NODE_NAME", "node-1")
    assert load("k8sattributes/full") == Config(
        auth_type="kubeConfig", context="kind-dev", passthrough=False, wait_for_metadata=True,
        wait_for_metadata_timeout=30.0,
        filter=FilterConfig(node_from_env_var="K8S_NODE_NAME", namespace="shop",
                            fields=[FieldFilterConfig("status.phase", "Running", "equals")],
                            labels=[FieldFilterConfig("tier", "", "exists")]),
        extract=ExtractConfig(metadata=["k8s.pod.name", "k8s.pod.uid", "k8s.statefulset.name", "container.image.tag"],
                              otel_annotations=True,
                              labels=[FieldExtractConfig(tag_name="app.$$1", key_regex="app.kubernetes.io/(.*)")],
                              annotations=[FieldExtractConfig(key="git_sha", from_="namespace")]),
        pod_association=[PodAssociationConfig([PodAssociationSourceConfig("resource_attribute", "k8s.pod.ip")]),
                         PodAssociationConfig([PodAssociationSourceConfig("connection")])],
        exclude=ExcludeConfig([ExcludePodConfig("istio-.*")]))


@pytest.mark.parametrize("raw, key, message", [
    ({"extract": {"metadata": ["k8s.pod.color"]}}, "extract.metadata", "not a supported metadata field"),
    ({"extract": {"labels": [{"key": "a", "key_regex": "b"}]}}, "extract.labels", "only one option"),
    ({"extract": {"labels": [{"key": "a", "from": "service"}]}}, "extract.labels[0].from", "not a valid choice"),
    ({"pod_association": [{"sources": [{"from": "header", "name": "x"}]}]}, "pod_association[0].sources[0].from", "not a valid association source"),
    ({"filter": {"node_from_env_var": "SURELY_NOT_SET_ANYWHERE"}}, "filter.node_from_env_var", "is not set"),
    ({"filter": {"labels": [{"key": "a", "op": "matches"}]}}, "filter.labels", "not a valid label filter"),
    ({"auth_type": "password"}, "auth_type", "invalid authType"),
    ({"extract": {"metdata": []}}, "extract.metdata", "unknown key"),
    ({"wait_for_metadata_timeout": "soon"}, "wait_for_metadata_timeout", "duration"),
])
def test_bad_config_names_the_key(raw, key, message):
    with pytest.raises(ConfigErrors) as err:
        decode(factory.config_class, raw, "processors.k8sattributes")
    text = str(err.value)
    assert f"processors.k8sattributes.{key}" in text and message in text, text


def test_empty_metadata_list_means_the_defaults():
    cfg = decode(factory.config_class, {"extract": {"metadata": []}}, "processors.k8sattributes")
    assert cfg.extract.metadata_fields() == Config().extract.metadata


def test_bad_field_filter_op_uses_upstream_wording():
    with pytest.raises(ConfigErrors, match="'matches' is not a valid label filter operation for key=a"):
        decode(factory.config_class, {"filter": {"fields": [{"key": "a", "op": "matches"}]}},
               "processors.k8sattributes")
