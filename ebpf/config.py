"""Config of the `apm` receiver: Beyla's config-file sections, plus `collection_interval`.

The chart passes `skuber-apm-agent.config.data` (a Beyla-shaped document) through unchanged, so
every Beyla top-level section is accepted. Sections and keys we implement are typed (an unknown
key inside them is an error naming it); Beyla keys we accept but do not act on are `Any` and say
so in their comment; sections we do not implement at all are `Any` (raw YAML).
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from collector.config.decode import ConfigError
from collector.config.types import Duration


def parse_port_ranges(text: str) -> list[tuple[int, int]]:
    """Beyla's open_ports syntax: "80,443,8000-8999"."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"invalid port range {part!r}: use 80,443,8000-8999") from None
        if not (0 < a <= b <= 65535):
            raise ValueError(f"invalid port range {part!r}: ports are 1-65535, low-high")
        out.append((a, b))
    return out


@dataclass
class Selector:
    """One entry of discovery.instrument / exclude_instrument (Beyla): every attribute given
    must match (AND); a process matches a list when any entry matches (OR). Values are globs
    (`instrument`) or regular expressions (the legacy `services` lists)."""
    name: str = ""                  # service.name to report instead of the discovered one
    namespace: str = ""             # service.namespace to report
    open_ports: str = ""            # "80,443,8000-8999": the process listens on one of them
    exe_path: str = ""
    k8s_namespace: str = ""
    k8s_pod_name: str = ""
    k8s_deployment_name: str = ""
    k8s_replicaset_name: str = ""
    k8s_daemonset_name: str = ""
    k8s_statefulset_name: str = ""
    k8s_owner_name: str = ""
    k8s_pod_labels: dict[str, str] = field(default_factory=dict)
    k8s_pod_annotations: dict[str, str] = field(default_factory=dict)
    containers_only: bool = False   # only processes running in a container

    def validate(self) -> None:
        try:
            parse_port_ranges(self.open_ports)
        except ValueError as e:
            raise ConfigError("open_ports", str(e)) from None

    def port_ranges(self) -> list[tuple[int, int]]:
        return parse_port_ranges(self.open_ports)

    def has_criteria(self) -> bool:
        return any((self.open_ports, self.exe_path, self.k8s_namespace, self.k8s_pod_name,
                    self.k8s_deployment_name, self.k8s_replicaset_name, self.k8s_daemonset_name,
                    self.k8s_statefulset_name, self.k8s_owner_name, self.k8s_pod_labels,
                    self.k8s_pod_annotations, self.containers_only))


def glob_match(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value or "", pattern)


def regex_match(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value or "") is not None
    except re.error:
        return False


# Beyla's default_exclude_instrument: its own and other telemetry agents, and system namespaces.
DEFAULT_EXCLUDES = [
    Selector(exe_path="*beyla"), Selector(exe_path="*alloy"), Selector(exe_path="*ebpf-instrument"),
    Selector(exe_path="*otelcol*"), Selector(k8s_namespace="kube-system"),
    Selector(k8s_namespace="kube-node-lease"), Selector(k8s_namespace="local-path-storage"),
    Selector(k8s_namespace="cert-manager"), Selector(k8s_namespace="gke-connect"),
]


@dataclass
class DiscoveryConfig:
    instrument: list[Selector] = field(default_factory=list)   # empty: every process with TCP
    exclude_instrument: list[Selector] = field(default_factory=list)
    default_exclude_instrument: list[Selector] | None = None    # None: DEFAULT_EXCLUDES
    services: list[Selector] = field(default_factory=list)      # legacy, regex values
    exclude_services: list[Selector] = field(default_factory=list)
    default_exclude_services: list[Selector] | None = None
    poll_interval: Duration = 5.0   # how often /proc is rescanned for missed processes
    # Accepted for Beyla compatibility, no effect here:
    skip_go_specific_tracers: Any = None
    exclude_otel_instrumented_services: Any = None
    min_process_age: Any = None
    route_harvester_timeout: Any = None
    disabled_route_harvesters: Any = None
    bpf_pid_filter_off: Any = None

    def validate(self) -> None:
        if self.poll_interval <= 0:
            raise ConfigError("poll_interval", "must be positive")


@dataclass
class NetworkConfig:
    enable: bool = True             # Beyla's default is false; network metrics are part of our
                                    # agent's contract, so they are on unless disabled
    cache_max_flows: int = 5000     # cardinality cap: flow series per metric
    cidrs: list[str] = field(default_factory=list)  # accepted; flows are reported per address
    # Accepted for Beyla compatibility, no effect here (we observe sockets, not packets):
    source: Any = None
    agent_ip: Any = None
    agent_ip_iface: Any = None
    agent_ip_type: Any = None
    cache_active_timeout: Any = None
    direction: Any = None
    deduper: Any = None
    deduper_fc_ttl: Any = None
    interfaces: Any = None
    exclude_interfaces: Any = None
    protocols: Any = None
    exclude_protocols: Any = None
    sampling: Any = None
    print_flows: Any = None
    allowed_attributes: Any = None

    def validate(self) -> None:
        if self.cache_max_flows <= 0:
            raise ConfigError("cache_max_flows", "must be positive")


@dataclass
class KubernetesAttributes:
    enable: Any = "autodetect"      # true | false | autodetect (in a cluster when
                                    # KUBERNETES_SERVICE_HOST is set)
    cluster_name: str = ""          # resource attribute k8s.cluster.name
    kubeconfig_path: str = ""       # empty: the pod's service account
    informers_sync_timeout: Duration = 30.0
    # Accepted for Beyla compatibility, no effect here:
    informers_resync_period: Any = None
    disable_informers: Any = None
    meta_restrict_local_node: Any = None
    drop_external: Any = None
    reconnect_initial_interval: Any = None
    meta_cache_address: Any = None
    resource_labels: Any = None
    service_name_template: Any = None

    def validate(self) -> None:
        if self.enable not in (True, False, "true", "false", "autodetect"):
            raise ConfigError("enable", f"must be true, false or autodetect, got {self.enable!r}")


@dataclass
class AttributesConfig:
    kubernetes: KubernetesAttributes = field(default_factory=KubernetesAttributes)
    select: Any = None              # Beyla attribute selection: accepted, not applied
    host_id: Any = None
    instance_id: Any = None
    rename_unresolved_hosts: Any = None
    rename_unresolved_hosts_outgoing: Any = None
    rename_unresolved_hosts_incoming: Any = None
    metric_span_names_limit: Any = None
    extra_group_attributes: Any = None


@dataclass
class RoutesConfig:
    patterns: list[str] = field(default_factory=list)        # e.g. /users/{id}, /files/:name
    ignored_patterns: list[str] = field(default_factory=list)  # matching requests are not counted
    ignore_mode: Any = None
    unmatched: Literal["unset", "path", "wildcard", "heuristic"] = "wildcard"
    wildcard_char: str = "*"
    max_path_segment_cardinality: Any = None


@dataclass
class EbpfConfig:
    http_request_timeout: Duration = 30.0   # a request without a response after this is
                                            # dropped from the per-connection FIFO (counted)
    track_request_headers: Any = None       # Beyla keys accepted, no effect here
    context_propagation: Any = None
    high_request_volume: Any = None
    heuristic_sql_detect: Any = None
    wakeup_len: Any = None
    batch_length: Any = None
    batch_timeout: Any = None
    bpf_debug: Any = None
    protocol_debug_print: Any = None
    buffer_sizes: Any = None
    # Ours (not Beyla's):
    http_capture: bool = True               # HTTP/1.x RED metrics from syscall tracepoints
    body_size_metrics: bool = False         # http.*.body.size histograms (Content-Length);
                                            # they need every request in user space, so they
                                            # turn the kernel-side fast path off
    tls_uprobes: bool = True                # HTTPS plaintext from uprobes on OpenSSL (libssl)
    tls_libraries: list[str] = field(default_factory=lambda: ["libssl.so.3", "libssl.so.1.1"])
    kernel_headers_search: list[str] = field(default_factory=lambda: ["/usr/src/linux-headers-*"])
    headers_cache_dir: str = "/tmp/skuber-apm/headers"
    proc_path: str = "/proc"                # /hostfs/proc when the host's /proc is mounted there
    max_tracked_sockets: int = 65536
    max_tracked_pids: int = 16384
    max_http_connections: int = 65536
    series_limit: int = 2000                # cardinality cap per HTTP / service-graph metric

    def validate(self) -> None:
        for key in ("max_tracked_sockets", "max_tracked_pids", "max_http_connections", "series_limit"):
            if getattr(self, key) <= 0:
                raise ConfigError(key, "must be positive")


@dataclass
class Config:
    collection_interval: Duration = 10.0
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    attributes: AttributesConfig = field(default_factory=AttributesConfig)
    routes: RoutesConfig = field(default_factory=RoutesConfig)
    ebpf: EbpfConfig = field(default_factory=EbpfConfig)
    # Beyla sections passed through by the chart and not implemented here (raw YAML):
    otel_metrics_export: Any = None
    otel_traces_export: Any = None
    prometheus_export: Any = None
    metrics: Any = None
    traces: Any = None
    log_level: Any = None
    trace_printer: Any = None
    print_traces: Any = None
    filter: Any = None
    internal_metrics: Any = None
    name_resolver: Any = None
    executable_name: Any = None
    open_port: Any = None
    service_name: Any = None
    service_namespace: Any = None
    channel_buffer_len: Any = None
    shutdown_timeout: Any = None
    enforce_sys_caps: Any = None
    profile_port: Any = None
    grafana: Any = None
    injector: Any = None
    javaagent: Any = None
    nodejs: Any = None

    def validate(self) -> None:
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", "must be positive")
