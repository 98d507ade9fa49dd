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


# A Beyla config as its docs and Helm chart write it (docs/sources/configure/*, network/config.md,
# charts/beyla/templates/_config.tpl), with keys of newer releases (OBI-based Beyla 2.x).
BEYLA_FULL = """
log_level: info
log_format: json
shutdown_timeout: 30s
trace_printer: disabled
enforce_sys_caps: false
open_port: 8080
channel_buffer_len: 33
discovery:
  services:
    - k8s_namespace: .
  exclude_services:
    - exe_path: ".*alloy.*|.*otelcol.*|.*beyla.*"
  instrument:
    - k8s_namespace: frontend
      k8s_pod_labels:
        instrument: beyla
    - k8s_namespace: backend
      k8s_pod_annotations:
        beyla.instrument: "true"
    - open_ports: 80,443,8000-8999
      exe_path: "*/server"
      containers_only: true
    - k8s_job_name: "nightly-*"
      k8s_container_name: app
  exclude_instrument:
    - exe_path: "{*prometheus,*grafana}"
  default_exclude_instrument:
    - exe_path: "{*beyla,*alloy,*ebpf-instrument,*otelcol,*otelcol-contrib,*otelcol-contrib[!/]*}"
    - k8s_namespace: "{kube-system,kube-node-lease,local-path-storage,cert-manager}"
  survey:
    - k8s_namespace: legacy
  skip_go_specific_tracers: false
  exclude_otel_instrumented_services: true
  exclude_otel_instrumented_services_span_metrics: false
  min_process_age: 5s
network:
  enable: true
  source: socket_filter
  cidrs:
    - 10.10.0.0/24
    - 10.0.0.0/8
  agent_ip_iface: external
  interfaces: [eth0, "/^veth/"]
  exclude_interfaces: [lo]
  protocols: [TCP]
  cache_max_flows: 5000
  cache_active_timeout: 5s
  direction: both
  sampling: 0
  print_flows: false
  ring_buffer_size: 16
  max_flow_duration: 60s
  listen_interfaces: watch
  reverse_dns: {type: none}
attributes:
  kubernetes:
    enable: true
    cluster_name: prod-eu
    informers_sync_timeout: 30s
    informers_resync_period: 30m
    meta_restrict_local_node: true
    resource_labels:
      service.name: [override-svc-name, app.kubernetes.io/name]
  instance_id:
    dns: true
  host_id:
    override: node-1
  select:
    beyla_network_flow_bytes:
      include: [k8s.src.owner.name, k8s.src.namespace, k8s.dst.owner.name, k8s.dst.namespace, src.cidr, dst.cidr]
    http_client_request_duration:
      exclude: ["k8s.pod.*"]
filter:
  network:
    k8s_dst_owner_name:
      not_match: '{kube*,*jaeger-agent*,*prometheus*,*promtail*,*grafana-agent*}'
routes:
  patterns: ["/users/{id}", /smoke, /greeting]
  ignored_patterns: [/metrics, /health]
  ignore_mode: traces
  unmatched: heuristic
  wildcard_char: "*"
ebpf:
  wakeup_len: 100
  batch_length: 100
  traffic_control_backend: auto
  http_request_timeout: 0s
  high_request_volume: false
  context_propagation: disabled
  bpf_fs_path: /sys/fs/bpf
  buffer_sizes: {http: 0}
otel_metrics_export:
  endpoint: http://localhost:4318
  features: [application, network, application_service_graph]
otel_traces_export:
  endpoint: http://localhost:4318
prometheus_export:
  port: 9090
  path: /metrics
internal_metrics:
  prometheus: {port: 6060, path: /internal/metrics}
health_check:
  port: 8080
processes:
  interval: 5s
"""


def test_a_full_beyla_config_file_validates():
    import yaml
    cfg = decode(Config, yaml.safe_load(BEYLA_FULL), "receivers.apm")
    assert cfg.attributes.kubernetes.cluster_name == "prod-eu"
    assert cfg.discovery.instrument[3].k8s_job_name == "nightly-*"
    assert cfg.network.cidrs == ["10.10.0.0/24", "10.0.0.0/8"]
    assert cfg.routes.unmatched == "heuristic" and not cfg.routes.ignores_metrics()


def test_globs_are_beylas_with_brace_alternatives():
    from ebpf.config import DEFAULT_EXCLUDES, glob_match
    assert glob_match("{kube-system,monitoring}", "monitoring")
    assert not glob_match("{kube-system,monitoring}", "shop")
    assert glob_match("*otelcol-contrib[!/]*", "/usr/bin/otelcol-contrib2")
    assert not glob_match("*otelcol-contrib[!/]*", "/opt/otelcol-contrib/app")
    assert glob_match("*/server", "/opt/app/server") and not glob_match("*/server", "/server2")
    # Beyla's defaults: its own and other agents, system namespaces (GKE/AKS ones included)
    exe, ns, container = (s.exe_path or s.k8s_namespace or s.k8s_container_name for s in DEFAULT_EXCLUDES)
    assert glob_match(exe, "/usr/bin/prometheus-config-reloader") and not glob_match(exe, "/usr/bin/otelcolx")
    assert all(glob_match(ns, n) for n in ("kube-system", "monitoring", "gke-system", "gatekeeper-system"))
    assert glob_match(container, "alloy")


@pytest.mark.parametrize("raw,key", [
    ({"routes": {"wildcard_char": "**"}}, "receivers.apm.routes.wildcard_char"),
    ({"routes": {"ignore_mode": "sometimes"}}, "receivers.apm.routes.ignore_mode"),
    ({"network": {"cidrs": ["10.0.0.0/33"]}}, "receivers.apm.network.cidrs[0]"),
])
def test_beyla_value_rules(raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "receivers.apm")
    assert any(err.path == key for err in e.value.errors), str(e.value)


def test_pod_label_and_annotation_values_are_their_yaml_text():
    cfg = decode(Config, {"discovery": {"instrument": [{"k8s_pod_annotations": {"beyla.instrument": True},
                                                        "k8s_pod_labels": {"version": 2}}]}}, "r")
    sel = cfg.discovery.instrument[0]
    assert sel.k8s_pod_annotations == {"beyla.instrument": "true"} and sel.k8s_pod_labels == {"version": "2"}


def test_beyla_single_service_shorthand_becomes_the_last_selector():
    cfg = decode(Config, {"open_port": 443, "service_name": "my-instrumented-service", "log_level": "DEBUG"}, "r")
    (sel,) = cfg.discovery.services
    assert (sel.port_ranges(), sel.name) == ([(443, 443)], "my-instrumented-service")
    cfg = decode(Config, {"executable_name": "greetings", "discovery": {"instrument": [{"k8s_namespace": "a"}]}}, "r")
    assert [s.exe_path_regexp for s in cfg.discovery.instrument] == ["", "greetings"]
    with pytest.raises(ConfigErrors) as e:
        decode(Config, {"open_port": "http"}, "r")
    assert any(err.path == "r.open_port" for err in e.value.errors)
