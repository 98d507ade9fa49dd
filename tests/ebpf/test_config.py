"""The apm receiver's config: defaults, Beyla pass-through, errors naming keys."""
from __future__ import annotations

import pytest

from collector.config.decode import ConfigErrors, decode
from ebpf.config import Config
from ebpf.receiver import factory

BEYLA_DOC = {
    "attributes": {"kubernetes": {"enable": True, "cluster_name": "prod-eu"},
                   "select": {"beyla_network_flow_bytes": {"include": ["k8s.src.owner.name"]}}},
    "discovery": {"instrument": [{"k8s_namespace": "shop", "open_ports": 8080}],
                  "exclude_otel_instrumented_services": True},
    "network": {"enable": True, "cidrs": ["10.0.0.0/8"], "source": "socket_filter"},
    "routes": {"patterns": ["/users/{id}"], "unmatched": "heuristic"},
    "ebpf": {"wakeup_len": 100, "http_request_timeout": "5s"},
    "otel_metrics_export": {"endpoint": "http://gw:4318", "features": ["application", "network"]},
    "prometheus_export": {"port": 9090},
    "log_level": "info",
}


def test_factory_type_signals_and_defaults():
    assert factory.type == "apm" and factory.signals == frozenset({"metrics"})
    cfg = decode(Config, {}, "receivers.apm")
    assert cfg.collection_interval == 10.0
    assert cfg.attributes.kubernetes.enable == "autodetect"
    assert cfg.routes.unmatched == "wildcard"
    assert cfg.discovery.instrument == []


def test_a_beyla_config_document_passes_through_unchanged():
    cfg = decode(Config, BEYLA_DOC, "receivers.apm")
    assert cfg.attributes.kubernetes.cluster_name == "prod-eu"
    assert cfg.discovery.instrument[0].open_ports == "8080"
    assert cfg.discovery.instrument[0].port_ranges() == [(8080, 8080)]
    assert cfg.ebpf.http_request_timeout == 5.0
    assert cfg.otel_metrics_export["endpoint"] == "http://gw:4318"


@pytest.mark.parametrize("raw,key", [
    ({"discovery": {"instrument": [{"open_port": 80}]}}, "receivers.apm.discovery.instrument[0].open_port"),
    ({"discovery": {"instrument": [{"open_ports": "80-70"}]}}, "receivers.apm.discovery.instrument[0].open_ports"),
    ({"collection_interval": "0s"}, "receivers.apm.collection_interval"),
    ({"routes": {"unmatched": "everything"}}, "receivers.apm.routes.unmatched"),
    ({"network": {"cache_max_flows": 0}}, "receivers.apm.network.cache_max_flows"),
    ({"attributes": {"kubernetes": {"enable": "maybe"}}}, "receivers.apm.attributes.kubernetes.enable"),
    ({"bogus_section": {}}, "receivers.apm.bogus_section"),
])
def test_bad_values_and_unknown_keys_are_errors_naming_the_key(raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "receivers.apm")
    assert any(err.path == key for err in e.value.errors), str(e.value)
