"""kubeletstats keys and defaults as otelcol-contrib's kubeletstatsreceiver."""
import pytest

from collector.config import ConfigErrors, decode
from collector.receivers.kubeletstats import factory
from collector.receivers.kubeletstats.config import Config, K8sAPIConfig, Switch


def test_defaults():
    cfg = decode(Config, {"cert_file": "c", "key_file": "k"})
    assert cfg.collection_interval == 10.0 and cfg.initial_delay == 1.0
    assert cfg.auth_type == "tls"
    assert cfg.metric_groups == ["container", "pod", "node"]
    assert cfg.extra_metadata_labels == [] and cfg.k8s_api_config is None
    assert cfg.kubelet_url().startswith("https://") and cfg.kubelet_url().endswith(":10250")
    assert factory.type == "kubeletstats" and factory.signals == frozenset({"metrics"})


def test_full_config():
    cfg = decode(Config, {
        "collection_interval": "20s", "auth_type": "serviceAccount", "endpoint": "https://${NODE}:10250",
        "insecure_skip_verify": True, "metric_groups": ["node", "pod", "volume"],
        "extra_metadata_labels": ["container.id", "k8s.volume.type"],
        "k8s_api_config": {"auth_type": "serviceAccount"},
        "metrics": {"k8s.pod.uptime": {"enabled": True}},
        "resource_attributes": {"k8s.volume.type": {"enabled": False}}})
    assert cfg.collection_interval == 20.0 and cfg.k8s_api_config == K8sAPIConfig("serviceAccount")
    assert cfg.metrics == {"k8s.pod.uptime": Switch(True)}
    assert cfg.metric_enabled("k8s.pod.uptime") and cfg.metric_enabled("k8s.pod.cpu.time")
    assert not cfg.attribute_enabled("k8s.volume.type") and cfg.attribute_enabled("k8s.pod.uid")
    assert not cfg.metric_enabled("container.uptime")


def test_none_uses_the_read_only_port():
    assert decode(Config, {"auth_type": "none"}).kubelet_url().endswith(":10255")
    assert decode(Config, {"auth_type": "none"}).kubelet_url().startswith("http://")


@pytest.mark.parametrize("raw, key, message", [
    ({"auth_type": "tls"}, "auth_type", "cert_file and key_file"),
    ({"auth_type": "token"}, "auth_type", "invalid authType"),
    ({"auth_type": "none", "metric_groups": ["gpu"]}, "metric_groups", "invalid entry"),
    ({"auth_type": "none", "extra_metadata_labels": ["k8s.pod.color"]}, "extra_metadata_labels", "not supported"),
    ({"auth_type": "none", "metrics": {"k8s.pod.cpu.utilisation": {"enabled": True}}}, "metrics.k8s.pod.cpu.utilisation", "unknown metric"),
    ({"auth_type": "none", "collection_interval": "0s"}, "collection_interval", "positive"),
    ({"auth_type": "kubeConfig"}, "node", "required"),
    ({"auth_type": "none", "endpont": "x"}, "endpont", "unknown key"),
])
def test_bad_config_names_the_key(raw, key, message):
    with pytest.raises(ConfigErrors) as err:
        decode(Config, raw, "receivers.kubeletstats")
    assert f"receivers.kubeletstats.{key}" in str(err.value) and message in str(err.value), str(err.value)
