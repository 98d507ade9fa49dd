"""`kubeletstats` configuration: otelcol-contrib's kubeletstatsreceiver keys and defaults."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from ...config import ConfigError, Duration
from .metadata import (DEFAULT_METRIC_GROUPS, EXTRA_METADATA_LABELS, METRIC_GROUPS, METRICS, NEEDS_NODE_CAPACITY,
                       NEEDS_POD_SPECS, RESOURCE_ATTRIBUTES)

AUTH_TYPES = ("none", "tls", "serviceAccount", "kubeConfig")


@dataclass
class Switch:
    enabled: bool = True


@dataclass
class K8sAPIConfig:
    auth_type: str = "serviceAccount"
    context: str = ""

    def validate(self) -> None:
        if self.auth_type not in ("none", "serviceAccount", "kubeConfig"):
            raise ConfigError("auth_type", f"invalid authType for kubernetes: {self.auth_type}")


@dataclass
class Config:
    collection_interval: Duration = 10.0
    initial_delay: Duration = 1.0
    timeout: Duration = 0.0          # 0: the scrape may take up to collection_interval
    auth_type: str = "tls"
    context: str = ""                # kubeConfig: context to use
    endpoint: str = ""               # host:port or URL; default <hostname>:10250 (10255 for none)
    insecure_skip_verify: bool = False
    ca_file: str = ""
    cert_file: str = ""              # client certificate (auth_type tls)
    key_file: str = ""
    extra_metadata_labels: list[str] = field(default_factory=list)
    metric_groups: list[str] = field(default_factory=lambda: list(DEFAULT_METRIC_GROUPS))
    k8s_api_config: K8sAPIConfig | None = None
    node: str = ""                   # kubeConfig: the node whose kubelet is reached via the API proxy
    collect_all_network_interfaces: dict[str, bool] = field(default_factory=dict)
    metrics: dict[str, Switch] = field(default_factory=dict)
    resource_attributes: dict[str, Switch] = field(default_factory=dict)

    def validate(self) -> None:
        if self.auth_type not in AUTH_TYPES:
            raise ConfigError("auth_type", f"invalid authType for kubernetes: {self.auth_type}")
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", 'requires positive value')
        if self.timeout < 0:
            raise ConfigError("timeout", "must not be negative")
        if self.auth_type == "tls" and not (self.cert_file and self.key_file):
            raise ConfigError("auth_type", "cert_file and key_file are required for auth_type tls")
        if self.auth_type == "kubeConfig" and not self.node:
            raise ConfigError("node", "node is required for auth_type kubeConfig (the kubelet is reached "
                                      "through the API server's node proxy)")
        for g in self.metric_groups:
            if g not in METRIC_GROUPS:
                raise ConfigError("metric_groups", "invalid entry in metric_groups")
        for label in self.extra_metadata_labels:
            if label not in EXTRA_METADATA_LABELS:
                raise ConfigError("extra_metadata_labels", f"label {label!r} is not supported")
        if len(set(self.extra_metadata_labels)) != len(self.extra_metadata_labels):
            raise ConfigError("extra_metadata_labels", "extra_metadata_labels has duplicate entries")
        if "k8s.volume.type" in self.extra_metadata_labels and "volume" not in self.metric_groups:
            raise ConfigError("extra_metadata_labels", "k8s.volume.type needs the volume metric group")
        for g in self.collect_all_network_interfaces:
            if g not in ("pod", "node"):
                raise ConfigError("collect_all_network_interfaces", f"invalid group {g!r}: use pod or node")
        for name in self.metrics:
            if name not in METRICS:
                raise ConfigError(f"metrics.{name}", "unknown metric")
        # As otelcol: a *.node.utilization metric needs `node`; without k8s_api_config the node's
        # capacity is unknown and the ratios are simply not emitted (the receiver warns at start).
        if not self.node:
            for name in ("k8s.container.cpu.node.utilization", "k8s.pod.cpu.node.utilization",
                         "k8s.container.memory.node.utilization", "k8s.pod.memory.node.utilization"):
                if self.metric_enabled(name):
                    raise ConfigError("node", f"for {name} node setting is required. Check the readme on "
                                              "how to set the required setting")
        for name in self.resource_attributes:
            if name not in RESOURCE_ATTRIBUTES:
                raise ConfigError(f"resource_attributes.{name}", "unknown resource attribute")

    def metric_enabled(self, name: str) -> bool:
        switch = self.metrics.get(name)
        return switch.enabled if switch is not None else METRICS[name].enabled

    def attribute_enabled(self, name: str) -> bool:
        switch = self.resource_attributes.get(name)
        return switch.enabled if switch is not None else RESOURCE_ATTRIBUTES[name]

    def needs_pod_specs(self) -> bool:
        return bool(self.extra_metadata_labels) or any(self.metric_enabled(m) for m in NEEDS_POD_SPECS)

    def needs_node_capacity(self) -> bool:
        return any(self.metric_enabled(m) for m in NEEDS_NODE_CAPACITY if m in METRICS)

    def kubelet_url(self) -> str:
        """The kubelet base URL: `endpoint` may be host:port or a URL; empty means this host."""
        endpoint = self.endpoint
        if not endpoint:
            port = 10255 if self.auth_type == "none" else 10250
            endpoint = f"{socket.gethostname()}:{port}"
        if "://" in endpoint:
            return endpoint.rstrip("/")
        scheme = "http" if self.auth_type == "none" else "https"
        return f"{scheme}://{endpoint}"
