"""Config of the `apm` receiver: Beyla's config-file sections, plus `collection_interval`.

The chart passes `skuber-apm-agent.config.data` (a Beyla-shaped document) through unchanged, so
every Beyla top-level section is accepted. Sections and keys we implement are typed (an unknown
key inside them is an error naming it); Beyla keys we accept but do not act on are `Any` and say
so in their comment; sections we do not implement at all are `Any` (raw YAML).
"""
from __future__ import annotations

import functools
import ipaddress
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
    exe_path_regexp: str = ""       # Beyla 1.0's regular-expression exe_path (legacy `services`)
    k8s_namespace: str = ""
    k8s_pod_name: str = ""
    k8s_deployment_name: str = ""
    k8s_replicaset_name: str = ""
    k8s_daemonset_name: str = ""
    k8s_statefulset_name: str = ""
    k8s_job_name: str = ""
    k8s_cronjob_name: str = ""
    k8s_owner_name: str = ""
    k8s_container_name: str = ""
    container_name: str = ""        # OCI container name: the Kubernetes container's, here
    # Values are globs; a YAML scalar of any type is its text, as in Beyla (`instrument: true`).
    k8s_pod_labels: dict[str, Any] = field(default_factory=dict)
    k8s_pod_annotations: dict[str, Any] = field(default_factory=dict)
    containers_only: bool = False   # only processes running in a container
    target_pids: list[int] = field(default_factory=list)  # only these pids (AND the rest)
    # Accepted for Beyla compatibility, no effect here (we measure no per-language or per-
    # service export/sampling/route settings):
    languages: Any = None
    cmd_args: Any = None
    exports: Any = None
    sampler: Any = None
    routes: Any = None
    metrics: Any = None

    def validate(self) -> None:
        try:
            parse_port_ranges(self.open_ports)
        except ValueError as e:
            raise ConfigError("open_ports", str(e)) from None
        for key in ("k8s_pod_labels", "k8s_pod_annotations"):
            values = getattr(self, key)
            for k, v in values.items():
                if isinstance(v, (dict, list)) or v is None:
                    raise ConfigError(f"{key}.{k}", f"expected a string, got {type(v).__name__}")
                values[k] = str(v).lower() if isinstance(v, bool) else str(v)

    def port_ranges(self) -> list[tuple[int, int]]:
        return parse_port_ranges(self.open_ports)

    def has_criteria(self) -> bool:
        return any((self.open_ports, self.exe_path, self.exe_path_regexp, self.k8s_namespace,
                    self.k8s_pod_name, self.k8s_deployment_name, self.k8s_replicaset_name,
                    self.k8s_daemonset_name, self.k8s_statefulset_name, self.k8s_job_name,
                    self.k8s_cronjob_name, self.k8s_owner_name, self.k8s_container_name,
                    self.container_name, self.k8s_pod_labels, self.k8s_pod_annotations,
                    self.containers_only, self.target_pids))


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern | None:
    """Beyla's globs (gobwas/glob without separators): `*` any run of characters (`/`
    included), `?` one, `[abc]`/`[!abc]`/`[a-z]` a class, `{a,b}` alternatives (nestable), `\\`
    escapes. None when the pattern is malformed (it then matches nothing)."""
    out, i, depth, n = [], 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                return None
            body = pattern[i + 1:end]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\").replace("^", "\\^") + "]")
            i = end + 1
            continue
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        return None
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None


def glob_match(pattern: str, value: str) -> bool:
    rx = _glob_regex(pattern)
    return rx is not None and rx.fullmatch(value or "") is not None


def regex_match(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value or "") is not None
    except re.error:
        return False


# Beyla's default_exclude_instrument (pkg/services/defaults): its own and other telemetry
# agents, and the system namespaces of Kubernetes, GKE and AKS.
_DEFAULT_NAMESPACES = ("kube-system,kube-node-lease,local-path-storage,grafana-alloy,cert-manager,"
                       "monitoring,gke-connect,gke-gmp-system,gke-managed-cim,gke-managed-filestorecsi,"
                       "gke-managed-metrics-server,gke-managed-system,gke-system,"
                       "gke-managed-volumepopulator,gatekeeper-system")
DEFAULT_EXCLUDES = [
    Selector(exe_path="{*beyla,*alloy,*prometheus-config-reloader,*ebpf-instrument,*otelcol,"
                      "*otelcol-contrib,*otelcol-contrib[!/]*}"),
    Selector(k8s_namespace="{" + _DEFAULT_NAMESPACES + "}"),
    Selector(k8s_container_name="{beyla,ebpf-instrument,alloy,prometheus-config-reloader,otelcol,otelcol-contrib}"),
]
# ... and its regular-expression twin, default_exclude_services, for the legacy `services` mode.
DEFAULT_EXCLUDE_SERVICES = [
    Selector(exe_path="(?:^|/)(beyla$|alloy$|prometheus-config-reloader$|otelcol[^/]*$)"),
    Selector(k8s_namespace="|".join(f"^{ns}$" for ns in _DEFAULT_NAMESPACES.split(","))),
]


@dataclass
class DiscoveryConfig:
    instrument: list[Selector] = field(default_factory=list)   # empty: every process with TCP
    exclude_instrument: list[Selector] = field(default_factory=list)
    default_exclude_instrument: list[Selector] | None = None    # None: DEFAULT_EXCLUDES
    # Legacy, regex values; ignored when `instrument` is set, as in Beyla:
    services: list[Selector] = field(default_factory=list)
    exclude_services: list[Selector] = field(default_factory=list)
    default_exclude_services: list[Selector] | None = None      # None: DEFAULT_EXCLUDE_SERVICES
    poll_interval: Duration = 5.0   # how often /proc is rescanned for missed processes
    # Accepted for Beyla compatibility, no effect here:
    skip_go_specific_tracers: Any = None
    exclude_otel_instrumented_services: Any = None
    min_process_age: Any = None
    route_harvester_timeout: Any = None
    disabled_route_harvesters: Any = None
    bpf_pid_filter_off: Any = None
    system_wide: Any = None
    survey: Any = None
    exclude_otel_instrumented_services_span_metrics: Any = None
    default_otlp_grpc_port: Any = None
    route_harvester_advanced: Any = None

    def validate(self) -> None:
        if self.poll_interval <= 0:
            raise ConfigError("poll_interval", "must be positive")


@dataclass
class NetworkConfig:
    enable: bool = True             # Beyla's default is false; network metrics are part of our
                                    # agent's contract, so they are on unless disabled
    cache_max_flows: int = 5000     # cardinality cap: flow series per metric
    cidrs: list[str] = field(default_factory=list)  # src.cidr / dst.cidr: the narrowest match
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
    ring_buffer_size: Any = None
    ring_buffer_flush_period: Any = None
    max_flow_duration: Any = None
    listen_interfaces: Any = None
    listen_poll_period: Any = None
    reverse_dns: Any = None
    geo_ip: Any = None

    def validate(self) -> None:
        if self.cache_max_flows <= 0:
            raise ConfigError("cache_max_flows", "must be positive")
        for i, c in enumerate(self.cidrs):
            try:
                ipaddress.ip_network(str(c), strict=False)
            except ValueError:
                raise ConfigError(f"cidrs[{i}]", f"invalid CIDR {c!r}") from None


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
    meta_source_labels: Any = None

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
    # What ignored_patterns drop: metrics, traces or all (Beyla's default). We only make
    # metrics, so `traces` leaves matching requests counted.
    ignore_mode: Literal["", "all", "metrics", "traces"] = ""
    unmatched: Literal["unset", "path", "wildcard", "heuristic"] = "wildcard"
    wildcard_char: str = "*"
    max_path_segment_cardinality: Any = None

    def validate(self) -> None:
        if len(self.wildcard_char) > 1:
            raise ConfigError("wildcard_char", "must be a single character")

    def ignores_metrics(self) -> bool:
        return self.ignore_mode in ("", "all", "metrics")


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
    enable_context_propagation: Any = None
    override_bpfloop_enabled: Any = None
    traffic_control_backend: Any = None
    disable_black_box_cp: Any = None
    instrument_gpu: Any = None
    instrument_cuda: Any = None
    use_otel_sdk_for_java: Any = None
    redis_db_cache: Any = None
    mysql_prepared_statements_cache_size: Any = None
    postgres_prepared_statements_cache_size: Any = None
    kafka_topic_uuid_cache_size: Any = None
    mongo_requests_cache_size: Any = None
    payload_extraction: Any = None
    max_transaction_time: Any = None
    dns_request_timeout: Any = None
    log_enricher: Any = None
    stats_wakeup_data_bytes: Any = None
    bpf_fs_path: Any = None
    bpf_fs_base_dir: Any = None
    bpf_base_dir: Any = None
    bpf_path: Any = None
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
    # Beyla's single-service shorthand: one more selector, of the lowest preference
    # (executable_name/executable_path: a regular expression on the executable path):
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
    noop: Any = None
    processes: Any = None
    log_config: Any = None
    log_format: Any = None
    topology: Any = None
    health_check: Any = None
    executable_path: Any = None
    stats: Any = None

    def validate(self) -> None:
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", "must be positive")
        exe = self.executable_name or self.executable_path
        if self.open_port is None and not exe:
            return
        sel = Selector(open_ports="" if self.open_port is None else str(self.open_port),
                       exe_path_regexp=str(exe or ""), name=str(self.service_name or ""),
                       namespace=str(self.service_namespace or ""))
        try:
            sel.validate()
        except ConfigError:
            raise ConfigError("open_port", f"invalid port range {self.open_port!r}: use 80,443,8000-8999") from None
        # Beyla adds it to the criteria in use: `instrument` when set, else `services`
        (self.discovery.instrument if self.discovery.instrument else self.discovery.services).append(sel)
